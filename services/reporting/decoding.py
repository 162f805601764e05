"""Messages to events for a rebuild, in one pass of pydantic where it can (contracts.registry.decode_json):
the subject names the event type (polku.events.<area>.<service>.<type>, made from the envelope by the
relay).

A message whose subject is not one the live consumer subscribes to is skipped undecoded: the live
consumer never receives it (services/platform/consumer.py, filter_subjects). A rebuild in parts
(rebuild.py, Parallel) reads the services of its part's events in each process and decodes only the
part's events.
"""
from collections.abc import Iterable

from nats.aio.msg import Msg

from contracts.events.base import Event
from contracts.registry import decode_json
from services.platform.consumer import Item
from services.reporting.projections import PROJECTORS

Subscriptions = dict[tuple[str, str], type[Event]]


def subscriptions(event_types: Iterable[type[Event]]) -> Subscriptions:
    """(service, event type) of each subject of the events."""
    return {(cls.service, cls.__name__): cls for cls in event_types}


SUBSCRIBED = subscriptions(PROJECTORS)  # every subject reporting subscribes to


def decoded(msg: Msg, subscribed: Subscriptions = SUBSCRIBED) -> Item | None:
    """The message's envelope and event; None if its subject is not among `subscribed`. Raises what
    the platform's decode raises (ValueError, pydantic's ValidationError among them)."""
    _, _, service, event_type = msg.subject.rsplit(".", 3) if msg.subject.count(".") >= 4 else ("", "", "", "")
    if (service, event_type) not in subscribed:
        return None
    return decode_json(msg.data, event_type)
