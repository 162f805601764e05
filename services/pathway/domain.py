"""The Pathway aggregate: pure functions that decide events from a command and the current state.

A pathway belongs to one enrolment period of one client: planned at enrolment, closed at exit. Steps
the case worker decides are planned, started, completed, interrupted or cancelled here; placement
steps start and end with the employer service's placement events.
"""
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Literal
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from contracts.events.base import Event
from contracts.events.employer import PlacementEnded, PlacementExtended, PlacementStarted
from contracts.events.pathway import (CaseWorkerStepKind, InterruptionReason, PathwayClosed, PathwayGoalSet,
                                      PathwayKind, PathwayPlanned, Provider, StepCancelled, StepCompleted,
                                      StepExtended, StepInterrupted, StepPlanned, StepStarted)
from services.pathway.step_rules import StepMeasures, check, full_time_rule, is_full_time
from services.platform.auth import Principal
from services.platform.errors import Forbidden, NotFound, RuleViolated, StateConflict
from services.platform.event_store import AggregateKind

StepState = Literal["planned", "started", "completed", "interrupted", "cancelled"]


@dataclass(frozen=True)
class Step:
    step_id: UUID
    kind: str
    state: StepState
    placement_id: UUID | None = None
    planned_start_on: date | None = None
    planned_end_on: date | None = None
    started_on: date | None = None
    ended_on: date | None = None
    ending: str | None = None
    hours_per_week: Decimal | None = None
    full_time: bool = False
    provider: str | None = None


@dataclass(frozen=True)
class Pathway:
    client_id: UUID | None = None
    period: int = 1
    goal: PathwayKind | None = None
    planned_on: date | None = None
    closed_on: date | None = None
    steps: tuple[Step, ...] = ()

    def step(self, step_id: UUID) -> Step | None:
        return next((step for step in self.steps if step.step_id == step_id), None)


def _with_step(pathway: Pathway, step_id: UUID, **changes) -> Pathway:
    return replace(pathway, steps=tuple(replace(step, **changes) if step.step_id == step_id else step
                                        for step in pathway.steps))


def evolve(pathway: Pathway, event: Event) -> Pathway:
    match event:
        case PathwayPlanned():
            return replace(pathway, client_id=event.client_id, period=event.period, goal=event.kind,
                           planned_on=event.planned_on)
        case PathwayGoalSet():
            return replace(pathway, goal=event.goal)
        case StepPlanned():
            step = Step(event.step_id, event.step_kind, "planned", planned_start_on=event.planned_start_on,
                        planned_end_on=event.planned_end_on, hours_per_week=event.hours_per_week,
                        full_time=event.full_time, provider=event.provider)
            return replace(pathway, steps=(*pathway.steps, step))
        case StepStarted() if pathway.step(event.step_id) is not None:
            return _with_step(pathway, event.step_id, state="started", started_on=event.started_on,
                              hours_per_week=event.hours_per_week, full_time=event.full_time)
        case StepStarted():
            step = Step(event.step_id, event.step_kind, "started", placement_id=event.placement_id,
                        started_on=event.started_on, hours_per_week=event.hours_per_week, full_time=event.full_time)
            return replace(pathway, steps=(*pathway.steps, step))
        case StepExtended():
            return _with_step(pathway, event.step_id, planned_end_on=event.planned_end_on)
        case StepCompleted():
            return _with_step(pathway, event.step_id, state="completed", ended_on=event.completed_on,
                              ending="hired_by_host" if event.hired_by_host else "completed")
        case StepInterrupted():
            return _with_step(pathway, event.step_id, state="interrupted", ended_on=event.interrupted_on,
                              ending=event.reason)
        case StepCancelled():
            return _with_step(pathway, event.step_id, state="cancelled", ended_on=event.cancelled_on,
                              ending=event.reason)
        case PathwayClosed():
            return replace(pathway, closed_on=event.closed_on)
    return pathway


PATHWAY = AggregateKind("Pathway", Pathway(), evolve)


def pathway_id_of(client_id: UUID, period: int = 1) -> UUID:
    """A client has one pathway per enrolment period; its id follows from the client id and the period
    so events can find it (period 1 keeps the id pathways had before periods)."""
    name = f"polku:pathway:{client_id}" if period == 1 else f"polku:pathway:{client_id}:{period}"
    return uuid5(NAMESPACE_URL, name)


def placement_step_id(placement_id: UUID) -> UUID:
    return uuid5(NAMESPACE_URL, f"polku:step:{placement_id}")


# --- commands -------------------------------------------------------------------------------------

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

    @field_validator("planned_end_on")
    @classmethod
    def _not_before_start(cls, planned_end_on: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("planned_start_on")
        if planned_end_on is not None and start is not None and planned_end_on < start:
            raise ValueError("must not be before planned_start_on")
        return planned_end_on

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


def plan(pathway: Pathway, client_id: UUID, period: int, planned_on: date,
         kind: PathwayKind = "employment") -> list[Event]:
    if pathway.client_id is not None:
        return []  # planned already
    return [PathwayPlanned(pathway_id=pathway_id_of(client_id, period), client_id=client_id, period=period,
                           kind=kind, planned_on=planned_on)]


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


# --- from other services' events ------------------------------------------------------------------

def start_placement_step(pathway: Pathway, event: PlacementStarted) -> list[Event]:
    pathway_id = pathway_id_of(event.client_id, pathway.period)
    if pathway.client_id is None:
        # The placement may overtake the enrolment on the bus; a retry finds the pathway.
        raise StateConflict(f"pathway of client {event.client_id} is not planned yet")
    step_id = placement_step_id(event.placement_id)
    if pathway.step(step_id) is not None or pathway.closed_on is not None:
        return []  # taken already, or the client exited before the placement's news came
    hours = event.schedule.hours_per_week if event.schedule else None
    events: list[Event] = [StepStarted(pathway_id=pathway_id, client_id=event.client_id, step_id=step_id,
                                       step_kind=event.kind, placement_id=event.placement_id,
                                       started_on=event.starts_on, hours_per_week=hours,
                                       full_time=is_full_time(hours, event.starts_on))]
    if event.planned_end_on is not None:
        events.append(StepExtended(pathway_id=pathway_id, client_id=event.client_id, step_id=step_id,
                                   planned_end_on=event.planned_end_on))
    return events


def extend_placement_step(pathway: Pathway, event: PlacementExtended) -> list[Event]:
    step_id = placement_step_id(event.placement_id)
    step = pathway.step(step_id)
    if step is None or step.state != "started" or step.planned_end_on == event.planned_end_on:
        return []
    return [StepExtended(pathway_id=pathway_id_of(event.client_id, pathway.period), client_id=event.client_id,
                         step_id=step_id, planned_end_on=event.planned_end_on)]


ENDED_BY = {"interrupted_by_client": "interrupted_by_client", "interrupted_by_employer": "interrupted_by_employer",
            "other": "other"}


def end_placement_step(pathway: Pathway, event: PlacementEnded) -> list[Event]:
    step_id = placement_step_id(event.placement_id)
    step = pathway.step(step_id)
    if step is None and pathway.closed_on is None:
        raise StateConflict(f"placement {event.placement_id} has no started step yet")  # retried later
    if step is None:
        return []
    if step.state != "started":
        return []
    pathway_id = pathway_id_of(event.client_id, pathway.period)
    if event.ending in ("completed", "hired_by_employer"):
        return [StepCompleted(pathway_id=pathway_id, client_id=event.client_id, step_id=step_id,
                              completed_on=event.ended_on, hired_by_host=event.ending == "hired_by_employer")]
    return [StepInterrupted(pathway_id=pathway_id, client_id=event.client_id, step_id=step_id,
                            interrupted_on=event.ended_on, reason=ENDED_BY[event.ending])]


def close(pathway: Pathway, client_id: UUID, exited_on: date) -> list[Event]:
    """The client exited: running steps are interrupted and planned ones cancelled, then it closes."""
    if pathway.client_id is None or pathway.closed_on is not None:
        return []
    pathway_id = pathway_id_of(client_id, pathway.period)
    events: list[Event] = []
    for step in pathway.steps:
        if step.state == "started":
            events.append(StepInterrupted(pathway_id=pathway_id, client_id=client_id, step_id=step.step_id,
                                          interrupted_on=max(exited_on, step.started_on or exited_on),
                                          reason="pathway_closed"))
        elif step.state == "planned":
            events.append(StepCancelled(pathway_id=pathway_id, client_id=client_id, step_id=step.step_id,
                                        cancelled_on=exited_on, reason="pathway_closed"))
    return [*events, PathwayClosed(pathway_id=pathway_id, client_id=client_id, closed_on=exited_on,
                                   reason="client_exited")]
