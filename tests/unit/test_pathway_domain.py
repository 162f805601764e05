"""services/pathway/domain/: a pathway per enrolment period; steps planned, started, completed, interrupted and
cancelled by the case worker under step_rules.yaml; placement steps from the employer's events; closing."""
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.events.employer import PlacementEnded, PlacementExtended, PlacementStarted, Schedule
from contracts.events.pathway import (PathwayClosed, PathwayPlanned, StepCancelled, StepCompleted, StepExtended,
                                      StepInterrupted, StepStarted)
from services.pathway.domain.pathway import PATHWAY, Pathway, close, evolve, pathway_id_of, plan
from services.pathway.domain.placements import (end_placement_step, extend_placement_step, placement_step_id,
                                                start_placement_step)
from services.pathway.domain.steps import (CancelStep, CompleteStep, InterruptStep, PlanStep, SetGoal, StartStep,
                                           cancel_step, complete_step, interrupt_step, plan_step, set_goal, start_step)
from services.pathway.step_rules import months_between
from services.platform.dates import add_months
from services.platform.errors import RuleViolated, StateConflict
from services.platform.event_store import fold

CLIENT, OTHER_CLIENT, PLACEMENT, OTHER_PLACEMENT, EMPLOYER = (UUID(int=n) for n in range(1, 6))
STEP, OTHER_STEP = UUID(int=11), UUID(int=12)
PLANNED_ON, TODAY = date(2025, 1, 9), date(2025, 6, 2)
PATHWAY_ID = pathway_id_of(CLIENT)


def planned(period: int = 1) -> Pathway:
    return fold(PATHWAY, plan(Pathway(), CLIENT, period, PLANNED_ON))


def step(**overrides: Any) -> PlanStep:
    return PlanStep(**({"step_kind": "coaching", "planned_start_on": date(2025, 2, 1),
                        "planned_end_on": date(2025, 4, 30), "days_per_week": 3, "hours_per_day": Decimal("6"),
                        "provider": "foundation"} | overrides))


def with_step(pathway: Pathway, step_id: UUID = STEP, **overrides: Any) -> Pathway:
    return fold(PATHWAY, plan_step(pathway, PATHWAY_ID, step_id, step(**overrides), TODAY), pathway)


def started(pathway: Pathway, step_id: UUID = STEP, on: date = date(2025, 2, 3)) -> Pathway:
    return fold(PATHWAY, start_step(pathway, PATHWAY_ID, step_id, StartStep(started_on=on), TODAY), pathway)


def placement(kind="work_trial", hours: str | None = "30", **overrides: Any) -> PlacementStarted:
    return PlacementStarted(**({
        "placement_id": PLACEMENT, "client_id": CLIENT, "employer_id": EMPLOYER, "employer_type": "company",
        "kind": kind, "starts_on": date(2025, 3, 3), "hourly_billing_rate": Decimal("0"),
        "schedule": Schedule(hours_per_week=Decimal(hours)) if hours else None} | overrides))


# --- ids and planning ---------------------------------------------------------------------------------

def test_a_pathway_per_period_under_an_id_that_follows_from_the_client():
    assert pathway_id_of(CLIENT) == pathway_id_of(CLIENT, 1) != pathway_id_of(CLIENT, 2)
    assert pathway_id_of(CLIENT) != pathway_id_of(OTHER_CLIENT)
    assert pathway_id_of(CLIENT).version == 5


def test_planning_once_per_period():
    assert plan(Pathway(), CLIENT, 2, PLANNED_ON) == [PathwayPlanned(
        pathway_id=pathway_id_of(CLIENT, 2), client_id=CLIENT, period=2, kind="employment", planned_on=PLANNED_ON)]
    assert plan(planned(), CLIENT, 1, PLANNED_ON) == []


def test_the_goal_is_set_and_changed():
    pathway = fold(PATHWAY, set_goal(planned(), PATHWAY_ID, SetGoal(goal="training"), TODAY), planned())
    assert pathway.goal == "training"
    assert set_goal(pathway, PATHWAY_ID, SetGoal(goal="training"), TODAY) == []


# --- a case worker's step -----------------------------------------------------------------------------

def test_a_step_is_planned_started_and_completed():
    pathway = started(with_step(planned()))
    assert pathway.step(STEP).state == "started"
    assert pathway.step(STEP).hours_per_week == Decimal("18")
    events = complete_step(pathway, PATHWAY_ID, STEP, CompleteStep(completed_on=date(2025, 4, 30)), TODAY)
    assert events == [StepCompleted(pathway_id=PATHWAY_ID, client_id=CLIENT, step_id=STEP,
                                    completed_on=date(2025, 4, 30), hired_by_host=False)]
    assert fold(PATHWAY, events, pathway).step(STEP).state == "completed"


def test_a_step_is_interrupted_with_a_reason():
    pathway = started(with_step(planned()))
    [event] = interrupt_step(pathway, PATHWAY_ID, STEP, InterruptStep(interrupted_on=date(2025, 3, 1),
                                                                      reason="client_illness"), TODAY)
    assert (event.reason, fold(PATHWAY, [event], pathway).step(STEP).state) == ("client_illness", "interrupted")


def test_a_planned_step_can_be_cancelled_but_not_completed():
    pathway = with_step(planned())
    with pytest.raises(StateConflict, match="is planned, not started"):
        complete_step(pathway, PATHWAY_ID, STEP, CompleteStep(completed_on=TODAY), TODAY)
    [event] = cancel_step(pathway, PATHWAY_ID, STEP, CancelStep(cancelled_on=TODAY))
    assert isinstance(event, StepCancelled)


@pytest.mark.parametrize(("field", "day", "rule"), [
    ("started_on", date(2025, 6, 3), "must not be in the future"),
    ("started_on", date(2025, 1, 8), "must not be before the pathway's planning"),
])
def test_a_start_date_breaking_a_rule_is_refused(field, day, rule):
    with pytest.raises(RuleViolated) as caught:
        start_step(with_step(planned()), PATHWAY_ID, STEP, StartStep(started_on=day), TODAY)
    assert (caught.value.field, rule in caught.value.rule) == (field, True)


def test_a_step_cannot_end_before_it_started():
    with pytest.raises(RuleViolated, match="must not be before the step's start"):
        complete_step(started(with_step(planned())), PATHWAY_ID, STEP, CompleteStep(completed_on=date(2025, 2, 2)),
                      TODAY)


@pytest.mark.parametrize(("overrides", "field", "passes"), [
    ({"days_per_week": 5}, "days_per_week", True),
    ({"days_per_week": 6}, "days_per_week", False),
    ({"hours_per_day": Decimal("8")}, "hours_per_day", True),
    ({"hours_per_day": Decimal("8.5")}, "hours_per_day", False),
    ({"step_kind": "start_period", "planned_start_on": date(2025, 1, 1), "planned_end_on": date(2025, 3, 31)},
     "planned_end_on", True),
    ({"step_kind": "start_period", "planned_start_on": date(2025, 1, 1), "planned_end_on": date(2025, 4, 1)},
     "planned_end_on", False),
    ({"step_kind": "start_period", "planned_end_on": None}, "planned_end_on", False),
    ({"step_kind": "coaching", "planned_start_on": date(2025, 1, 1), "planned_end_on": date(2025, 12, 31)},
     "planned_end_on", True),
    ({"step_kind": "coaching", "planned_start_on": date(2025, 1, 1), "planned_end_on": date(2026, 1, 1)},
     "planned_end_on", False),
])
def test_step_rules_at_their_boundaries(overrides, field, passes):
    if passes:
        with_step(planned(), **overrides)
        return
    with pytest.raises(RuleViolated) as caught:
        with_step(planned(), **overrides)
    assert caught.value.field == field
    assert "source:" in caught.value.rule


@given(start=st.dates(date(2015, 1, 1), date(2030, 12, 31)), months=st.integers(0, 30))
def test_months_between_counts_a_whole_month_to_the_day_before_the_same_date(start, months):
    end = add_months(start, months)
    assert months_between(start, end) == months + Decimal("0.5")
    if months:
        assert months_between(start, end - timedelta(days=1)) == months


def test_full_time_steps_do_not_overlap():
    pathway = started(with_step(planned(), days_per_week=5, hours_per_day=Decimal("7.5")))
    assert pathway.step(STEP).full_time
    pathway = with_step(pathway, OTHER_STEP, days_per_week=5, hours_per_day=Decimal("6"))
    with pytest.raises(RuleViolated, match=r"one full-time step \(from 30 h a week\) at a time; source: Polku"):
        started(pathway, OTHER_STEP)


def test_a_placement_step_is_not_handled_by_the_case_worker():
    pathway = fold(PATHWAY, start_placement_step(planned(), placement()), planned())
    with pytest.raises(StateConflict, match="is a placement"):
        complete_step(pathway, PATHWAY_ID, placement_step_id(PLACEMENT), CompleteStep(completed_on=TODAY), TODAY)


# --- placements ---------------------------------------------------------------------------------------

def test_a_placement_starts_its_step_with_its_kind_and_hours():
    [event] = start_placement_step(planned(), placement(hours="37.5"))
    assert event == StepStarted(pathway_id=PATHWAY_ID, client_id=CLIENT, step_id=placement_step_id(PLACEMENT),
                                step_kind="work_trial", placement_id=PLACEMENT, started_on=date(2025, 3, 3),
                                hours_per_week=Decimal("37.5"), full_time=True)


@pytest.mark.parametrize(("hours", "full_time"), [("29.9", False), ("30", True), (None, False)])
def test_full_time_from_30_hours_a_week(hours, full_time):
    assert start_placement_step(planned(), placement(hours=hours))[0].full_time is full_time


def test_a_placement_before_the_pathway_is_retried_and_a_second_delivery_is_harmless():
    with pytest.raises(StateConflict, match="not planned yet"):
        start_placement_step(Pathway(), placement())
    pathway = fold(PATHWAY, start_placement_step(planned(), placement()), planned())
    assert start_placement_step(pathway, placement()) == []


def test_a_placement_with_a_planned_end_is_extended_and_ended():
    pathway = fold(PATHWAY, start_placement_step(planned(), placement(planned_end_on=date(2025, 6, 30))), planned())
    step_id = placement_step_id(PLACEMENT)
    assert pathway.step(step_id).planned_end_on == date(2025, 6, 30)
    extended = PlacementExtended(placement_id=PLACEMENT, client_id=CLIENT, planned_end_on=date(2025, 8, 31))
    [event] = extend_placement_step(pathway, extended)
    assert isinstance(event, StepExtended)
    pathway = fold(PATHWAY, [event], pathway)

    def ended(ending: str) -> list:
        return end_placement_step(pathway, PlacementEnded(
            placement_id=PLACEMENT, client_id=CLIENT, employer_id=EMPLOYER, employer_type="company", kind="work_trial",
            ended_on=date(2025, 8, 31), ending=ending))

    assert ended("hired_by_employer") == [StepCompleted(pathway_id=PATHWAY_ID, client_id=CLIENT, step_id=step_id,
                                                        completed_on=date(2025, 8, 31), hired_by_host=True)]
    assert ended("completed")[0].hired_by_host is False
    assert [(type(event), event.reason) for event in ended("interrupted_by_employer")] == [
        (StepInterrupted, "interrupted_by_employer")]


# --- closing -----------------------------------------------------------------------------------------

def test_an_exit_interrupts_running_steps_cancels_planned_ones_and_closes():
    pathway = with_step(started(with_step(planned())), OTHER_STEP)
    events = close(pathway, CLIENT, date(2025, 5, 31))
    assert [type(event) for event in events] == [StepInterrupted, StepCancelled, PathwayClosed]
    closed = fold(PATHWAY, events, pathway)
    assert closed.closed_on == date(2025, 5, 31)
    assert close(closed, CLIENT, date(2025, 5, 31)) == []
    with pytest.raises(StateConflict, match="a returning client gets a new pathway"):
        with_step(closed, UUID(int=99))
    assert start_placement_step(closed, placement()) == []  # no step joins a closed pathway


def test_evolve_ignores_events_of_other_aggregates():
    from contracts.events.intake import ClientEnrolled

    pathway = planned()
    enrolled = ClientEnrolled(client_id=CLIENT, period=1, case_worker_id="cw", enrolled_on=TODAY)
    assert evolve(pathway, enrolled) is pathway
