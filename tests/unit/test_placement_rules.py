"""services/employer/domain/placements.py with placement_rules.py: every rule at its boundaries."""
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.events.employer import PlacementEnded, PlacementExtended, PlacementStarted, Schedule
from services.employer.domain import placements
from services.employer.domain.placement_rules import PLACEMENT_RULES, rule_for
from services.employer.domain.placements import (PLACEMENT, EndPlacement, ExtendPlacement, Placement, Span, months,
                                                 start)
from services.platform.errors import RuleViolated, StateConflict
from services.platform.event_store import fold
from tests.unit.employer_fixtures import CLIENT, EMPLOYER_ID, PLACEMENT_ID, enrolled, placement_command, registered

STARTS = date(2025, 2, 3)


def refusal(command, employer=None, client=None, earlier=()) -> RuleViolated:
    with pytest.raises(RuleViolated) as caught:
        start(PLACEMENT_ID, command, employer or registered(), client or enrolled(), list(earlier))
    return caught.value


def started(command, employer=None, earlier=()) -> Placement:
    return fold(PLACEMENT, start(PLACEMENT_ID, command, employer or registered(), enrolled(), list(earlier)))


def last_day_for(month_count: Decimal, first_day: date = STARTS) -> date:
    """The last day of the longest period within `month_count` months (a month is 365/12 days)."""
    return first_day + timedelta(days=int(month_count * Decimal(365) / 12) - 1)


def test_a_work_trial_starts_with_everything_it_carries():
    [event] = start(PLACEMENT_ID, placement_command(pay_subsidy_decision=None), registered(), enrolled(), [])
    assert event == PlacementStarted(
        placement_id=PLACEMENT_ID, client_id=CLIENT, employer_id=EMPLOYER_ID, employer_type="city_unit",
        kind="work_trial", starts_on=STARTS, planned_end_on=date(2025, 5, 2), hourly_billing_rate=Decimal("0.00"),
        schedule=Schedule(days_per_week=5, hours_per_day=Decimal(6), hours_per_week=Decimal(30)))


# --- the client -----------------------------------------------------------------------------------

def test_the_client_must_be_known_enrolled_of_the_area_and_not_exited():
    assert "not a client of employment area kemi" in refusal(placement_command(), client=enrolled(area="tornio")).rule
    assert refusal(placement_command(), client=enrolled(enrolled=False)).rule.endswith("is not enrolled")
    assert "has left the services" in refusal(placement_command(), client=enrolled(exited=True)).rule
    with pytest.raises(RuleViolated, match="client_id: client .* is not a client"):
        start(PLACEMENT_ID, placement_command(), registered(), None, [])


# --- agreements -----------------------------------------------------------------------------------

def test_a_kind_outside_every_valid_agreement_is_refused():
    error = refusal(placement_command(), employer=registered(scope=("gig_work",)))
    assert error.field == "kind" and "no partnership agreement covering work_trial on 2025-02-03" in error.rule
    expired = registered(scope=("work_trial",), valid=(date(2024, 1, 1), STARTS - timedelta(days=1)))
    assert refusal(placement_command(), employer=expired).field == "kind"
    assert started(placement_command(), employer=registered(scope=("work_trial",), valid=(STARTS, STARTS))).started


def test_an_open_market_hire_needs_no_agreement():
    hire = placement_command(kind="open_market", planned_end_on=None,
                             schedule={"hours_per_week": "37.5"})
    assert started(hire, employer=registered(scope=())).started.kind == "open_market"


# --- work trial: 5 days a week, 4-8 hours a day, 6 months with one employer, 12 in total ---------------

@pytest.mark.parametrize(("days", "hours", "refused_field"), [
    (5, "4", None), (5, "8", None), (1, "4", None),
    (6, "6", "schedule.days_per_week"), (5, "3.99", "schedule.hours_per_day"), (5, "8.01", "schedule.hours_per_day"),
])
def test_a_work_trial_schedule(days, hours, refused_field):
    command = placement_command(schedule={"days_per_week": days, "hours_per_day": hours, "hours_per_week": "20"})
    if refused_field is None:
        assert started(command).started
    else:
        error = refusal(command)
        assert error.field == refused_field and "work trial (työkokeilu)" in error.rule


def test_a_work_trial_needs_days_and_hours_a_day():
    error = refusal(placement_command(schedule={"hours_per_week": "20"}))
    assert error.field == "schedule.days_per_week" and error.rule.startswith("required: 1-5 days a week")


def test_a_work_trial_at_most_six_months_with_one_employer():
    assert started(placement_command(planned_end_on=last_day_for(Decimal(6)))).started
    error = refusal(placement_command(planned_end_on=last_day_for(Decimal(6)) + timedelta(days=1)))
    assert error.field == "planned_end_on" and "at most 6 months with the same employer" in error.rule


def days_from(first_day: date, days: int) -> date:
    return first_day + timedelta(days=days - 1)


def test_earlier_trials_with_the_same_employer_count_towards_six_months():
    """6 months are 182.5 days: 120 days before and 62 now make 182, 63 would make 183."""
    earlier = [Span(UUID(int=50), EMPLOYER_ID, "work_trial", date(2024, 1, 1), days_from(date(2024, 1, 1), 120))]
    assert started(placement_command(planned_end_on=days_from(STARTS, 62)), earlier=earlier).started
    assert refusal(placement_command(planned_end_on=days_from(STARTS, 63)), earlier=earlier).field == "planned_end_on"
    with_another = [Span(UUID(int=50), UUID(int=77), "work_trial", date(2024, 1, 1), days_from(date(2024, 1, 1), 120))]
    assert started(placement_command(planned_end_on=days_from(STARTS, 182)), earlier=with_another).started


def test_work_trials_at_most_twelve_months_in_total():
    """12 months are 365 days: three earlier trials of 100 days elsewhere leave 65."""
    earlier = [Span(UUID(int=50 + n), UUID(int=70 + n), "work_trial", date(2023, 1, 1), days_from(date(2023, 1, 1), 100))
               for n in range(3)]
    assert started(placement_command(planned_end_on=days_from(STARTS, 65)), earlier=earlier).started
    error = refusal(placement_command(planned_end_on=days_from(STARTS, 66)), earlier=earlier)
    assert "at most 12 months in total" in error.rule
    other_kinds = [Span(UUID(int=60), UUID(int=80), "rehabilitative_work", date(2023, 1, 1), date(2024, 12, 31))]
    assert started(placement_command(planned_end_on=days_from(STARTS, 182)), earlier=other_kinds).started


def test_a_work_trial_has_a_planned_end():
    error = refusal(placement_command(planned_end_on=None))
    assert error.field == "planned_end_on" and error.rule.startswith("required")


# --- rehabilitative work: 1-4 days a week, 4-8 h a day, 3-24 months, never at a company -------------

def rehabilitation(**overrides):
    fields = dict(kind="rehabilitative_work", planned_end_on=last_day_for(Decimal(6)),
                  schedule={"days_per_week": 3, "hours_per_day": "5", "hours_per_week": "15"})
    return placement_command(**(fields | overrides))


@pytest.mark.parametrize(("days", "refused"), [(1, False), (4, False), (5, True)])
def test_rehabilitative_work_days_a_week(days, refused):
    command = rehabilitation(schedule={"days_per_week": days, "hours_per_day": "4", "hours_per_week": "16"})
    if refused:
        assert refusal(command).field == "schedule.days_per_week"
    else:
        assert started(command).started


@pytest.mark.parametrize(("days", "refused"), [(92, False), (91, True), (730, False), (731, True)])
def test_rehabilitative_work_periods_of_three_to_twenty_four_months(days, refused):
    """3 months are 91.25 days, 24 months 730."""
    command = rehabilitation(planned_end_on=days_from(STARTS, days))
    if refused:
        error = refusal(command)
        assert error.field == "planned_end_on" and "a period of 3-24 months" in error.rule
    else:
        assert started(command).started


def test_rehabilitative_work_is_never_at_a_company():
    error = refusal(rehabilitation(), employer=registered(employer_type="company"))
    assert error.field == "employer_id" and "never hosted by a company" in error.rule and "Act 189/2001" in error.rule
    assert started(rehabilitation(), employer=registered(employer_type="association")).started


# --- apprenticeship and pay subsidised work ----------------------------------------------------------

@pytest.mark.parametrize(("hours", "refused"), [("25", False), ("24.99", True)])
def test_an_apprenticeship_at_least_25_hours_a_week(hours, refused):
    command = placement_command(kind="apprenticeship", schedule={"hours_per_week": hours})
    if refused:
        assert refusal(command).field == "schedule.hours_per_week"
    else:
        assert started(command).started


def test_pay_subsidised_work_carries_the_subsidy_decision():
    command = placement_command(kind="pay_subsidised_work", schedule={"hours_per_week": "30"})
    assert refusal(command).field == "pay_subsidy_decision"
    decided = command.model_copy(update={"pay_subsidy_decision": "PT-2025-0042"})
    assert started(decided).started.pay_subsidy_decision == "PT-2025-0042"


def test_no_rule_in_force_is_a_refusal_naming_the_date():
    command = placement_command(kind="pay_subsidised_work", starts_on=date(2023, 6, 30), planned_end_on=None,
                                schedule={"hours_per_week": "30"}, pay_subsidy_decision="PT-1")
    assert refusal(command).rule == "no rule for a placement of kind pay_subsidised_work is in force on 2023-06-30"


def test_gig_work_is_started_by_pooling_only():
    error = refusal(placement_command(kind="gig_work", schedule={"hours_per_week": "20"}))
    assert error.field == "kind" and "pooling gig tasks" in error.rule


def test_every_kind_has_a_rule_with_a_source():
    for kind in ("work_trial", "rehabilitative_work", "pay_subsidised_work", "gig_work", "apprenticeship",
                 "open_market"):
        rule = rule_for(kind, date(2025, 1, 1))
        assert rule.source and rule.valid_from <= date(2025, 1, 1)
    assert all(rule.source for rule in PLACEMENT_RULES)


@given(st.integers(min_value=1, max_value=400), st.integers(min_value=1, max_value=400))
def test_earlier_and_new_trials_add_up_to_twelve_months_exactly(earlier_days, new_days):
    """12 months are 365 days, however the days are split between trials with other employers."""
    earlier = [Span(UUID(int=50), UUID(int=77), "work_trial", date(2023, 1, 1), days_from(date(2023, 1, 1),
                                                                                         earlier_days))]
    command = placement_command(planned_end_on=days_from(STARTS, new_days))
    if new_days * 12 > 6 * 365 or earlier_days + new_days > 365:
        with pytest.raises(RuleViolated):
            start(PLACEMENT_ID, command, registered(), enrolled(), earlier)
    else:
        assert start(PLACEMENT_ID, command, registered(), enrolled(), earlier)
    assert months(365) == 12


# --- extension and end ------------------------------------------------------------------------------

def test_an_extension_is_checked_against_the_month_limits_again():
    placement = started(placement_command(planned_end_on=last_day_for(Decimal(5))))
    [event] = placements.extend(placement, ExtendPlacement(planned_end_on=last_day_for(Decimal(6))), [])
    assert event == PlacementExtended(placement_id=PLACEMENT_ID, client_id=CLIENT,
                                      planned_end_on=last_day_for(Decimal(6)))
    with pytest.raises(RuleViolated, match="at most 6 months with the same employer"):
        placements.extend(placement, ExtendPlacement(planned_end_on=last_day_for(Decimal(6)) + timedelta(days=1)), [])
    with pytest.raises(RuleViolated, match="ends after the planned end"):
        placements.extend(placement, ExtendPlacement(planned_end_on=last_day_for(Decimal(5))), [])


def test_a_placement_ends_once_with_how_it_ended():
    placement = started(placement_command())
    events = placements.end(placement, EndPlacement(ended_on=date(2025, 4, 1), ending="hired_by_employer"))
    assert events == [PlacementEnded(placement_id=PLACEMENT_ID, client_id=CLIENT, employer_id=EMPLOYER_ID,
                                     employer_type="city_unit", kind="work_trial", ended_on=date(2025, 4, 1),
                                     ending="hired_by_employer")]
    ended = fold(PLACEMENT, events, placement)
    assert ended.span.last_day == date(2025, 4, 1)
    with pytest.raises(StateConflict, match="ended on 2025-04-01"):
        placements.end(ended, EndPlacement(ended_on=date(2025, 4, 2), ending="other"))
    with pytest.raises(StateConflict):
        placements.extend(ended, ExtendPlacement(planned_end_on=date(2025, 6, 1)), [])
    with pytest.raises(RuleViolated, match="ended_on: must not be before the start"):
        placements.end(placement, EndPlacement(ended_on=STARTS - timedelta(days=1), ending="other"))


@pytest.mark.parametrize(("fields", "field"), [
    ({"planned_end_on": "2025-02-02"}, "planned_end_on"),
    ({"kind": "volunteering"}, "kind"),
    ({"hourly_billing_rate": "12.505"}, "hourly_billing_rate"),
    ({"schedule": {"hours_per_week": "0"}}, "schedule.hours_per_week"),
    ({"schedule": {"days_per_week": 8, "hours_per_week": "20"}}, "schedule.days_per_week"),
    ({"pay_subsidy_decision": "PT\x00"}, "pay_subsidy_decision"),
])
def test_a_bad_start_names_the_field(fields, field):
    with pytest.raises(ValidationError) as caught:
        placement_command(**fields)
    assert ".".join(map(str, caught.value.errors()[0]["loc"])) == field
