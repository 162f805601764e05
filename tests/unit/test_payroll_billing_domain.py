"""services/payroll_billing/domain.py: employments, approved hours, invoices and their references."""
from datetime import date
from decimal import Decimal
from itertools import cycle
from typing import Any
from uuid import UUID

import pytest
from pydantic import ValidationError

from contracts.events.employer import PlacementStarted
from contracts.events.payroll_billing import EmployerInvoiced, EmploymentOpened, TimesheetApproved
from services.payroll_billing.domain import (EMPLOYMENT, ApproveTimesheet, Employment, InvoiceEmployer, approve,
                                             evolve, finnish_reference, invoice, open_for, reference_base)
from services.platform.errors import NotFound, RuleViolated
from services.platform.event_store import fold

PLACEMENT, CLIENT, EMPLOYER, TIMESHEET, INVOICE = (UUID(int=n) for n in range(1, 6))
TODAY = date(2025, 3, 3)


def placement(rate: str = "12.50") -> PlacementStarted:
    return PlacementStarted(placement_id=PLACEMENT, client_id=CLIENT, employer_id=EMPLOYER, employer_type="company",
                            kind="gig_work", starts_on=date(2025, 2, 3), hourly_billing_rate=Decimal(rate))


def timesheet(hours: str, start: date = date(2025, 2, 1), end: date = date(2025, 2, 28)) -> ApproveTimesheet:
    return ApproveTimesheet(period_start=start, period_end=end, hours=Decimal(hours))


def employment(rate: str = "12.50", *hours: str) -> Employment:
    """An opened employment with a timesheet approved for each of `hours`, one month after another."""
    state = fold(EMPLOYMENT, open_for(Employment(), placement(rate)))
    for number, amount in enumerate(hours):
        year, month = 2024 + number // 12, number % 12 + 1
        sheet = timesheet(amount, date(year, month, 1), date(year, month, 28))
        state = fold(EMPLOYMENT, approve(state, PLACEMENT, UUID(int=100 + number), sheet), state)
    return state


def invoice_of(state: Employment, **command: Any) -> EmployerInvoiced:
    [event] = invoice(state, PLACEMENT, INVOICE, InvoiceEmployer(**command), TODAY)
    return event


def reference_by_hand(base: str) -> str:
    """The 7-3-1 rule written out independently: weights 7, 3, 1, 7, 3, 1, … from the rightmost digit;
    the check digit takes the weighted sum up to the next multiple of ten."""
    total = sum(int(digit) * weight for digit, weight in zip(reversed(base), cycle((7, 3, 1))))
    next_ten = (total + 9) // 10 * 10
    return base + str(next_ten - total)


def is_valid_reference(reference: str) -> bool:
    return reference.isdigit() and 4 <= len(reference) <= 20 and reference_by_hand(reference[:-1]) == reference


# --- employments ---------------------------------------------------------------------------------------

def test_a_placement_opens_an_employment_with_its_rate():
    assert open_for(Employment(), placement("14.20")) == [EmploymentOpened(
        employment_id=PLACEMENT, placement_id=PLACEMENT, client_id=CLIENT, employer_id=EMPLOYER,
        hourly_billing_rate=Decimal("14.20"))]


def test_an_employment_is_opened_once():
    """PlacementStarted may be delivered again."""
    assert open_for(employment(), placement("99.00")) == []


# --- timesheets -----------------------------------------------------------------------------------------

def test_approving_a_timesheet():
    [event] = approve(employment(), PLACEMENT, TIMESHEET, timesheet("37.5"))
    assert event == TimesheetApproved(employment_id=PLACEMENT, timesheet_id=TIMESHEET, period_start=date(2025, 2, 1),
                                      period_end=date(2025, 2, 28), hours=Decimal("37.5"))


def test_approved_hours_add_up_exactly():
    state = employment("12.50", "0.1", "0.2", "37.35")
    assert state.approved_hours == Decimal("37.65")
    assert str(state.approved_hours) == "37.65"
    assert state.invoiced_hours == 0 and state.invoices == 0


@pytest.mark.parametrize(("start", "end"), [
    (date(2024, 1, 1), date(2024, 1, 28)),  # the same timesheet sent again
    (date(2024, 1, 28), date(2024, 2, 5)),  # overlapping its last day
    (date(2023, 12, 1), date(2024, 1, 1)),  # overlapping its first day
])
def test_hours_for_a_period_already_approved_are_refused(start, end):
    with pytest.raises(RuleViolated) as refused:
        approve(employment("12.50", "10"), PLACEMENT, TIMESHEET, timesheet("8", start, end))
    assert refused.value.field == "period_start" and "2024-01-01–2024-01-28" in str(refused.value)


def test_the_next_period_is_accepted():
    next_month = timesheet("8", date(2024, 1, 29), date(2024, 2, 28))
    [event] = approve(employment("12.50", "10"), PLACEMENT, TIMESHEET, next_month)
    assert event.hours == Decimal("8")


def test_hours_of_an_unknown_employment_are_refused():
    with pytest.raises(NotFound, match=f"no employment {PLACEMENT}"):
        approve(Employment(), PLACEMENT, TIMESHEET, timesheet("8"))


@pytest.mark.parametrize(("start", "end", "hours", "field", "rule"), [
    (date(2025, 2, 28), date(2025, 2, 1), "8", None, "period_end must not be before period_start"),
    (date(2025, 2, 1), date(2025, 2, 28), "0", "hours", "greater than 0"),
    (date(2025, 2, 1), date(2025, 2, 28), "744.01", "hours", "less than or equal to 744"),
    (date(2025, 2, 1), date(2025, 2, 28), "7.125", "hours", "decimal places"),
])
def test_a_bad_timesheet_is_refused(start, end, hours, field, rule):
    with pytest.raises(ValidationError) as caught:
        ApproveTimesheet(period_start=start, period_end=end, hours=Decimal(hours))
    [error] = caught.value.errors()
    assert error["loc"] == ((field,) if field else ())
    assert rule in error["msg"]


def test_a_one_day_timesheet_is_allowed():
    assert timesheet("7.5", date(2025, 2, 3), date(2025, 2, 3)).hours == Decimal("7.5")


# --- invoices -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("hours", "rate", "amount"), [
    (("112.5",), "12.50", "1406.25"),
    (("0.1", "0.2"), "10.00", "3.00"),  # 0.1 + 0.2 as floats is 0.30000000000000004
    (("7.35",), "19.99", "146.93"),  # 146.9265
    (("0.5",), "0.01", "0.01"),  # 0.005: half up, not half to even
    (("2.5",), "0.01", "0.03"),  # 0.025: half up, not half to even (0.02)
    (("744", "744"), "33.33", "49595.04"),
])
def test_the_amount_is_hours_times_rate_in_decimal(hours, rate, amount):
    event = invoice_of(employment(rate, *hours))
    assert event.hours == sum((Decimal(h) for h in hours), Decimal(0))
    assert event.amount == Decimal(amount)
    assert event.model_dump(mode="json")["amount"] == amount


def test_an_invoice_bills_the_approved_hours_at_the_placement_rate():
    event = invoice_of(employment("12.50", "112.5"), issued_on=date(2025, 3, 1))
    assert event == EmployerInvoiced(
        employment_id=PLACEMENT, invoice_id=INVOICE, employer_id=EMPLOYER, hours=Decimal("112.5"),
        amount=Decimal("1406.25"), reference=event.reference, issued_on=date(2025, 3, 1), due_on=date(2025, 3, 15))
    assert is_valid_reference(event.reference)


def test_more_than_a_month_of_hours_can_be_invoiced_at_once():
    """Three monthly timesheets of 300 h: the invoice holds 900 h, over one timesheet's 744 h cap."""
    event = invoice_of(employment("12.50", "300", "300", "300"))
    assert (event.hours, event.amount) == (Decimal("900"), Decimal("11250.00"))


def test_each_invoice_bills_only_hours_not_billed_before():
    state = employment("20.00", "10", "5.5")
    first = invoice_of(state)
    state = fold(EMPLOYMENT, [first], state)
    assert (state.invoiced_hours, state.invoices) == (Decimal("15.5"), 1)
    state = fold(EMPLOYMENT, approve(state, PLACEMENT, TIMESHEET, timesheet("2.25")), state)
    second = invoice_of(state)
    assert (second.hours, second.amount) == (Decimal("2.25"), Decimal("45.00"))
    assert (first.hours, first.amount) == (Decimal("15.5"), Decimal("310.00"))
    assert fold(EMPLOYMENT, [second], state).invoices == 2


def test_invoicing_without_approved_hours_is_refused_naming_hours():
    with pytest.raises(RuleViolated) as caught:
        invoice_of(employment())
    assert caught.value.field == "hours"
    assert caught.value.rule == f"employment {PLACEMENT} has no approved hours left to invoice"
    assert str(caught.value) == f"hours: employment {PLACEMENT} has no approved hours left to invoice"


def test_invoicing_again_after_everything_was_billed_is_refused():
    state = employment("12.50", "8")
    state = fold(EMPLOYMENT, [invoice_of(state)], state)
    with pytest.raises(RuleViolated, match="no approved hours left"):
        invoice_of(state)


def test_an_unknown_employment_cannot_be_invoiced():
    with pytest.raises(NotFound, match=f"no employment {PLACEMENT}"):
        invoice_of(Employment())


def test_the_due_date_follows_the_payment_term():
    state = employment("12.50", "8")
    assert (invoice_of(state).issued_on, invoice_of(state).due_on) == (TODAY, date(2025, 3, 17))
    assert invoice_of(state, issued_on=date(2025, 12, 20), payment_term_days=30).due_on == date(2026, 1, 19)
    assert invoice_of(state, payment_term_days=0).due_on == TODAY


@pytest.mark.parametrize("days", [-1, 91])
def test_the_payment_term_is_bounded(days):
    with pytest.raises(ValidationError) as caught:
        InvoiceEmployer(payment_term_days=days)
    assert [error["loc"] for error in caught.value.errors()] == [("payment_term_days",)]


# --- invoice references (viitenumero) -------------------------------------------------------------------

@pytest.mark.parametrize(("base", "reference"), [
    # worked by hand, weights from the right:
    ("123", "1232"),  # 3*7 + 2*3 + 1*1 = 28 -> 30 - 28 = 2
    ("1234567", "12345672"),  # 7*7 + 6*3 + 5*1 + 4*7 + 3*3 + 2*1 + 1*7 = 118 -> 2
    ("55", "550"),  # 5*7 + 5*3 = 50, a multiple of ten -> 0
    ("100000008", "1000000083"),  # 8*7 + 1*1 = 57 -> 3
    ("999999999", "9999999993"),  # 9 * (7+3+1) * 3 = 297 -> 3
])
def test_finnish_reference_check_digit(base, reference):
    assert finnish_reference(base) == reference
    assert reference_by_hand(base) == reference


@pytest.mark.parametrize("invoice_id", [UUID(int=0), UUID(int=5), UUID(int=899_999_999), UUID(int=900_000_000),
                                        UUID("6f1c1b9e-3f0a-4f7e-9d59-2c1e4b1a8d10"), UUID(int=2**128 - 1)])
def test_an_invoice_reference_is_ten_valid_digits_without_a_leading_zero(invoice_id):
    """Banks drop leading zeros of a reference; a zero-led one would not match the payment."""
    [event] = invoice(employment("12.50", "8"), PLACEMENT, invoice_id, InvoiceEmployer(), TODAY)
    assert len(event.reference) == 10
    assert event.reference[0] != "0"
    assert is_valid_reference(event.reference)
    assert event.reference == finnish_reference(reference_base(invoice_id))


def test_the_reference_follows_from_the_invoice_id():
    assert reference_base(UUID(int=0)) == "100000000"
    assert reference_base(UUID(int=5)) == "100000005"
    assert reference_base(UUID(int=899_999_999)) == "999999999"
    assert reference_base(UUID(int=900_000_000)) == "100000000"
    state = employment("12.50", "8")
    # INVOICE is UUID(int=5): base 100000005, 5*7 + 1*1 = 36 -> check digit 4
    assert invoice_of(state).reference == invoice_of(state).reference == "1000000054"


def test_evolve_ignores_events_of_other_aggregates():
    state = employment()
    assert evolve(state, placement()) is state
