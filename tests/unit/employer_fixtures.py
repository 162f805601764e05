"""Builders of employer aggregates for the unit tests of services/employer/domain."""
from datetime import date, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from services.employer.domain import employers, gig_tasks
from services.employer.domain.clients import ClientFacts
from services.employer.domain.employers import EMPLOYER, Employer, RegisterEmployer, SignAgreement
from services.employer.domain.gig_tasks import GIG_TASK, GigTask, OfferGigTask
from services.employer.domain.placements import StartPlacement
from services.platform.event_store import fold

EMPLOYER_ID, PLACEMENT_ID, CLIENT, AGREEMENT = (UUID(int=n) for n in range(1, 5))
KEMI = "0210427-6"


def registration(**overrides: Any) -> RegisterEmployer:
    fields = dict(business_id=KEMI, name="Kemin kaupunki", employer_type="city_unit", employment_area="kemi",
                  municipality="Kemi")
    return RegisterEmployer(**(fields | overrides))


def registered(employer_id: UUID = EMPLOYER_ID, scope: tuple[str, ...] = ("work_trial", "rehabilitative_work",
               "pay_subsidised_work", "gig_work", "apprenticeship"), valid=(date(2020, 1, 1), date(2030, 12, 31)),
               **overrides: Any) -> Employer:
    """A registered employer with one agreement of `scope` (none when `scope` is empty)."""
    events = employers.register(Employer(), employer_id, registration(**overrides))
    employer = fold(EMPLOYER, events)
    if scope:
        signed = employers.sign_agreement(employer, AGREEMENT, SignAgreement(
            scope=scope, valid_from=valid[0], valid_to=valid[1]))
        employer = fold(EMPLOYER, signed, employer)
    return employer


def enrolled(client_id: UUID = CLIENT, area: str = "kemi", **facts: Any) -> ClientFacts:
    return ClientFacts(client_id=client_id, employment_area=area, **({"enrolled": True} | facts))


def placement_command(**overrides: Any) -> StartPlacement:
    fields = dict(client_id=CLIENT, employer_id=EMPLOYER_ID, kind="work_trial", starts_on=date(2025, 2, 3),
                  planned_end_on=date(2025, 5, 2),
                  schedule={"days_per_week": 5, "hours_per_day": "6", "hours_per_week": "30"})
    return StartPlacement(**(fields | overrides))


def task(number: int, works_on: date, starts_at: time, ends_at: time, employer_id: UUID = EMPLOYER_ID,
         municipality: str = "Kemi", rate: str = "24.00", tags: tuple[str, ...] = ()) -> GigTask:
    task_id = UUID(int=1000 + number)
    return fold(GIG_TASK, gig_tasks.offer(task_id, OfferGigTask(
        employer_id=employer_id, works_on=works_on, starts_at=starts_at, ends_at=ends_at, municipality=municipality,
        place=f"place {number}", requirement_tags=tags, hourly_billing_rate=Decimal(rate))))
