"""The live consumer: events are projected in the same transaction as their inbox rows."""
from collections.abc import Sequence

from contracts.envelope import EventEnvelope
from contracts.events.base import Event
from services.platform.consumer import Item, Subscription
from services.platform.unit_of_work import UnitOfWork
from services.reporting.projections import PROJECTORS, project


class EarlierVersionMissing(Exception):
    """The message is retried later, when the version before it has arrived."""

    def __init__(self, envelope: EventEnvelope):
        super().__init__(f"{envelope.type} is version {envelope.aggregateversion} of {envelope.aggregatetype} "
                         f"{envelope.aggregateid}, and an earlier version has not been projected yet")


async def project_batch(uow: UnitOfWork, items: Sequence[Item]) -> list[tuple[Item, Exception]]:
    """A batch folded at once, as rebuild folds it; what had to be held back is retried later."""
    return [(item, EarlierVersionMissing(item[0])) for item in await project(uow.connection, items)]


async def project_event(uow: UnitOfWork, event: Event, envelope: EventEnvelope) -> None:
    """One event, when a batch failed and its events are applied one at a time."""
    if await project(uow.connection, [(envelope, event)]):
        raise EarlierVersionMissing(envelope)


SUBSCRIPTION = Subscription("reporting", {event_type: project_event for event_type in PROJECTORS},
                            batch_handler=project_batch)
