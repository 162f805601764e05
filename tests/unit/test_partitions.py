"""A rebuild's parts share no projection row: every event type of a projector is in one part."""
import pytest


from contracts.envelope import event_subject
from services.reporting.partitions import partitions, subjects
from services.reporting.projections import PROJECTORS


def _tables(part) -> set[str]:
    return {projector.table.name for event_type in part for projector, _ in PROJECTORS[event_type]}


@pytest.mark.parametrize("count", [2, 3, 8])
def test_no_projector_takes_events_of_two_parts(count):
    parts = partitions(PROJECTORS, count)
    assert 1 < len(parts) <= count
    for number, part in enumerate(parts):
        for other in parts[number + 1:]:
            assert not _tables(part) & _tables(other), "a row would be folded in two processes"


@pytest.mark.parametrize("count", [1, 2, 8])
def test_every_event_type_is_in_exactly_one_part(count):
    parts = partitions(PROJECTORS, count)
    types = [event_type for part in parts for event_type in part]
    assert sorted(types, key=lambda t: t.__name__) == sorted(PROJECTORS, key=lambda t: t.__name__)
    assert all(parts), "no part without events"
    assert [len(part) for part in parts] == sorted((len(part) for part in parts), reverse=True)


def test_a_client_s_events_and_their_placements_are_one_part():
    """The municipal share's row and the first placement take both a client's and a placement's events."""
    first = partitions(PROJECTORS, 8)[0]
    names = {event_type.__name__ for event_type in first}
    assert {"ClientReferred", "ClientExited", "PlacementStarted", "PlacementEnded"} <= names
    assert "EmployerInvoiced" not in names


def test_one_process_takes_everything_and_none_is_refused():
    assert [set(part) for part in partitions(PROJECTORS, 1)] == [set(PROJECTORS)]
    with pytest.raises(ValueError, match="count"):
        partitions(PROJECTORS, 0)


def _matches(pattern: str, subject: str) -> bool:
    wanted, got = pattern.split("."), subject.split(".")
    return len(wanted) == len(got) and all(token in ("*", other) for token, other in zip(wanted, got))


@pytest.mark.parametrize("count", [2, 3])
def test_a_part_reads_its_events_subjects_and_no_service_is_read_twice(count):
    parts = partitions(PROJECTORS, count)
    for part in parts:
        for event_type in part:
            subject = event_subject("kemi", event_type.service, event_type.__name__)
            assert sum(_matches(pattern, subject) for pattern in subjects(part)) == 1, subject
    read = [pattern for part in parts for pattern in subjects(part)]
    assert len(read) == len(set(read)), "a service read by two parts would be read, and counted, twice"


def test_the_same_parts_on_every_call():
    assert partitions(PROJECTORS, 2) == partitions(PROJECTORS, 2)
