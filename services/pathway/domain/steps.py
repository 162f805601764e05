"""What the case worker decides on a pathway: its goal, and the steps that are not placements
(planned under step_rules.yaml, started, completed, interrupted with a reason, or cancelled)."""
from datetime import date
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.events.base import Event
from contracts.values import not_before
from contracts.events.pathway import (CaseWorkerStepKind, PathwayGoalSet, PathwayKind, Provider, StepCancelled,
                                      StepCompleted, StepInterrupted, StepPlanned, StepStarted)
from services.pathway.domain.pathway import Pathway, Step, StepState
from services.pathway.step_rules import StepMeasures, check, full_time_rule, is_full_time
from services.platform.auth import Principal
from services.platform.errors import Forbidden, NotFound, RuleViolated, StateConflict


class SetGoal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    goal: PathwayKind


class PlanStep(BaseModel):
    """A step the case worker decides; placements come from the employer service."""

    model_config = ConfigDict(extra="forbid")

    step_kind: CaseWorkerStepKind
    planned_start_on: date
    planned_end_on: date | None = None
    days_per_week: int | None = Field(default=None, ge=1, le=7)
    hours_per_day: Decimal | None = Field(default=None, gt=0, le=12, max_digits=3, decimal_places=1)
    provider: Provider

    _end_not_before_start = not_before("planned_start_on", "planned_end_on")

    @property
    def hours_per_week(self) -> Decimal | None:
        if self.days_per_week is None or self.hours_per_day is None:
            return None
        return self.days_per_week * self.hours_per_day


class StartStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    started_on: date


class CompleteStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    completed_on: date


class InterruptStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    interrupted_on: date
    reason: Literal["client_illness", "client_moved_away", "client_found_work", "client_chose_to_stop",
                    "host_ended", "other"]


class CancelStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cancelled_on: date


# --- decisions ------------------------------------------------------------------------------------

def ensure_own_client(case_worker_id: str | None, client_id: UUID, actor: Principal) -> None:
    """A case worker plans the steps of their own clients only (intake names the case worker)."""
    if case_worker_id != actor.user_id:
        raise Forbidden(f"client {client_id} is not a client of case worker {actor.user_id}; a case worker "
                        "plans the pathways of their own clients only")


def _open(pathway: Pathway, pathway_id: UUID) -> None:
    if pathway.client_id is None:
        raise NotFound(f"no pathway {pathway_id}")
    if pathway.closed_on is not None:
        raise StateConflict(f"pathway {pathway_id} closed on {pathway.closed_on.isoformat()} when the client "
                            "exited; a returning client gets a new pathway")


def _own_step(pathway: Pathway, pathway_id: UUID, step_id: UUID, state: StepState) -> Step:
    step = pathway.step(step_id)
    if step is None:
        raise NotFound(f"pathway {pathway_id} has no step {step_id}")
    if step.placement_id is not None:
        raise StateConflict(f"step {step_id} is a placement: it starts and ends in the employer service")
    if step.state != state:
        raise StateConflict(f"step {step_id} is {step.state}, not {state}")
    return step


def _not_before(field: str, day: date, earliest: date | None, what: str) -> None:
    if earliest is not None and day < earliest:
        raise RuleViolated(field, f"must not be before {what} ({earliest.isoformat()})")



def set_goal(pathway: Pathway, pathway_id: UUID, command: SetGoal, today: date) -> list[Event]:
    _open(pathway, pathway_id)
    if command.goal == pathway.goal:
        return []
    return [PathwayGoalSet(pathway_id=pathway_id, client_id=pathway.client_id, goal=command.goal, set_on=today)]


def plan_step(pathway: Pathway, pathway_id: UUID, step_id: UUID, command: PlanStep, today: date) -> list[Event]:
    _open(pathway, pathway_id)
    check(StepMeasures(command.step_kind, command.planned_start_on, command.planned_end_on, command.days_per_week,
                       command.hours_per_day, command.hours_per_week))
    return [StepPlanned(pathway_id=pathway_id, client_id=pathway.client_id, step_id=step_id,
                        step_kind=command.step_kind, planned_start_on=command.planned_start_on,
                        planned_end_on=command.planned_end_on, days_per_week=command.days_per_week,
                        hours_per_day=command.hours_per_day, hours_per_week=command.hours_per_week,
                        full_time=is_full_time(command.hours_per_week, command.planned_start_on),
                        provider=command.provider)]


def start_step(pathway: Pathway, pathway_id: UUID, step_id: UUID, command: StartStep, today: date) -> list[Event]:
    _open(pathway, pathway_id)
    step = _own_step(pathway, pathway_id, step_id, "planned")
    if command.started_on > today:
        raise RuleViolated("started_on", "must not be in the future: a step is started when it has started")
    _not_before("started_on", command.started_on, pathway.planned_on, "the pathway's planning")
    if step.full_time:
        running = [other for other in pathway.steps if other.state == "started" and other.full_time]
        if running:
            rule = full_time_rule(command.started_on)
            raise RuleViolated("step_id", f"the client is in full-time step {running[0].step_id} already: one "
                                          f"full-time step (from {rule.hours} h a week) at a time; source: "
                                          f"{rule.cited_source}")
    return [StepStarted(pathway_id=pathway_id, client_id=pathway.client_id, step_id=step_id, step_kind=step.kind,
                        placement_id=None, started_on=command.started_on, hours_per_week=step.hours_per_week,
                        full_time=step.full_time)]


def complete_step(pathway: Pathway, pathway_id: UUID, step_id: UUID, command: CompleteStep,
                  today: date) -> list[Event]:
    _open(pathway, pathway_id)
    step = _own_step(pathway, pathway_id, step_id, "started")
    _ended_in_order("completed_on", command.completed_on, step, today)
    return [StepCompleted(pathway_id=pathway_id, client_id=pathway.client_id, step_id=step_id,
                          completed_on=command.completed_on, hired_by_host=False)]


def interrupt_step(pathway: Pathway, pathway_id: UUID, step_id: UUID, command: InterruptStep,
                   today: date) -> list[Event]:
    _open(pathway, pathway_id)
    step = _own_step(pathway, pathway_id, step_id, "started")
    _ended_in_order("interrupted_on", command.interrupted_on, step, today)
    return [StepInterrupted(pathway_id=pathway_id, client_id=pathway.client_id, step_id=step_id,
                            interrupted_on=command.interrupted_on, reason=command.reason)]


def cancel_step(pathway: Pathway, pathway_id: UUID, step_id: UUID, command: CancelStep) -> list[Event]:
    _open(pathway, pathway_id)
    _own_step(pathway, pathway_id, step_id, "planned")
    return [StepCancelled(pathway_id=pathway_id, client_id=pathway.client_id, step_id=step_id,
                          cancelled_on=command.cancelled_on, reason="plan_changed")]


def _ended_in_order(field: str, day: date, step: Step, today: date) -> None:
    if day > today:
        raise RuleViolated(field, "must not be in the future")
    _not_before(field, day, step.started_on, "the step's start")
