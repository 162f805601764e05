"""Integration events from other services, translated into commands on employments."""
from contracts.envelope import EventEnvelope
from contracts.events.employer import PlacementStarted
from services.payroll_billing.domain import EMPLOYMENT, open_for
from services.platform.consumer import Subscription
from services.platform.unit_of_work import UnitOfWork


async def open_employment(uow: UnitOfWork, event: PlacementStarted, envelope: EventEnvelope) -> None:
    await uow.decide(EMPLOYMENT, str(event.placement_id), lambda employment: open_for(employment, event),
                     area=envelope.employmentarea)


SUBSCRIPTION = Subscription("payroll_billing", {PlacementStarted: open_employment})
