"""Payroll runs: a worked example per kind of employment, each checked against figures computed by
hand here; the Annual Holidays Act's boundaries; totals and correcting runs."""
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

import pytest
from pydantic import ValidationError

from services.payroll_billing.domain.payroll_run import (PayrollFacts, StartPayrollRun, close, paid, payroll_line,
                                                         refuse_second_run)
from services.platform.errors import RuleViolated, StateConflict
from tests.unit.payroll_billing.builders import CLIENT, PLACEMENT, RUN

FEBRUARY = StartPayrollRun(pay_period="month", period_start=date(2025, 2, 1), period_end=date(2025, 2, 28))


def wage(hourly: str, starts_on: date = date(2025, 1, 1)) -> PayrollFacts:
    return PayrollFacts(PLACEMENT, CLIENT, True, starts_on, ((date(2025, 1, 1), Decimal(hourly)),))


def days(count: int, hours: str, first: date = date(2025, 2, 3)) -> list[tuple[date, Decimal]]:
    return [(first + timedelta(days=n), Decimal(hours)) for n in range(count)]


def test_gig_work_a_short_month_with_holiday_compensation():
    """30 h on 5 days at 12.00 €/h in February 2025: fewer than 14 days and 35 hours, so 9 % holiday
    compensation. Contributions 2025 on 360.00 + 32.40 = 392.40: pension 17.39 % = 68.2384,
    unemployment 0.20 % = 0.7848, accident 0.70 % = 2.7468, health 1.16 % = 4.55184."""
    line = payroll_line(wage("12.00"), days(5, "6"), date(2025, 2, 28))
    assert (line.hours, line.gross_wage, line.holiday_compensation, line.expense_allowance) == (
        Decimal("30"), Decimal("360.00"), Decimal("32.40"), Decimal("0"))
    assert (line.pension, line.unemployment_insurance, line.accident_insurance, line.health_insurance) == (
        Decimal("68.24"), Decimal("0.78"), Decimal("2.75"), Decimal("4.55"))
    assert line.employer_contributions == Decimal("76.32")
    assert any("UNVERIFIED" in rule for rule in line.rules)  # the 2025 rates are marked so, visibly
    assert any(rule.startswith("holiday_compensation_2005") and rule.endswith(": 9 %") for rule in line.rules)


def test_pay_subsidised_work_a_full_month_accrues_holidays_instead():
    """160 h on 20 days at 13.50 €/h: 2,160.00; a full holiday credit month, no compensation.
    Pension 17.39 % = 375.624, unemployment 0.20 % = 4.32, accident 0.70 % = 15.12, health 1.16 % = 25.056."""
    line = payroll_line(wage("13.50"), days(20, "8"), date(2025, 2, 28))
    assert (line.gross_wage, line.holiday_compensation) == (Decimal("2160.00"), Decimal("0"))
    assert (line.pension, line.unemployment_insurance, line.accident_insurance, line.health_insurance) == (
        Decimal("375.62"), Decimal("4.32"), Decimal("15.12"), Decimal("25.06"))


@pytest.mark.parametrize(("kind_days", "allowance"), [(3, "27.00"), (16, "144.00")])
def test_work_trial_and_rehabilitative_work_earn_9_euros_a_day_of_attendance(kind_days, allowance):
    line = payroll_line(PayrollFacts(PLACEMENT, CLIENT, False, date(2025, 1, 1)), days(kind_days, "6"),
                        date(2025, 2, 28))
    assert (line.attendance_days, line.expense_allowance, line.gross_wage, line.employer_contributions) == (
        kind_days, Decimal(allowance), 0, 0)


@pytest.mark.parametrize(("count", "hours", "compensation"), [
    (13, "2.5", "2.93"),  # 13 days, 32.5 h at 1.00 €/h: 32.50 × 9 % = 2.925, half up
    (14, "2", "0"),  # 14 days: a full holiday credit month
    (7, "4.99", "3.14"),  # 34.93 h on 7 days: 34.93 × 9 % = 3.1437
    (7, "5", "0"),  # 35 h on fewer than 14 days: a full month too
])
def test_the_14_day_and_35_hour_rules(count, hours, compensation):
    line = payroll_line(wage("1.00"), days(count, hours), date(2025, 2, 28))
    assert line.holiday_compensation == Decimal(compensation)


@pytest.mark.parametrize(("starts_on", "percent"), [(date(2024, 2, 21), "11.5"), (date(2024, 2, 22), "9")])
def test_holiday_compensation_is_11_5_percent_once_the_employment_has_lasted_a_year(starts_on, percent):
    """The last day worked is 21 February 2025; 20 h at 10.00 €/h is 200.00."""
    line = payroll_line(wage("10.00", starts_on), days(5, "4", date(2025, 2, 17)), date(2025, 2, 28))
    assert line.holiday_compensation == Decimal(200) * Decimal(percent) / 100


def test_a_year_without_contribution_rates_is_refused_naming_the_table():
    with pytest.raises(RuleViolated, match="no employer_contributions rule is in force on 2027-01-31"):
        payroll_line(wage("10.00"), days(1, "4", date(2027, 1, 4)), date(2027, 1, 31))


def test_an_employment_without_wage_terms_cannot_be_paid():
    with pytest.raises(RuleViolated, match="has no wage terms in force on 2025-02-03"):
        payroll_line(PayrollFacts(PLACEMENT, CLIENT, True, None), days(1, "4"), date(2025, 2, 28))


def test_each_day_is_paid_at_the_wage_in_force_on_it():
    """A raise from 12.00 to 12.50 €/h on Thursday 6 February: 3 days × 6 h at 12.00 = 216.00 and
    2 days × 6 h at 12.50 = 150.00; gross 366.00, holiday compensation 9 % = 32.94 (30 h on 5 days)."""
    raised = PayrollFacts(PLACEMENT, CLIENT, True, date(2025, 1, 1), (
        (date(2025, 1, 1), Decimal("12.00")), (date(2025, 2, 6), Decimal("12.50"))))
    line = payroll_line(raised, days(5, "6"), date(2025, 2, 28))
    assert (line.gross_wage, line.holiday_compensation) == (Decimal("366.00"), Decimal("32.94"))
    with pytest.raises(RuleViolated, match="no wage terms in force on 2024-12-31"):
        payroll_line(raised, days(1, "6", date(2024, 12, 31)), date(2025, 1, 31))


def test_the_run_closes_with_totals_only():
    lines = [payroll_line(wage("12.00"), days(5, "6"), date(2025, 2, 28)),
             payroll_line(PayrollFacts(UUID(int=77), UUID(int=78), False, None), days(3, "6"),
                          date(2025, 2, 28))]
    [event], kept = close(RUN, FEBRUARY, lines, None)
    assert (event.employments, event.gross_wages, event.holiday_compensation, event.expense_allowances,
            event.employer_contributions) == (2, Decimal("360.00"), Decimal("32.40"), Decimal("27.00"),
                                              Decimal("76.32"))
    assert kept == lines
    assert "client_id" not in event.model_dump() and "hourly_wage" not in str(event.model_dump())


def test_a_correcting_run_holds_the_differences():
    before = [payroll_line(wage("12.00"), days(5, "6"), date(2025, 2, 28))]
    [closed], _ = close(RUN, FEBRUARY, before, None)
    after = [payroll_line(wage("12.00"), days(6, "5.5"), date(2025, 2, 28))]  # corrected: 6 days of 5.5 h
    correcting = FEBRUARY.model_copy(update={"corrects_run_id": RUN})
    [event], lines = close(UUID(int=99), correcting, after, closed, before)
    # 33 h × 12.00 = 396.00 (holiday 9 %: 35.64) against 360.00 (32.40): +36.00 and +3.24.
    assert (event.corrects_run_id, event.gross_wages, event.holiday_compensation) == (
        RUN, Decimal("36.00"), Decimal("3.24"))
    assert lines[0].hours == Decimal("3")


def test_a_correction_that_crosses_35_hours_takes_the_compensation_back():
    """36 h is a full holiday credit month: the correcting run takes back the 32.40 paid."""
    before = [payroll_line(wage("12.00"), days(5, "6"), date(2025, 2, 28))]
    [closed], _ = close(RUN, FEBRUARY, before, None)
    after = [payroll_line(wage("12.00"), days(6, "6"), date(2025, 2, 28))]
    [event], _ = close(UUID(int=99), FEBRUARY.model_copy(update={"corrects_run_id": RUN}), after, closed, before)
    assert (event.gross_wages, event.holiday_compensation) == (Decimal("72.00"), Decimal("-32.40"))


def test_a_correcting_run_is_for_the_same_pay_period():
    [closed], _ = close(RUN, FEBRUARY, [], None)
    march = StartPayrollRun(pay_period="month", period_start=date(2025, 3, 1), period_end=date(2025, 3, 31),
                            corrects_run_id=RUN)
    with pytest.raises(RuleViolated, match="the corrected run's pay period"):
        close(UUID(int=99), march, [], closed, [])


def test_a_closed_run_is_not_run_again():
    with pytest.raises(StateConflict, match="correct it with a correcting run"):
        refuse_second_run(RUN, FEBRUARY)
    refuse_second_run(RUN, FEBRUARY.model_copy(update={"corrects_run_id": RUN}))


@pytest.mark.parametrize(("period", "start", "end"), [
    ("month", date(2025, 2, 2), date(2025, 2, 28)),
    ("month", date(2025, 2, 1), date(2025, 2, 27)),
    ("two_weeks", date(2025, 2, 3), date(2025, 2, 17)),
])
def test_a_run_covers_exactly_its_pay_period(period, start, end):
    with pytest.raises(ValidationError, match="run is for"):
        StartPayrollRun(pay_period=period, period_start=start, period_end=end)
    assert StartPayrollRun(pay_period="two_weeks", period_start=date(2025, 2, 3), period_end=date(2025, 2, 16))


def test_a_second_correction_corrects_what_the_run_and_the_first_correction_paid():
    """5 × 6 h paid, corrected to 6 × 5.5 h (+36.00), then to 6 × 5 h: 360.00 against 396.00 paid, -36.00."""
    original = [payroll_line(wage("12.00"), days(5, "6"), date(2025, 2, 28))]
    [closed], _ = close(RUN, FEBRUARY, original, None)
    correcting = FEBRUARY.model_copy(update={"corrects_run_id": RUN})
    [first], first_lines = close(UUID(int=98), correcting, [payroll_line(wage("12.00"), days(6, "5.5"),
                                                                         date(2025, 2, 28))], closed, original)
    [second], _ = close(UUID(int=99), correcting, [payroll_line(wage("12.00"), days(6, "5"), date(2025, 2, 28))],
                        closed, paid(original + first_lines))
    assert (first.gross_wages, second.gross_wages) == (Decimal("36.00"), Decimal("-36.00"))
