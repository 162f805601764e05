"""Events and states the payroll-billing unit tests start from."""
from datetime import date, time
from decimal import Decimal
from uuid import UUID

from contracts.events.employer import GigJobPooled, PlacementStarted, PooledTask, Schedule
from services.payroll_billing.domain.employment import EMPLOYMENT, Employment, assign_tasks, open_for
from services.platform.event_store import fold

PLACEMENT, CLIENT, EMPLOYER, TIMESHEET, INVOICE, RUN = (UUID(int=n) for n in range(1, 7))
SHOP, CAFE, GARDEN = (UUID(int=n) for n in range(11, 14))


def placement(kind: str = "gig_work", employer_type: str = "foundation", rate: str = "24.50",
              days_per_week: int | None = None, hours_per_day: str | None = None,
              starts_on: date = date(2025, 2, 3), planned_end_on: date | None = None) -> PlacementStarted:
    schedule = (Schedule(days_per_week=days_per_week, hours_per_week=Decimal("20"),
                         hours_per_day=Decimal(hours_per_day) if hours_per_day else None)
                if days_per_week or hours_per_day else None)
    return PlacementStarted(placement_id=PLACEMENT, client_id=CLIENT, employer_id=EMPLOYER,
                            employer_type=employer_type, kind=kind, starts_on=starts_on,
                            hourly_billing_rate=Decimal(rate), schedule=schedule, planned_end_on=planned_end_on)


def opened(**placement_fields) -> Employment:
    return fold(EMPLOYMENT, open_for(Employment(), placement(**placement_fields)))


def task(task_id: UUID, employer_id: UUID, works_on: date, hours: str, rate: str) -> PooledTask:
    return PooledTask(task_id=task_id, employer_id=employer_id, works_on=works_on, starts_at=time(8),
                      ends_at=time(12), hours=Decimal(hours), hourly_billing_rate=Decimal(rate))


def pooled(*tasks: PooledTask) -> Employment:
    state = opened()
    return fold(EMPLOYMENT, assign_tasks(state, GigJobPooled(placement_id=PLACEMENT, client_id=CLIENT, tasks=tasks)),
                state)
