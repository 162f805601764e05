"""Pathway events that intake takes: each client's current step, for the caseload's filter."""
from contracts.envelope import EventEnvelope
from contracts.events.pathway import StepCompleted, StepInterrupted, StepStarted
from services.intake import caseload
from services.platform.consumer import Subscription
from services.platform.unit_of_work import UnitOfWork


async def step_started(uow: UnitOfWork, event: StepStarted, envelope: EventEnvelope) -> None:
    if event.client_id is not None:  # version 1 steps did not name the client
        await caseload.set_current_step(uow.connection, event.client_id, envelope.employmentarea,
                                        str(event.step_id), event.step_kind)


async def step_ended(uow: UnitOfWork, event: StepCompleted | StepInterrupted, envelope: EventEnvelope) -> None:
    await caseload.set_current_step(uow.connection, event.client_id, envelope.employmentarea, str(event.step_id), None)


SUBSCRIPTION = Subscription("intake", {StepStarted: step_started, StepCompleted: step_ended,
                                       StepInterrupted: step_ended})
