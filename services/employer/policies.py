"""Integration events from intake and pathway, kept as the anonymous facts of clients that placements
and matching need (services/employer/tables.py `clients`)."""
from contracts.envelope import EventEnvelope
from contracts.events.intake import ClientEnrolled, ClientReferred, EligibilityAssessed
from services.employer.lookups import note_client
from services.platform.consumer import Subscription
from services.platform.unit_of_work import UnitOfWork

PRIORITY_GROUPS = {"youth": "under_30", "over_54": "over_54", "partially_able_to_work": "partially_able_to_work"}


async def client_referred(uow: UnitOfWork, event: ClientReferred, envelope: EventEnvelope) -> None:
    await note_client(uow.connection, event.client_id, envelope.employmentarea, municipality=event.municipality,
                      age_band=event.age_band)


async def eligibility_assessed(uow: UnitOfWork, event: EligibilityAssessed, envelope: EventEnvelope) -> None:
    groups = sorted({PRIORITY_GROUPS[group] for group in event.target_groups if group in PRIORITY_GROUPS})
    await note_client(uow.connection, event.client_id, envelope.employmentarea, priority_groups=groups)


async def client_enrolled(uow: UnitOfWork, event: ClientEnrolled, envelope: EventEnvelope) -> None:
    await note_client(uow.connection, event.client_id, envelope.employmentarea, enrolled=True,
                      case_worker_id=event.case_worker_id)


SUBSCRIPTION = Subscription("employer", {ClientReferred: client_referred, EligibilityAssessed: eligibility_assessed,
                                         ClientEnrolled: client_enrolled})
