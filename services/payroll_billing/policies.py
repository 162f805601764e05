"""Integration events from other services, translated into commands on payroll-billing's aggregates
and its own tables (in the same transaction as the consumer's inbox)."""
from contracts.envelope import EventEnvelope
from contracts.events.base import Event
from contracts.events.employer import (EmployerDetailsCorrected, EmployerRegistered, GigJobPooled, PlacementEnded,
                                       PlacementExtended, PlacementStarted)
from contracts.events.intake import ClientDataErased, EligibilityAssessed
from services.payroll_billing import ledger
from services.payroll_billing.domain.employment import (EMPLOYMENT, assign_tasks, concerns_payroll, end, extend,
                                                       open_for)
from services.payroll_billing.use_cases import keeping
from services.platform.consumer import Subscription
from services.platform.unit_of_work import UnitOfWork


async def open_employment(uow: UnitOfWork, event: PlacementStarted, envelope: EventEnvelope) -> None:
    if not concerns_payroll(event.kind, event.employer_type):
        await ledger.note_not_here(uow.connection, event.placement_id)
        return
    opened: list[Event] = []
    await uow.decide(EMPLOYMENT, str(event.placement_id), keeping(opened, lambda state: open_for(state, event)),
                     area=envelope.employmentarea)
    for new in opened:
        await ledger.register(uow.connection, new, envelope.employmentarea)


async def assign_gig_tasks(uow: UnitOfWork, event: GigJobPooled, _envelope: EventEnvelope) -> None:
    await uow.decide(EMPLOYMENT, str(event.placement_id), lambda state: assign_tasks(state, event))


async def extend_employment(uow: UnitOfWork, event: PlacementExtended, _envelope: EventEnvelope) -> None:
    # An extension carries no kind: whether its placement opened anything here is in the ledger.
    if not await ledger.is_not_here(uow.connection, event.placement_id):
        await uow.decide(EMPLOYMENT, str(event.placement_id), lambda state: extend(state, event))


async def end_employment(uow: UnitOfWork, event: PlacementEnded, _envelope: EventEnvelope) -> None:
    # A placement that opened nothing here (a company's job, an apprenticeship) has nothing to end: its
    # end waited for an employment that never comes, until it was dead-lettered as overdue.
    if concerns_payroll(event.kind, event.employer_type):
        await uow.decide(EMPLOYMENT, str(event.placement_id), lambda state: end(state, event))


async def know_customer(uow: UnitOfWork, event: EmployerRegistered | EmployerDetailsCorrected,
                        envelope: EventEnvelope) -> None:
    await ledger.record_customer(uow.connection, event, envelope.employmentarea)


async def know_client(uow: UnitOfWork, event: EligibilityAssessed, _envelope: EventEnvelope) -> None:
    await ledger.record_assessment(uow.connection, event)


async def erase_person(uow: UnitOfWork, event: ClientDataErased, _envelope: EventEnvelope) -> None:
    await ledger.erase_person(uow.connection, event.client_id)


SUBSCRIPTION = Subscription("payroll_billing", {
    PlacementStarted: open_employment,
    GigJobPooled: assign_gig_tasks,
    PlacementExtended: extend_employment,
    PlacementEnded: end_employment,
    EmployerRegistered: know_customer,
    EmployerDetailsCorrected: know_customer,
    EligibilityAssessed: know_client,
    ClientDataErased: erase_person,
})
