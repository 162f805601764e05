"""The live consumer: each event is projected in the same transaction as its inbox row."""
from contracts.envelope import EventEnvelope
from contracts.events.base import Event
from services.platform.consumer import Subscription
from services.platform.unit_of_work import UnitOfWork
from services.reporting.projections import PROJECTORS, project


class EarlierVersionMissing(Exception):
    """Raised so the message is retried later, when the version before it has arrived."""


async def project_event(uow: UnitOfWork, event: Event, envelope: EventEnvelope) -> None:
    if await project(uow.connection, [(envelope, event)]):
        raise EarlierVersionMissing(
            f"{envelope.type} is version {envelope.aggregateversion} of {envelope.aggregatetype} "
            f"{envelope.aggregateid}, and an earlier version has not been projected yet")


SUBSCRIPTION = Subscription("reporting", {event_type: project_event for event_type in PROJECTORS})
