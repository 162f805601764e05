"""The Invoice aggregate: an invoice to one employer for the hours worked for it in a period, its
credit note, the payments that come back with its reference, and reminders.

Rounding: a line's net (hours × rate) and its VAT are each rounded to the cent once, half up;
the invoice's amounts are sums of its lines. Interest is summed per day unrounded and rounded once.
"""
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.events.base import Event
from contracts.events.payroll_billing import (EmployerInvoiced, InvoiceCredited, InvoiceLine, InvoiceOverdue,
                                              PaymentReceived, ReminderSent)
from services.payroll_billing.domain.money import cents, finnish_reference, reference_base, rf_reference
from services.payroll_billing.domain.rules import tables
from services.platform.errors import NotFound, RuleViolated, StateConflict
from services.platform.event_store import AggregateKind

RULES = tables("invoice_rules.yaml")
HUNDRED = Decimal(100)
DAYS_A_YEAR = Decimal(365)


class InvoiceEmployer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employer_id: UUID
    period_start: date
    period_end: date
    issued_on: date | None = None
    payment_term_days: int = Field(default=14, ge=0, le=90)

    @model_validator(mode="after")
    def period_is_ordered(self) -> "InvoiceEmployer":
        if self.period_end < self.period_start:
            raise ValueError("period_end must not be before period_start")
        return self


class CreditInvoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Literal["wrong_hours", "wrong_rate", "wrong_buyer", "cancelled", "other"]
    issued_on: date | None = None


class SendReminder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sent_on: date | None = None


@dataclass(frozen=True)
class BillableDay:
    """Approved hours of one day not invoiced before (from TimesheetApproved)."""

    employment_id: UUID
    task_id: UUID | None
    works_on: date
    hours: Decimal
    hourly_billing_rate: Decimal


@dataclass(frozen=True)
class Invoice:
    issued: EmployerInvoiced | None = None
    credited: InvoiceCredited | None = None
    paid: Decimal = Decimal(0)
    payments: frozenset[str] = frozenset()
    reminders: tuple[ReminderSent, ...] = ()
    overdue: InvoiceOverdue | None = None

    @property
    def payable(self) -> Decimal:
        """What the employer owes in all: the total less any credit note."""
        return self.issued.total - (self.credited.total if self.credited else 0)

    @property
    def open_amount(self) -> Decimal:
        return max(self.payable - self.paid, Decimal("0.00"))


def evolve(invoice: Invoice, event: Event) -> Invoice:
    match event:
        case EmployerInvoiced():
            return replace(invoice, issued=event)
        case InvoiceCredited():
            return replace(invoice, credited=event)
        case PaymentReceived():
            return replace(invoice, paid=event.paid_total, payments=invoice.payments | {event.bank_reference})
        case ReminderSent():
            return replace(invoice, reminders=invoice.reminders + (event,))
        case InvoiceOverdue():
            return replace(invoice, overdue=event)
    return invoice


INVOICE = AggregateKind("Invoice", Invoice(), evolve)


def issue(invoice_id: UUID, command: InvoiceEmployer, vat_exempt: bool, days: Sequence[BillableDay],
          today: date) -> list[Event]:
    """Lines per employment and task at each billing rate and VAT rate; VAT by the rate in force on
    the day the work was done (or the exemption recorded for the employer)."""
    days = [day for day in days if day.hourly_billing_rate > 0]
    if not days:
        raise RuleViolated("period_start", f"employer {command.employer_id} has no approved hours to invoice in "
                                           f"{command.period_start}–{command.period_end}")
    groups: dict[tuple, list[BillableDay]] = defaultdict(list)
    vat_rules = {}
    for day in days:
        rule = (RULES["vat"].in_force(day.works_on, "issued_on", exempt=True) if vat_exempt
                else RULES["vat"].in_force(day.works_on, "issued_on", category="S"))
        vat_rules[rule.id] = rule
        groups[(day.employment_id, day.task_id, day.hourly_billing_rate, rule.id)].append(day)
    lines = []
    for (employment_id, task_id, rate, rule_id), group in sorted(groups.items(), key=lambda item: (
            min(day.works_on for day in item[1]), str(item[0][0]), str(item[0][1]))):
        hours = sum(day.hours for day in group)
        net = cents(hours * rate)
        percent = vat_rules[rule_id].decimal("percent")
        lines.append(InvoiceLine(employment_id=employment_id, task_id=task_id,
                                 period_start=min(day.works_on for day in group),
                                 period_end=max(day.works_on for day in group), hours=hours,
                                 hourly_billing_rate=rate, net=net, vat_percent=percent,
                                 vat=cents(net * percent / HUNDRED)))
    issued_on = command.issued_on or today
    reference = finnish_reference(reference_base(invoice_id))
    amount = sum(line.net for line in lines)
    vat = sum(line.vat for line in lines)
    return [EmployerInvoiced(
        invoice_id=invoice_id, employer_id=command.employer_id, period_start=command.period_start,
        period_end=command.period_end, hours=sum(line.hours for line in lines), amount=amount, vat_amount=vat,
        total=amount + vat, vat_rules=tuple(vat_rules[rule_id].label for rule_id in sorted(vat_rules)),
        reference=reference, rf_reference=rf_reference(reference), issued_on=issued_on,
        due_on=issued_on + timedelta(days=command.payment_term_days), lines=tuple(lines))]


def credit(invoice: Invoice, invoice_id: UUID, credit_note_id: UUID, command: CreditInvoice,
           today: date) -> list[Event]:
    """A credit note for the whole invoice: its hours may then be invoiced again, correctly."""
    issued = _require_issued(invoice, invoice_id)
    if invoice.credited is not None:
        raise StateConflict(f"invoice {invoice_id} was credited by {invoice.credited.credit_note_id}")
    return [InvoiceCredited(invoice_id=invoice_id, credit_note_id=credit_note_id, amount=issued.amount,
                            vat_amount=issued.vat_amount, total=issued.total, reason=command.reason,
                            issued_on=command.issued_on or today)]


def register_payment(invoice: Invoice, invoice_id: UUID, payment_id: UUID, bank_reference: str, amount: Decimal,
                     booked_on: date) -> list[Event]:
    """Paid, part paid or overpaid against what is payable; the same bank entry counts once."""
    _require_issued(invoice, invoice_id)
    if bank_reference in invoice.payments:
        return []
    paid_total = invoice.paid + amount
    status = "paid" if paid_total == invoice.payable else "overpaid" if paid_total > invoice.payable else "part_paid"
    return [PaymentReceived(invoice_id=invoice_id, payment_id=payment_id, bank_reference=bank_reference,
                            amount=amount, booked_on=booked_on, paid_total=paid_total, status=status)]


class NoteOverdue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on: date


def note_overdue(invoice: Invoice, invoice_id: UUID, command: NoteOverdue) -> list[Event]:
    """Overdue once something is open after the due date; noted once."""
    issued, on = _require_issued(invoice, invoice_id), command.on
    if invoice.overdue is not None:
        raise StateConflict(f"invoice {invoice_id} was noted overdue on {invoice.overdue.noted_on}")
    if invoice.open_amount <= 0 or on <= issued.due_on:
        raise RuleViolated("on", f"invoice {invoice_id} is not overdue on {on}: due {issued.due_on}, "
                                 f"{invoice.open_amount} open")
    return [InvoiceOverdue(invoice_id=invoice_id, employer_id=issued.employer_id, due_on=issued.due_on,
                           open_amount=invoice.open_amount, noted_on=on)]


def remind(invoice: Invoice, invoice_id: UUID, reminder_id: UUID, command: SendReminder, today: date) -> list[Event]:
    """Late-payment interest on the open amount from the day after the due date to the reminder's
    date, at each half-year's reference rate plus the margin, actual/365; and the reminder fee."""
    issued = _require_issued(invoice, invoice_id)
    sent_on = command.sent_on or today
    if invoice.open_amount <= 0:
        raise RuleViolated("invoice_id", f"invoice {invoice_id} has nothing open")
    fee_rule = RULES["reminder_fee"].in_force(sent_on, "sent_on")
    first_reminder_on = issued.due_on + timedelta(days=int(fee_rule.values["days_after_due"]))
    if sent_on < first_reminder_on:
        raise RuleViolated("sent_on", f"a reminder is sent from {first_reminder_on}, "
                                      f"{fee_rule.values['days_after_due']} days after the due date {issued.due_on} "
                                      f"({fee_rule.label})")
    interest, rules = late_payment_interest(invoice.open_amount, issued.due_on, sent_on)
    return [ReminderSent(invoice_id=invoice_id, reminder_id=reminder_id, sent_on=sent_on,
                         open_amount=invoice.open_amount, interest=interest, fee=fee_rule.decimal("fee"),
                         rules=(*rules, fee_rule.label))]


def late_payment_interest(amount: Decimal, due_on: date, until: date) -> tuple[Decimal, tuple[str, ...]]:
    total, used = Decimal(0), []
    day = due_on + timedelta(days=1)
    while day <= until:
        rule = RULES["late_payment_interest"].in_force(day, "sent_on")
        segment_end = min(until, rule.valid_to or until)
        days = (segment_end - day).days + 1
        annual = rule.decimal("reference_rate") + rule.decimal("margin")
        total += amount * annual / HUNDRED * days / DAYS_A_YEAR
        used.append(f"{rule.label}: {annual} % a year for {days} days")
        day = segment_end + timedelta(days=1)
    return cents(total), tuple(used)


def _require_issued(invoice: Invoice, invoice_id: UUID) -> EmployerInvoiced:
    if invoice.issued is None:
        raise NotFound(f"no invoice {invoice_id}")
    return invoice.issued
