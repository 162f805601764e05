"""Messages to events for a rebuild, in one pass of pydantic where it can (contracts.registry.decode_json):
the subject names the event type (polku.events.<area>.<service>.<type>, made from the envelope by the
relay).

A message whose subject is not one the live consumer subscribes to is skipped undecoded: the live
consumer never receives it (services/platform/consumer.py, filter_subjects).
"""
from nats.aio.msg import Msg

from contracts.events.base import Event
from contracts.registry import decode_json
from services.platform.consumer import Item
from services.reporting.projections import PROJECTORS

# (service, event type) of every subject reporting subscribes to.
SUBSCRIBED: dict[tuple[str, str], type[Event]] = {(cls.service, cls.__name__): cls for cls in PROJECTORS}


def decoded(msg: Msg) -> Item | None:
    """The message's envelope and event; None if reporting does not subscribe to its subject. Raises what
    the platform's decode raises (ValueError, pydantic's ValidationError among them)."""
    _, _, service, event_type = msg.subject.rsplit(".", 3) if msg.subject.count(".") >= 4 else ("", "", "", "")
    if (service, event_type) not in SUBSCRIBED:
        return None
    return decode_json(msg.data, event_type)
