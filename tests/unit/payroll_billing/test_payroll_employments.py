"""Employments and timesheets: which placements payroll takes on, and the checks of a timesheet."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from contracts.events.employer import PlacementEnded
from contracts.events.payroll_billing import AttendanceOpened, EmploymentOpened
from services.payroll_billing.domain.employment import (EMPLOYMENT, AgreeWageTerms, ApproveTimesheet, Employment,
                                                        agree_terms, approve, end, open_for)
from services.platform.errors import NotFound, RuleViolated
from services.platform.event_store import fold
from tests.unit.payroll_billing.builders import (CAFE, EMPLOYER, PLACEMENT, SHOP, TIMESHEET, opened, placement,
                                                 pooled, task)

MONDAY = date(2025, 2, 3)


def sheet(*days: tuple[date, str] | tuple[date, str, object], start: date = MONDAY,
          end: date = MONDAY + timedelta(days=27)) -> ApproveTimesheet:
    return ApproveTimesheet(period_start=start, period_end=end, days=[
        {"works_on": day[0], "hours": day[1], "task_id": day[2] if len(day) > 2 else None} for day in days])


def week(hours: str, days: int, first: date = MONDAY) -> list[tuple[date, str]]:
    return [(first + timedelta(days=n), hours) for n in range(days)]


# --- which placements open what --------------------------------------------------------------------

def test_gig_work_opens_an_employment_with_the_placements_rate_and_schedule():
    [event] = open_for(Employment(), placement(rate="14.20", days_per_week=3, hours_per_day="6"))
    assert isinstance(event, EmploymentOpened)
    assert (event.kind, event.hourly_billing_rate, event.days_per_week, event.hours_per_day, event.starts_on) == (
        "gig_work", Decimal("14.20"), 3, Decimal("6"), date(2025, 2, 3))


@pytest.mark.parametrize(("kind", "employer_type", "opens"), [
    ("pay_subsidised_work", "foundation", EmploymentOpened),  # a job the foundation hosts
    ("pay_subsidised_work", "company", None),  # the company employs; nothing for the foundation's payroll
    ("work_trial", "city_unit", AttendanceOpened),
    ("rehabilitative_work", "association", AttendanceOpened),
    ("open_market", "company", None),
    ("apprenticeship", "company", None),
])
def test_what_each_kind_of_placement_opens(kind, employer_type, opens):
    events = open_for(Employment(), placement(kind=kind, employer_type=employer_type))
    assert [type(event) for event in events] == ([opens] if opens else [])


def test_an_employment_is_opened_once():
    assert open_for(opened(), placement(rate="99.00")) == []


def test_a_work_trial_has_no_wage_terms():
    with pytest.raises(RuleViolated, match="expense allowance per day of attendance") as refused:
        agree_terms(opened(kind="work_trial", employer_type="city_unit"), PLACEMENT, AgreeWageTerms(
            hourly_wage=Decimal("12"), collective_agreement="x", hours_per_week=Decimal("20"), valid_from=MONDAY))
    assert refused.value.field == "hourly_wage"


# --- hours a day, days a week --------------------------------------------------------------------------

def test_a_timesheet_records_its_days_billed_to_the_placements_employer():
    [event] = approve(opened(), PLACEMENT, TIMESHEET, sheet(*week("7.5", 5)))
    assert event.hours == Decimal("37.5") and len(event.days) == 5
    assert {(day.employer_id, day.hourly_billing_rate) for day in event.days} == {(EMPLOYER, Decimal("24.50"))}


@pytest.mark.parametrize(("hours", "accepted"), [("8", True), ("8.25", False)])
def test_gig_work_at_most_8_hours_a_day(hours, accepted):
    state = opened()
    if accepted:
        assert approve(state, PLACEMENT, TIMESHEET, sheet((MONDAY, hours)))
    else:
        with pytest.raises(RuleViolated, match=r"8.25 h is more than 8 h a day \(gig_work_schedule \(Working Hours"):
            approve(state, PLACEMENT, TIMESHEET, sheet((MONDAY, hours)))


@pytest.mark.parametrize(("hours", "accepted"), [("4", True), ("3.75", False), ("8", True), ("8.5", False)])
def test_a_work_trial_day_is_4_to_8_hours(hours, accepted):
    state = opened(kind="work_trial", employer_type="city_unit")
    if accepted:
        [event] = approve(state, PLACEMENT, TIMESHEET, sheet((MONDAY, hours)))
        assert event.days[0].hourly_billing_rate == 0  # a work trial is not billed
    else:
        with pytest.raises(RuleViolated, match="work_trial_schedule"):
            approve(state, PLACEMENT, TIMESHEET, sheet((MONDAY, hours)))


@pytest.mark.parametrize(("days", "accepted"), [(4, True), (5, False)])
def test_rehabilitative_work_at_most_4_days_a_week(days, accepted):
    state = opened(kind="rehabilitative_work", employer_type="association")
    if accepted:
        assert approve(state, PLACEMENT, TIMESHEET, sheet(*week("6", days)))
    else:
        with pytest.raises(RuleViolated, match=r"week 6/2025: 5 days is more than 4 days a week \(rehabilitative"):
            approve(state, PLACEMENT, TIMESHEET, sheet(*week("6", days)))


def test_days_a_week_are_counted_per_calendar_week():
    """Four days at the end of one week and four at the start of the next: 8 days, 4 a week."""
    state = opened(kind="rehabilitative_work", employer_type="association")
    days = week("6", 4, MONDAY + timedelta(days=3)) + week("6", 4, MONDAY + timedelta(days=7))
    assert approve(state, PLACEMENT, TIMESHEET, sheet(*days))


def test_days_of_earlier_timesheets_in_the_same_week_count():
    """Rehabilitative work, at most 4 days a week: Monday to Wednesday approved, then Thursday and Friday."""
    state = opened(kind="rehabilitative_work", employer_type="association")
    first = sheet(*week("6", 3), end=MONDAY + timedelta(days=2))
    state = fold(EMPLOYMENT, approve(state, PLACEMENT, TIMESHEET, first), state)
    thursday, friday = MONDAY + timedelta(days=3), MONDAY + timedelta(days=4)
    assert approve(state, PLACEMENT, TIMESHEET, sheet((thursday, "6"), start=thursday, end=thursday))
    with pytest.raises(RuleViolated, match="week 6/2025: 5 days is more than 4 days a week"):
        approve(state, PLACEMENT, TIMESHEET, sheet((thursday, "6"), (friday, "6"), start=thursday, end=friday))


def test_the_placements_own_schedule_narrows_the_rule():
    state = opened(days_per_week=3, hours_per_day="6")
    with pytest.raises(RuleViolated, match=r"6.5 h is more than 6 h a day \(the placement's schedule\)"):
        approve(state, PLACEMENT, TIMESHEET, sheet((MONDAY, "6.5")))
    with pytest.raises(RuleViolated, match=r"4 days is more than 3 days a week \(the placement's schedule\)"):
        approve(state, PLACEMENT, TIMESHEET, sheet(*week("6", 4)))
    assert approve(state, PLACEMENT, TIMESHEET, sheet(*week("6", 3)))


def test_a_month_may_begin_before_the_placement_but_no_day_before_it():
    """The placement starts on Monday 3 February: February's timesheet may start on the 1st."""
    assert approve(opened(), PLACEMENT, TIMESHEET, sheet((MONDAY, "4"), start=MONDAY - timedelta(days=2)))
    with pytest.raises(RuleViolated, match="2025-02-02: the placement starts on 2025-02-03") as refused:
        approve(opened(), PLACEMENT, TIMESHEET, sheet((MONDAY - timedelta(days=1), "4"),
                                                      start=MONDAY - timedelta(days=2)))
    assert refused.value.field == "days"


@pytest.mark.parametrize(("start", "end"), [
    (MONDAY, MONDAY + timedelta(days=27)),  # the same timesheet sent again
    (MONDAY + timedelta(days=27), MONDAY + timedelta(days=40)),  # overlapping its last day
])
def test_hours_of_a_period_already_approved_are_refused(start, end):
    state = opened()
    state = fold(EMPLOYMENT, approve(state, PLACEMENT, TIMESHEET, sheet((MONDAY, "4"))), state)
    with pytest.raises(RuleViolated) as refused:
        approve(state, PLACEMENT, TIMESHEET, sheet((start, "4"), start=start, end=end))
    assert refused.value.field == "period_start" and "2025-02-03–2025-03-02" in str(refused.value)


def test_hours_of_an_unknown_employment_are_refused():
    with pytest.raises(NotFound, match=f"no employment {PLACEMENT}"):
        approve(Employment(), PLACEMENT, TIMESHEET, sheet((MONDAY, "4")))


@pytest.mark.parametrize(("days", "rule"), [
    ([{"works_on": "2025-01-31", "hours": "4"}], "outside the period"),
    ([{"works_on": "2025-02-03", "hours": "4"}, {"works_on": "2025-02-03", "hours": "2"}], "given twice"),
    ([{"works_on": "2025-02-03", "hours": "7.125"}], "decimal places"),
    ([{"works_on": "2025-02-03", "hours": "0"}], "greater than 0"),
    ([], "at least 1 item"),
])
def test_a_bad_timesheet_is_refused(days, rule):
    with pytest.raises(ValidationError, match=rule):
        ApproveTimesheet(period_start=MONDAY, period_end=MONDAY + timedelta(days=27), days=days)


# --- a pooled gig job: hours per task -------------------------------------------------------------------

SHOP_TASK, CAFE_TASK = task(SHOP, SHOP, MONDAY, "4", "26.00"), task(CAFE, CAFE, MONDAY, "3", "22.50")


def test_each_tasks_hours_are_billed_to_its_own_employer_at_its_rate():
    [event] = approve(pooled(SHOP_TASK, CAFE_TASK), PLACEMENT, TIMESHEET,
                      sheet((MONDAY, "4", SHOP), (MONDAY, "2.5", CAFE)))
    assert {(day.task_id, day.employer_id, day.hours, day.hourly_billing_rate) for day in event.days} == {
        (SHOP, SHOP, Decimal("4"), Decimal("26.00")), (CAFE, CAFE, Decimal("2.5"), Decimal("22.50"))}


@pytest.mark.parametrize(("day", "field", "rule"), [
    ((MONDAY, "4"), "days.0.task_id", "recorded per task"),
    ((MONDAY, "4", CAFE.__class__(int=99)), "days.0.task_id", "is not a task of this gig job"),
    ((MONDAY + timedelta(days=1), "3", CAFE), "days.0.works_on", "is on 2025-02-03"),
    ((MONDAY, "3.25", CAFE), "days.0.hours", "was pooled as 3 h"),
])
def test_a_pooled_jobs_day_must_match_a_task(day, field, rule):
    with pytest.raises(RuleViolated, match=rule) as refused:
        approve(pooled(SHOP_TASK, CAFE_TASK), PLACEMENT, TIMESHEET, sheet(day))
    assert refused.value.field == field


def test_the_tasks_of_one_day_together_keep_the_hours_a_day_rule():
    long_task = task(SHOP, SHOP, MONDAY, "6", "26.00")
    with pytest.raises(RuleViolated, match="9 h is more than 8 h a day"):
        approve(pooled(long_task, CAFE_TASK), PLACEMENT, TIMESHEET, sheet((MONDAY, "6", SHOP), (MONDAY, "3", CAFE)))


def test_no_day_after_the_placement_ended():
    state = opened()
    ended = PlacementEnded(placement_id=PLACEMENT, client_id=PLACEMENT, employer_id=EMPLOYER,
                           employer_type="foundation", kind="gig_work", ended_on=MONDAY + timedelta(days=9),
                           ending="completed")
    state = fold(EMPLOYMENT, end(state, ended), state)
    assert end(state, ended) == []
    assert approve(state, PLACEMENT, TIMESHEET, sheet((MONDAY + timedelta(days=9), "4")))
    with pytest.raises(RuleViolated, match="2025-02-13: the placement ended on 2025-02-12") as refused:
        approve(state, PLACEMENT, TIMESHEET, sheet((MONDAY + timedelta(days=10), "4")))
    assert refused.value.field == "days"
