"""Events of the payroll-billing service (the Employment aggregate)."""
from datetime import date
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from contracts.events.base import Event
from contracts.values import BilledHours, Hours, Money


class EmploymentEvent(Event):
    service: ClassVar[str] = "payroll_billing"
    aggregate_type: ClassVar[str] = "Employment"
    employment_id: UUID


class EmploymentOpened(EmploymentEvent):
    """The foundation employs the client for a placement and will bill the employer."""

    placement_id: UUID
    client_id: UUID
    employer_id: UUID
    hourly_billing_rate: Money


class TimesheetApproved(EmploymentEvent):
    """The payroll clerk approved hours worked in a period."""

    timesheet_id: UUID
    period_start: date
    period_end: date
    hours: Hours


class EmployerInvoiced(EmploymentEvent):
    """The employer was invoiced for approved hours not invoiced before."""

    invoice_id: UUID
    employer_id: UUID
    hours: BilledHours
    amount: Money
    reference: str = Field(pattern=r"^\d{4,20}$", description="Finnish invoice reference (viitenumero)")
    issued_on: date
    due_on: date
