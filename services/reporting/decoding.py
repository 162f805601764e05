"""Messages to events for a rebuild, in one pass of pydantic where it can.

The platform's decode validates the envelope from JSON, with its data as a dict, then validates the
event from that dict: two passes, a dict built and walked again. Here the subject names the event type
(polku.events.<area>.<service>.<type>, made from the envelope by the relay), so the JSON is validated
at once into an envelope whose data is that event. Any message that does not fit that (another type in
the envelope than its subject says, an older schema version to upcast, invalid) is decoded the
platform's way, which also raises what it raises for the live consumer.

A message whose subject is not one the live consumer subscribes to is skipped undecoded: the live
consumer never receives it (services/platform/consumer.py, filter_subjects).
"""
from functools import cache

from nats.aio.msg import Msg
from pydantic import ValidationError, create_model

from contracts.envelope import EventEnvelope
from contracts.events.base import Event
from contracts.registry import decode
from services.platform.consumer import Item
from services.reporting.projections import PROJECTORS

# (service, event type) of every subject reporting subscribes to.
SUBSCRIBED: dict[tuple[str, str], type[Event]] = {(cls.service, cls.__name__): cls for cls in PROJECTORS}


def decoded(msg: Msg) -> Item | None:
    """The message's envelope and event; None if reporting does not subscribe to its subject. Raises what
    the platform's decode raises (ValueError, pydantic's ValidationError among them)."""
    _, _, service, event_type = msg.subject.rsplit(".", 3) if msg.subject.count(".") >= 4 else ("", "", "", "")
    cls = SUBSCRIBED.get((service, event_type))
    if cls is None:
        return None
    try:
        envelope = _envelope_of(cls).model_validate_json(msg.data)
    except ValidationError:
        pass  # decoded again below, which says why for the log
    else:
        if envelope.type == event_type and envelope.schema_version == cls.schema_version:
            return envelope, envelope.data
    envelope = EventEnvelope.model_validate_json(msg.data)
    return envelope, decode(envelope)


@cache
def _envelope_of(cls: type[Event]) -> type[EventEnvelope]:
    """EventEnvelope with `data` typed as `cls` (its dump, when an event waits, is the same JSON)."""
    return create_model(f"{cls.__name__}Envelope", __base__=EventEnvelope, data=(cls, ...))
