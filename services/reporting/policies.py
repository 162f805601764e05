"""The live consumer: events are projected in the same transaction as their inbox rows.

An event that came before an earlier version of its aggregate waits in reporting's own database and is
folded in when that version arrives (waiting.py); one that can never apply is dead-lettered at once with
the reason. The projection lock (swap.py) is held from before the rows are read until the commit, so a
rebuild's swap never comes between the two.
"""
from collections.abc import Sequence

from contracts.envelope import EventEnvelope
from contracts.events.base import Event
from services.platform import metrics
from services.platform.consumer import Item, Subscription
from services.platform.errors import NeverApplies
from services.platform.unit_of_work import UnitOfWork
from services.reporting import swap
from services.reporting.projections import PROJECTORS, project

CONSUMER = "reporting"


async def project_batch(uow: UnitOfWork, items: Sequence[Item]) -> list[tuple[Item, Exception]]:
    """A batch folded at once, as rebuild folds it; what can never apply goes back, to be dead-lettered."""
    await swap.hold(uow.connection)
    folded = await project(uow.connection, items)
    for _ in folded.park:
        metrics.parked_event(CONSUMER)
    return [(item, NeverApplies(reason)) for item, reason in folded.refused]


async def project_event(uow: UnitOfWork, event: Event, envelope: EventEnvelope) -> None:
    """One event, when a batch failed and its events are applied one at a time."""
    for _, refusal in await project_batch(uow, [(envelope, event)]):
        raise refusal


SUBSCRIPTION = Subscription(CONSUMER, {event_type: project_event for event_type in PROJECTORS},
                            batch_handler=project_batch)
