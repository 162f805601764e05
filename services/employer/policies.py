"""Integration events from intake and pathway, kept as the anonymous facts of clients that placements
and matching need (services/employer/tables.py `clients`, `client_steps`)."""
from contracts.envelope import EventEnvelope
from contracts.events.intake import (CaseWorkerAssigned, ClientEnrolled, ClientExited, ClientReferred,
                                     EntryFactsCorrected, EntryFactsRecorded, SkillTagsRecorded)
from contracts.events.pathway import StepCancelled, StepCompleted, StepInterrupted, StepStarted
from services.employer.lookups import end_step, note_client, start_step
from services.platform.consumer import Subscription
from services.platform.unit_of_work import UnitOfWork

FULL_TIME_HOURS = 30  # a step marked full-time without hours: as many as make a client unavailable


async def client_referred(uow: UnitOfWork, event: ClientReferred, envelope: EventEnvelope) -> None:
    """A referral opens a new period: the client is not enrolled (again) until ClientEnrolled."""
    await note_client(uow.connection, event.client_id, envelope.employmentarea, municipality=event.municipality,
                      age_band=event.age_band, enrolled=False, exited=False)


async def entry_facts(uow: UnitOfWork, event: EntryFactsRecorded | EntryFactsCorrected,
                      envelope: EventEnvelope) -> None:
    await note_client(uow.connection, event.client_id, envelope.employmentarea,
                      months_unemployed=event.facts.unemployed_months,
                      priority_groups=list(event.facts.priority_groups))


async def client_enrolled(uow: UnitOfWork, event: ClientEnrolled, envelope: EventEnvelope) -> None:
    await note_client(uow.connection, event.client_id, envelope.employmentarea, enrolled=True,
                      case_worker_id=event.case_worker_id)


async def case_worker_assigned(uow: UnitOfWork, event: CaseWorkerAssigned, envelope: EventEnvelope) -> None:
    await note_client(uow.connection, event.client_id, envelope.employmentarea, case_worker_id=event.case_worker_id)


async def skill_tags_recorded(uow: UnitOfWork, event: SkillTagsRecorded, envelope: EventEnvelope) -> None:
    await note_client(uow.connection, event.client_id, envelope.employmentarea, skill_tags=list(event.skill_tags))


async def client_exited(uow: UnitOfWork, event: ClientExited, envelope: EventEnvelope) -> None:
    await note_client(uow.connection, event.client_id, envelope.employmentarea, exited=True)


async def step_started(uow: UnitOfWork, event: StepStarted, envelope: EventEnvelope) -> None:
    """A case worker's step takes the client's time; a placement's step is counted by its placement."""
    if event.placement_id is None and event.client_id is not None:
        hours = FULL_TIME_HOURS if event.full_time else round(event.hours_per_week or 0)
        await start_step(uow.connection, event.step_id, event.client_id, envelope.employmentarea, hours)


async def step_ended(uow: UnitOfWork, event: StepCompleted | StepInterrupted | StepCancelled,
                     envelope: EventEnvelope) -> None:
    await end_step(uow.connection, event.step_id, event.client_id, envelope.employmentarea)


SUBSCRIPTION = Subscription("employer", {
    ClientReferred: client_referred, EntryFactsRecorded: entry_facts, EntryFactsCorrected: entry_facts,
    ClientEnrolled: client_enrolled, CaseWorkerAssigned: case_worker_assigned,
    SkillTagsRecorded: skill_tags_recorded, ClientExited: client_exited,
    StepStarted: step_started, StepCompleted: step_ended, StepInterrupted: step_ended, StepCancelled: step_ended,
})
