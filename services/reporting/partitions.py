"""Reporting's event types split into parts that share no projection row, for a rebuild in several processes.

Two event types fall in one part when a projector takes both (directly, or through others): every row then
sees all of its events in stream order in one process, as the live consumer folds them, and an event
refused by its aggregate's row is left out of the order-free rows beside it in the same fold. Tallies
belong to their projector, so they split alike. The parts are the connected components of event types and
projector tables, packed into at most `count` parts: the components with the most event types first, each
into a part that reads every service of its events already, else into the part with the fewest event types.

A part's process reads the services of its events (`subjects`; a consumer per service, merged in stream
order by stream_reader.read_merged) and skips the other parts' events there undecoded: a service read by
two parts is read twice, so a component goes where its services are read already (with today's projectors
no service is read twice: tests/unit/test_partitions.py).
"""
import os
from collections.abc import Mapping, Sequence

from contracts.envelope import event_subject
from contracts.events.base import Event

Part = tuple[type[Event], ...]
# A part per core, up to two: the largest part (the client journey's) is the rebuild's length either way.
DEFAULT_PROCESSES = min(len(os.sched_getaffinity(0)), 2)


def partitions(projectors: Mapping[type[Event], Sequence[tuple[object, object]]], count: int) -> list[Part]:
    """`projectors`: per event type, its (projector, key) routes (projections.PROJECTORS). At most `count`
    parts, none empty, the one with the most event types first."""
    if count < 1:
        raise ValueError(f"count: at least one part, not {count}")
    parent: dict[object, object] = {}

    def root(node: object) -> object:
        while (up := parent.setdefault(node, node)) is not node:
            parent[node] = parent.setdefault(up, up)  # halve the path as it is walked
            node = up
        return node

    for event_type, routes in projectors.items():
        for projector, _ in routes:
            parent[root(event_type)] = root(projector.table.name)
            for tally in projector.tallies:  # their own today; joined all the same, should two share one
                parent[root(tally.table.name)] = root(projector.table.name)
    components: dict[object, list[type[Event]]] = {}
    for event_type in projectors:  # in the mapping's order, so the parts are the same on every run
        components.setdefault(root(event_type), []).append(event_type)
    parts: list[list[type[Event]]] = [[] for _ in range(min(count, len(components)))]
    for component in sorted(components.values(), key=len, reverse=True):
        services = {event_type.service for event_type in component}
        reading = [part for part in parts if part and services <= {event_type.service for event_type in part}]
        min(reading or parts, key=len).extend(component)
    return [tuple(part) for part in sorted(parts, key=len, reverse=True) if part]


def subjects(part: Part) -> list[str]:
    """The subjects to read the part's events from: each service's events (of any type: those of other parts
    are skipped undecoded)."""
    return [event_subject(service=service) for service in sorted({event_type.service for event_type in part})]
