"""decode_json, which every consumer decodes its messages with: one pydantic pass where the ce-type header
names the envelope's type at the current version, the same envelope and event as `decode` gives."""
import pytest

from contracts import registry
from contracts.envelope import EventEnvelope
from contracts.registry import EVENT_TYPES, decode, decode_json
from tests.unit.test_contracts import EXAMPLES, envelope_of


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
def test_every_event_type_decodes_in_one_pass_as_decode_decodes_it(name, monkeypatch):
    sent = envelope_of(EXAMPLES[name])
    raw = sent.model_dump_json().encode()

    def second_pass(*_args, **_kwargs):
        raise AssertionError("the event was validated a second time, from the envelope's dict")

    monkeypatch.setattr(registry, "decode", second_pass)
    got_envelope, got_event = decode_json(raw, name)
    monkeypatch.undo()
    assert got_event == decode(sent) and type(got_event) is type(decode(sent))
    assert got_envelope.id == sent.id and got_envelope.type == name
    assert EventEnvelope.model_validate_json(got_envelope.model_dump_json()) == sent, "it dumps as it came"


def test_a_header_naming_another_type_or_none_decodes_by_the_envelopes_own_type():
    sent = envelope_of(EXAMPLES["ClientEnrolled"])
    raw = sent.model_dump_json().encode()
    for header in ("ClientReferred", "NoSuchEvent", None):
        _, event = decode_json(raw, header)
        assert event == decode(sent)
