"""A rebuild's fold looks up only the keys it has written (services/reporting/written_keys.py): it must never
miss one, and should skip most of the others."""
from uuid import uuid4

from services.reporting.written_keys import WrittenKeys

CLIENTS, PLACEMENTS = object(), object()


def test_every_key_written_is_looked_up_and_most_others_are_not():
    written = WrittenKeys(bits=1 << 16)
    keys = [str(uuid4()) for _ in range(2000)]
    written.add(CLIENTS, keys[:1000])
    assert written.among(CLIENTS, keys[:1000]) == keys[:1000]
    looked_up_for_nothing = written.among(CLIENTS, keys[1000:])
    assert len(looked_up_for_nothing) < 100, "a key shares a bit with a written one now and then, not often"


def test_a_projector_sees_only_its_own_keys():
    written = WrittenKeys(bits=1 << 16)
    keys = [str(uuid4()) for _ in range(10)]
    assert written.among(CLIENTS, keys) == []
    written.add(PLACEMENTS, keys)
    assert written.among(CLIENTS, keys) == []
    assert written.among(PLACEMENTS, reversed(keys)) == keys[::-1], "in the order asked"
