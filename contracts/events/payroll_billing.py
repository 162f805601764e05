"""Events of the payroll-billing service: the Employment, PayrollRun, Invoice and SubsidyClaim aggregates.

Wages are personal data: no event carries a person's wage, wage terms' amount or payroll line.
A payroll run travels as its totals over all its employments; a claim as the amount claimed.
"""
from datetime import date
from decimal import Decimal
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from contracts.events.base import Event
from contracts.events.employer import PooledTask
from contracts.values import BilledHours, EmployerType, Hours, Money

PayPeriod = Literal["month", "two_weeks"]
PaymentStatus = Literal["part_paid", "paid", "overpaid"]
# A rate such as 25.5 (%), or an hourly billing rate: Decimal, as text on the wire.
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2),
                    PlainSerializer(lambda percent: f"{percent:.2f}", return_type=str, when_used="json")]
Reference = Annotated[str, Field(pattern=r"^\d{4,20}$", description="Finnish invoice reference (viitenumero)")]
RfReference = Annotated[str, Field(pattern=r"^RF\d{2}[0-9A-Z]{1,21}$", description="ISO 11649 creditor reference")]


class EmploymentEvent(Event):
    service: ClassVar[str] = "payroll_billing"
    aggregate_type: ClassVar[str] = "Employment"
    employment_id: UUID


class EmploymentOpened(EmploymentEvent):
    """The foundation employs the client (työsuhde) for a gig job or a pay subsidised job it hosts.

    Schema version 2 adds the placement's kind, start and schedule; a version 1 event (written when
    every placement opened an employment) reads as gig work with no schedule.
    """

    schema_version: ClassVar[int] = 2
    placement_id: UUID
    client_id: UUID
    employer_id: UUID
    hourly_billing_rate: Money
    kind: Literal["gig_work", "pay_subsidised_work"]
    employer_type: EmployerType | None
    starts_on: date | None
    planned_end_on: date | None
    days_per_week: int | None = Field(ge=1, le=7)
    hours_per_day: Hours | None


class GigTasksAssigned(EmploymentEvent):
    """The tasks of a pooled gig job, each billed to its own employer at its own rate."""

    tasks: tuple[PooledTask, ...]


class AttendanceOpened(EmploymentEvent):
    """A work trial (työkokeilu) or rehabilitative work activity (kuntouttava työtoiminta): no employment,
    the client earns the expense allowance (kulukorvaus) per day of attendance, which the foundation pays."""

    placement_id: UUID
    client_id: UUID
    employer_id: UUID
    kind: Literal["work_trial", "rehabilitative_work"]
    starts_on: date
    days_per_week: int | None = Field(ge=1, le=7)
    hours_per_day: Hours | None


class WageTermsAgreed(EmploymentEvent):
    """The employment's terms, except the wage itself (kept in payroll's own database)."""

    collective_agreement: str = Field(min_length=1, max_length=120)
    hours_per_week: Hours
    pay_period: PayPeriod
    valid_from: date
    fixed_term_until: date | None = Field(
        description="the last day of a fixed-term contract; None: until further notice")


class PaySubsidyGranted(EmploymentEvent):
    """A pay subsidy decision (palkkatukipäätös) for the employment was recorded. Its percent and cap
    (which tell the ground it was granted on) stay in payroll's own database."""

    decision_reference: str = Field(min_length=1, max_length=60)
    starts_on: date
    ends_on: date


class EmploymentExtended(EmploymentEvent):
    """The placement goes on until a new planned end."""

    planned_end_on: date


class EmploymentEnded(EmploymentEvent):
    """The placement ended; no day after `ended_on` is paid or billed."""

    ended_on: date


class WorkedDay(BaseModel):
    """Hours on one day; for a pooled gig job, of one task, billed to that task's employer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    works_on: date
    hours: Hours
    task_id: UUID | None = None
    employer_id: UUID
    hourly_billing_rate: Money


class TimesheetApproved(EmploymentEvent):
    """The payroll clerk approved the days worked (or attended) in a period.

    Schema version 2 adds the days; a version 1 timesheet recorded the period's total only (`days` empty).
    """

    schema_version: ClassVar[int] = 2
    timesheet_id: UUID
    period_start: date
    period_end: date
    hours: Hours
    days: tuple[WorkedDay, ...]


class PayrollRunEvent(Event):
    service: ClassVar[str] = "payroll_billing"
    aggregate_type: ClassVar[str] = "PayrollRun"
    run_id: UUID


class PayrollRunClosed(PayrollRunEvent):
    """A payroll run (palkka-ajo) for a period, as totals over its employments; the lines per employment
    stay in payroll's own database. A correcting run's totals are the differences to the run it corrects."""

    pay_period: PayPeriod
    period_start: date
    period_end: date
    corrects_run_id: UUID | None
    employments: int = Field(ge=0)
    gross_wages: Decimal
    holiday_compensation: Decimal
    expense_allowances: Decimal
    employer_contributions: Decimal
    rules: tuple[str, ...]


class InvoiceLine(BaseModel):
    """Hours of one period and one task (or one employment, where no task) at one billing rate and VAT rate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    employment_id: UUID | None
    task_id: UUID | None
    period_start: date
    period_end: date
    hours: BilledHours
    hourly_billing_rate: Money
    net: Money
    vat_percent: Percent
    vat: Money


class InvoiceEvent(Event):
    service: ClassVar[str] = "payroll_billing"
    aggregate_type: ClassVar[str] = "Invoice"
    invoice_id: UUID


class EmployerInvoiced(InvoiceEvent):
    """An invoice to the employer where the work was done: hours × billing rate, VAT by the rate table.

    Schema version 2: an invoice of its own (the Invoice aggregate) with lines, VAT and the RF
    reference; `amount` stays the net amount. A version 1 event (one employment's hours, no VAT
    charged) reads with no lines and its issue date as its period.
    """

    schema_version: ClassVar[int] = 2
    employer_id: UUID
    period_start: date
    period_end: date
    hours: BilledHours
    amount: Money
    vat_amount: Money
    total: Money
    vat_rules: tuple[str, ...]
    reference: Reference
    rf_reference: RfReference
    issued_on: date
    due_on: date
    lines: tuple[InvoiceLine, ...]


class InvoiceCredited(InvoiceEvent):
    """A credit note (hyvityslasku) corrects the invoice by the amounts given; an invoice is never edited."""

    credit_note_id: UUID
    amount: Money
    vat_amount: Money
    total: Money
    reason: Literal["wrong_hours", "wrong_rate", "wrong_buyer", "cancelled", "other"]
    issued_on: date


class PaymentReceived(InvoiceEvent):
    """A payment with the invoice's reference, from the bank's camt.054 notification."""

    payment_id: UUID
    bank_reference: str = Field(min_length=1, max_length=70)
    amount: Money
    booked_on: date
    paid_total: Money
    status: PaymentStatus


class InvoiceOverdue(InvoiceEvent):
    """The invoice was found unpaid after its due date (once: a later payment does not undo it)."""

    employer_id: UUID
    due_on: date
    open_amount: Money
    noted_on: date


class ReminderSent(InvoiceEvent):
    """A payment reminder with late-payment interest (Interest Act 633/1982 s. 4) and a reminder fee."""

    reminder_id: UUID
    sent_on: date
    open_amount: Money
    interest: Money
    fee: Money
    rules: tuple[str, ...]


class CustomerEvent(Event):
    service: ClassVar[str] = "payroll_billing"
    aggregate_type: ClassVar[str] = "Customer"
    employer_id: UUID


class VatStatusRecorded(CustomerEvent):
    """Whether the employer, as the foundation's customer, is invoiced without VAT (and why)."""

    vat_exempt: bool
    reason: str | None = Field(max_length=200)


class SubsidyClaimEvent(Event):
    service: ClassVar[str] = "payroll_billing"
    aggregate_type: ClassVar[str] = "SubsidyClaim"
    claim_id: UUID
    employment_id: UUID
    period_start: date
    period_end: date
    amount: Money
    rules: tuple[str, ...]


class PaySubsidyClaimed(SubsidyClaimEvent):
    """The foundation claimed pay subsidy (palkkatuki) for one calendar month of an employment."""

    decision_reference: str = Field(min_length=1, max_length=60)


class MunicipalSupplementClaimed(SubsidyClaimEvent):
    """The employer's Kemi-lisä (the city's supplement, kuntalisä) for one calendar month was claimed."""

    employer_id: UUID
