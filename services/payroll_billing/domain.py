"""The Employment aggregate: pure functions that decide events from a command and the current state."""
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.events.base import Event
from contracts.events.employer import PlacementStarted
from contracts.events.payroll_billing import EmployerInvoiced, EmploymentOpened, TimesheetApproved
from contracts.values import Hours
from services.platform.errors import NotFound, RuleViolated
from services.platform.event_store import AggregateKind

CENT = Decimal("0.01")


class ApproveTimesheet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period_start: date
    period_end: date
    hours: Hours

    @model_validator(mode="after")
    def period_is_ordered(self) -> "ApproveTimesheet":
        if self.period_end < self.period_start:
            raise ValueError("period_end must not be before period_start")
        return self


class InvoiceEmployer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    issued_on: date | None = None
    payment_term_days: int = Field(default=14, ge=0, le=90)


@dataclass(frozen=True)
class Employment:
    opened: EmploymentOpened | None = None
    approved_hours: Decimal = Decimal(0)
    invoiced_hours: Decimal = Decimal(0)
    invoices: int = 0
    approved_periods: tuple[tuple[date, date], ...] = ()


def evolve(employment: Employment, event: Event) -> Employment:
    match event:
        case EmploymentOpened():
            return replace(employment, opened=event)
        case TimesheetApproved():
            return replace(employment, approved_hours=employment.approved_hours + event.hours,
                           approved_periods=employment.approved_periods + ((event.period_start, event.period_end),))
        case EmployerInvoiced():
            return replace(employment, invoiced_hours=employment.invoiced_hours + event.hours,
                           invoices=employment.invoices + 1)
    return employment


EMPLOYMENT = AggregateKind("Employment", Employment(), evolve)


def open_for(employment: Employment, placement: PlacementStarted) -> list[Event]:
    """The foundation employs the client of every placement (the gig work model)."""
    if employment.opened is not None:
        return []
    return [EmploymentOpened(employment_id=placement.placement_id, placement_id=placement.placement_id,
                             client_id=placement.client_id, employer_id=placement.employer_id,
                             hourly_billing_rate=placement.hourly_billing_rate)]


def approve(employment: Employment, employment_id: UUID, timesheet_id: UUID, command: ApproveTimesheet) -> list[Event]:
    _require_open(employment, employment_id)
    for start, end in employment.approved_periods:
        if command.period_start <= end and start <= command.period_end:
            # A resent or overlapping timesheet would pay and bill the same hours twice.
            raise RuleViolated("period_start", f"employment {employment_id} has hours approved for "
                                               f"{start}–{end}, which this period overlaps")
    return [TimesheetApproved(employment_id=employment_id, timesheet_id=timesheet_id, **command.model_dump())]


def invoice(employment: Employment, employment_id: UUID, invoice_id: UUID, command: InvoiceEmployer,
            today: date) -> list[Event]:
    """Bill the approved hours not billed before, at the placement's hourly rate."""
    opened = _require_open(employment, employment_id)
    hours = employment.approved_hours - employment.invoiced_hours
    if hours <= 0:
        raise RuleViolated("hours", f"employment {employment_id} has no approved hours left to invoice")
    issued_on = command.issued_on or today
    return [EmployerInvoiced(
        employment_id=employment_id, invoice_id=invoice_id, employer_id=opened.employer_id, hours=hours,
        amount=(hours * opened.hourly_billing_rate).quantize(CENT, rounding=ROUND_HALF_UP),
        reference=finnish_reference(reference_base(invoice_id)),
        issued_on=issued_on, due_on=issued_on + timedelta(days=command.payment_term_days),
    )]


def reference_base(invoice_id: UUID) -> str:
    """Nine digits from the invoice id, never starting with 0: banks drop leading zeros of a reference,
    so a stored "0001234563" would not match the "1234563" a payment comes back with."""
    return str(10**8 + invoice_id.int % (9 * 10**8))


def finnish_reference(base: str) -> str:
    """Finnish creditor reference (viitenumero): the base digits and a 7-3-1 check digit."""
    weights = (7, 3, 1)
    total = sum(int(digit) * weights[index % 3] for index, digit in enumerate(reversed(base)))
    return base + str((10 - total % 10) % 10)


def _require_open(employment: Employment, employment_id: UUID) -> EmploymentOpened:
    if employment.opened is None:
        raise NotFound(f"no employment {employment_id}")
    return employment.opened
