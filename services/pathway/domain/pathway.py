"""The Pathway aggregate: its state folded from its events, its id, and its life from intake's events:
planned when the client is enrolled for a period, closed when the client exits."""
import functools
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Literal
from uuid import NAMESPACE_URL, UUID, uuid5

from contracts.events.base import Event
from contracts.events.pathway import (PathwayClosed, PathwayGoalSet, PathwayKind, PathwayPlanned, StepCancelled,
                                      StepCompleted, StepExtended, StepInterrupted, StepPlanned, StepStarted)
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


@functools.lru_cache(maxsize=4096)  # a SHA-1 per call: every event about a client asks for it
def pathway_id_of(client_id: UUID, period: int = 1) -> UUID:
    """A client has one pathway per enrolment period; its id follows from the client id and the period
    so events can find it (period 1 keeps the id pathways had before periods)."""
    name = f"polku:pathway:{client_id}" if period == 1 else f"polku:pathway:{client_id}:{period}"
    return uuid5(NAMESPACE_URL, name)


def plan(pathway: Pathway, client_id: UUID, period: int, planned_on: date,
         kind: PathwayKind = "employment") -> list[Event]:
    if pathway.client_id is not None:
        return []  # planned already
    return [PathwayPlanned(pathway_id=pathway_id_of(client_id, period), client_id=client_id, period=period,
                           kind=kind, planned_on=planned_on)]



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
