"""Rebuild's one-pass decode gives what the platform's decode gives, for every event type reporting takes,
and falls back to it for whatever the typed pass cannot take as it is (an older schema, a subject that
names another type, a message that does not validate)."""
from dataclasses import dataclass

import pytest
from pydantic import ValidationError

from contracts.envelope import EventEnvelope
from contracts.registry import decode
from services.reporting.decoding import SUBSCRIBED, decoded
from tests.unit.test_contracts import EXAMPLES, envelope, envelope_of

TAKEN = sorted(cls.__name__ for cls in SUBSCRIBED.values())


@dataclass
class Msg:
    subject: str
    data: bytes


def message(sent: EventEnvelope, subject: str | None = None) -> Msg:
    return Msg(subject or sent.nats_subject, sent.model_dump_json().encode())


@pytest.mark.parametrize("name", TAKEN)
def test_every_type_reporting_takes_decodes_as_the_platform_decodes_it(name):
    sent = envelope_of(EXAMPLES[name])
    got_envelope, got_event = decoded(message(sent))
    assert got_event == decode(sent) and type(got_event) is type(decode(sent))
    assert isinstance(got_envelope, EventEnvelope)
    for field in ("id", "type", "aggregatetype", "aggregateid", "aggregateversion", "employmentarea", "dataschema"):
        assert getattr(got_envelope, field) == getattr(sent, field)
    # A waiting event is parked as its envelope's JSON and decoded from it again: the same event.
    assert decode(EventEnvelope.model_validate_json(got_envelope.model_dump_json())) == got_event


def test_an_older_schema_version_is_upcast_as_the_platform_does():
    data = EXAMPLES["ClientReferred"].model_dump(mode="json")
    old = {key: value for key, value in data.items() if key not in ("referral_id", "period", "programme")}
    sent = envelope("ClientReferred", old, schema_version=1)
    _, event = decoded(message(sent))
    assert event == decode(sent) and event.programme == "kemi_model"


def test_a_subject_naming_another_type_decodes_by_the_envelope_as_the_live_consumer_would():
    sent = envelope_of(EXAMPLES["ClientEnrolled"])
    subject = sent.nats_subject.rsplit(".", 1)[0] + ".ClientReferred"
    _, event = decoded(message(sent, subject))
    assert event == EXAMPLES["ClientEnrolled"]


def test_a_message_that_does_not_validate_raises_what_the_platform_raises():
    sent = envelope_of(EXAMPLES["ClientEnrolled"])
    broken = Msg(sent.nats_subject, sent.model_dump_json().replace('"enrolled_on"', '"enroled_on"').encode())
    with pytest.raises(ValidationError):
        decoded(broken)


def test_a_subject_reporting_does_not_subscribe_to_is_skipped_undecoded():
    sent = envelope_of(EXAMPLES["TimesheetApproved"])
    assert decoded(Msg(sent.nats_subject, b"not even JSON")) is None
