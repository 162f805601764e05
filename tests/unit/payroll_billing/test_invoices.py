"""Invoices: lines, VAT by the rate table, references, credit notes, payments and reminders."""
from datetime import date
from decimal import Decimal
from itertools import cycle
from uuid import UUID

import pytest
from stdnum import iso11649

from services.payroll_billing.domain.invoice import (INVOICE as INVOICE_KIND, BillableDay, CreditInvoice,
                                                     InvoiceEmployer, NoteOverdue, SendReminder, credit, issue,
                                                     late_payment_interest, note_overdue, register_payment, remind)
from services.payroll_billing.domain.money import finnish_reference, normalised_reference, reference_base
from services.platform.errors import RuleViolated, StateConflict
from services.platform.event_store import fold
from tests.unit.payroll_billing.builders import CAFE, EMPLOYER, INVOICE, PLACEMENT, SHOP

AUGUST = InvoiceEmployer(employer_id=EMPLOYER, period_start=date(2024, 8, 1), period_end=date(2024, 9, 30),
                         issued_on=date(2024, 10, 1))


def day(works_on: date, hours: str, rate: str = "24.50", task: UUID | None = None) -> BillableDay:
    return BillableDay(PLACEMENT, task, works_on, Decimal(hours), Decimal(rate))


def issued(*days: BillableDay, exempt: bool = False, command: InvoiceEmployer = AUGUST):
    [event] = issue(INVOICE, command, exempt, list(days), date(2024, 10, 1))
    return event


def reference_by_hand(base: str) -> str:
    """The 7-3-1 rule written out independently: weights 7, 3, 1, … from the rightmost digit."""
    total = sum(int(digit) * weight for digit, weight in zip(reversed(base), cycle((7, 3, 1))))
    return base + str((total + 9) // 10 * 10 - total)


@pytest.mark.parametrize(("works_on", "percent", "vat"), [
    (date(2024, 8, 31), "24", "44.10"),  # 183.75 × 24 %
    (date(2024, 9, 1), "25.5", "46.86"),  # 183.75 × 25.5 % = 46.85625
])
def test_vat_follows_the_rate_in_force_on_the_day_of_the_work(works_on, percent, vat):
    event = issued(day(works_on, "7.5"))
    assert (event.amount, event.vat_amount, event.total) == (
        Decimal("183.75"), Decimal(vat), Decimal("183.75") + Decimal(vat))
    assert event.lines[0].vat_percent == Decimal(percent)


def test_a_period_across_the_change_has_a_line_per_rate():
    event = issued(day(date(2024, 8, 30), "7.5"), day(date(2024, 9, 2), "3", "31.00"))
    assert [(line.vat_percent, line.net, line.vat) for line in event.lines] == [
        (Decimal("24"), Decimal("183.75"), Decimal("44.10")), (Decimal("25.5"), Decimal("93.00"), Decimal("23.72"))]
    assert (event.amount, event.vat_amount, event.total) == (Decimal("276.75"), Decimal("67.82"), Decimal("344.57"))
    assert len(event.vat_rules) == 2 and all("Value Added Tax Act" in rule for rule in event.vat_rules)


def test_a_vat_exempt_employer_is_billed_without_vat():
    event = issued(day(date(2024, 9, 2), "7.5"), exempt=True)
    assert (event.vat_amount, event.total, event.lines[0].vat_percent) == (Decimal("0"), Decimal("183.75"), 0)
    assert event.vat_rules[0].startswith("vat_exempt")


def test_lines_per_task_and_rate():
    event = issued(day(date(2024, 9, 2), "4", "26.00", SHOP), day(date(2024, 9, 9), "4", "26.00", SHOP),
                   day(date(2024, 9, 3), "2.5", "22.50", CAFE))
    assert [(line.task_id, line.hours, line.net, line.period_start, line.period_end) for line in event.lines] == [
        (SHOP, Decimal("8"), Decimal("208.00"), date(2024, 9, 2), date(2024, 9, 9)),
        (CAFE, Decimal("2.5"), Decimal("56.25"), date(2024, 9, 3), date(2024, 9, 3))]


@pytest.mark.parametrize(("hours", "rate", "net"), [
    ("7.35", "19.99", "146.93"),  # 146.9265
    ("0.5", "0.01", "0.01"),  # 0.005: half up, not half to even
    ("2.5", "0.01", "0.03"),  # 0.025: half up, not half to even (0.02)
])
def test_a_lines_net_is_rounded_once_half_up(hours, rate, net):
    assert issued(day(date(2024, 9, 2), hours, rate)).amount == Decimal(net)


def test_nothing_to_invoice_is_refused():
    with pytest.raises(RuleViolated, match="no approved hours to invoice") as refused:
        issued(day(date(2024, 9, 2), "4", "0.00"))  # a work trial's day: never billed
    assert refused.value.field == "period_start"


def test_the_reference_and_its_rf_form():
    event = issued(day(date(2024, 9, 2), "4"))
    assert event.reference == reference_by_hand(event.reference[:-1]) == finnish_reference(reference_base(INVOICE))
    assert iso11649.is_valid(event.rf_reference) and event.rf_reference[4:] == event.reference
    assert normalised_reference(iso11649.format(event.rf_reference)) == event.reference
    assert normalised_reference("00" + event.reference) == event.reference  # banks drop leading zeros
    assert event.due_on == date(2024, 10, 15)


# --- credit notes, payments, reminders --------------------------------------------------------------

def invoice_state(*events):
    return fold(INVOICE_KIND, [issued(day(date(2024, 9, 2), "40", "25.00")), *events])  # 1000.00 + 255.00 VAT


def test_a_credit_note_credits_the_whole_invoice_once():
    state = invoice_state()
    [credited] = credit(state, INVOICE, UUID(int=50), CreditInvoice(reason="wrong_hours"), date(2024, 10, 3))
    assert (credited.amount, credited.vat_amount, credited.total) == (
        Decimal("1000.00"), Decimal("255.00"), Decimal("1255.00"))
    state = fold(INVOICE_KIND, [credited], state)
    assert state.open_amount == 0
    with pytest.raises(StateConflict, match="was credited"):
        credit(state, INVOICE, UUID(int=51), CreditInvoice(reason="other"), date(2024, 10, 3))


@pytest.mark.parametrize(("amounts", "status"), [
    (("1000.00",), "part_paid"), (("1255.00",), "paid"), (("1000.00", "255.00"), "paid"), (("1255.01",), "overpaid")])
def test_payments_part_pay_pay_or_overpay(amounts, status):
    state = invoice_state()
    for number, amount in enumerate(amounts):
        [event] = register_payment(state, INVOICE, UUID(int=60 + number), f"bank-{number}", Decimal(amount),
                                   date(2024, 10, 10))
        state = fold(INVOICE_KIND, [event], state)
    assert event.status == status


def test_the_same_bank_entry_counts_once():
    [paid] = register_payment(invoice_state(), INVOICE, UUID(int=60), "bank-1", Decimal("100"), date(2024, 10, 10))
    assert register_payment(invoice_state(paid), INVOICE, UUID(int=61), "bank-1", Decimal("100"),
                            date(2024, 10, 10)) == []


def test_late_payment_interest_by_hand():
    """1,000.00 due 20 June 2025: 10 days in June at 3.15 + 8 = 11.15 % (3.0548), 10 days in July at
    2.15 + 8 = 10.15 % (2.7808), actual/365: 5.8356 -> 5.84."""
    interest, rules = late_payment_interest(Decimal("1000.00"), date(2025, 6, 20), date(2025, 7, 10))
    assert interest == Decimal("5.84")
    assert rules[0].startswith("reference_rate_2025_h1") and "11.15 % a year for 10 days" in rules[0]
    assert "UNVERIFIED" in rules[1]  # the 2025 H2 rate is marked, visibly


@pytest.mark.parametrize(("sent_on", "accepted"), [(date(2024, 10, 28), False), (date(2024, 10, 29), True)])
def test_a_reminder_is_sent_14_days_after_the_due_date(sent_on, accepted):
    state = invoice_state()  # due 15 October 2024
    if not accepted:
        with pytest.raises(RuleViolated, match="sent from 2024-10-29") as refused:
            remind(state, INVOICE, UUID(int=70), SendReminder(sent_on=sent_on), sent_on)
        assert refused.value.field == "sent_on"
        return
    [reminder] = remind(state, INVOICE, UUID(int=70), SendReminder(sent_on=sent_on), sent_on)
    # 1,255.00 × 12.25 % (4.25 + 8) × 14 / 365 = 5.8966
    assert (reminder.open_amount, reminder.interest, reminder.fee) == (
        Decimal("1255.00"), Decimal("5.90"), Decimal("5.00"))


def test_a_paid_invoice_gets_no_reminder():
    [paid] = register_payment(invoice_state(), INVOICE, UUID(int=60), "bank-1", Decimal("1255.00"),
                              date(2024, 10, 10))
    with pytest.raises(RuleViolated, match="has nothing open"):
        remind(invoice_state(paid), INVOICE, UUID(int=70), SendReminder(sent_on=date(2024, 11, 1)), date(2024, 11, 1))


def test_an_invoice_is_overdue_from_the_day_after_its_due_date_and_noted_once():
    state = invoice_state()  # 1,255.00 due 15 October 2024
    with pytest.raises(RuleViolated, match="is not overdue on 2024-10-15: due 2024-10-15, 1255.00 open"):
        note_overdue(state, INVOICE, NoteOverdue(on=date(2024, 10, 15)))
    [event] = note_overdue(state, INVOICE, NoteOverdue(on=date(2024, 10, 16)))
    assert (event.open_amount, event.due_on, event.noted_on) == (
        Decimal("1255.00"), date(2024, 10, 15), date(2024, 10, 16))
    with pytest.raises(StateConflict, match="noted overdue on 2024-10-16"):
        note_overdue(fold(INVOICE_KIND, [event], state), INVOICE, NoteOverdue(on=date(2024, 10, 25)))


def test_a_paid_invoice_is_not_overdue():
    [paid] = register_payment(invoice_state(), INVOICE, UUID(int=60), "bank-1", Decimal("1255.00"),
                              date(2024, 10, 20))
    with pytest.raises(RuleViolated, match="0.00 open"):
        note_overdue(invoice_state(paid), INVOICE, NoteOverdue(on=date(2024, 10, 21)))


def test_the_payment_term_is_bounded():
    with pytest.raises(ValueError, match="payment_term_days"):
        InvoiceEmployer(employer_id=EMPLOYER, period_start=date(2024, 9, 1), period_end=date(2024, 9, 30),
                        payment_term_days=91)
