"""Events of the pathway service (the Pathway aggregate).

A pathway belongs to one enrolment period of one client: it is planned when the client is enrolled
and closed when the client exits; a returning client gets a new pathway, and steps never move
between pathways. Steps of placements start and end with the employer service's placement events;
the other steps are planned, started, completed or interrupted by the case worker.
"""
from datetime import date
from decimal import Decimal
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import Field, PlainSerializer

from contracts.events.base import Event
from contracts.events.employer import PlacementKind

# The goal of a pathway (polku): work, education, rehabilitation or a business of one's own.
PathwayKind = Literal["employment", "training", "entrepreneurship", "rehabilitation"]
# Steps a case worker decides: start_period (starttijakso, the assessment at the start), job coaching
# (työhönvalmennus), training (labour market training), studies, and a business of one's own.
CaseWorkerStepKind = Literal["start_period", "coaching", "training", "studies", "own_business"]
# Steps that are placements with an employer are of the employer service's PlacementKind (work trial,
# rehabilitative work, pay-subsidised work, gig work, apprenticeship, open market); "placement" only in
# version 1 StepStarted events, which did not say which kind.
StepKind = Literal[CaseWorkerStepKind, PlacementKind, Literal["placement"]]
InterruptionReason = Literal["client_illness", "client_moved_away", "client_found_work", "client_chose_to_stop",
                             "host_ended", "interrupted_by_client", "interrupted_by_employer", "pathway_closed",
                             "other"]
# Who provides a step the case worker decides (the foundation sells coaching to the city).
Provider = Literal["city", "foundation", "education_provider", "te_office", "other"]
WeeklyHours = Annotated[
    Decimal,
    Field(ge=0, le=80, max_digits=4, decimal_places=1),
    PlainSerializer(lambda hours: f"{hours:.1f}", return_type=str, when_used="json"),
]


class PathwayEvent(Event):
    service: ClassVar[str] = "pathway"
    aggregate_type: ClassVar[str] = "Pathway"
    pathway_id: UUID


class PathwayPlanned(PathwayEvent):
    """An individual pathway (palvelupolku) was planned for the client's enrolment period `period`.

    Version 2 added `period` and `planned_on` (version 1 events: period 1, planned_on unknown)."""

    schema_version: ClassVar[int] = 2
    client_id: UUID
    period: int = Field(ge=1)
    kind: PathwayKind
    planned_on: date | None


class PathwayGoalSet(PathwayEvent):
    """The case worker set (or changed) the pathway's goal."""

    client_id: UUID
    goal: PathwayKind
    set_on: date


class StepPlanned(PathwayEvent):
    """A step the case worker decides was planned. `hours_per_week` and `full_time` say how much of the
    client's week it takes (employer matching reads `full_time` as "not available")."""

    client_id: UUID
    step_id: UUID
    step_kind: CaseWorkerStepKind
    planned_start_on: date
    planned_end_on: date | None
    days_per_week: int | None = Field(ge=1, le=7)
    hours_per_day: Decimal | None = Field(gt=0, le=12, max_digits=3, decimal_places=1)
    hours_per_week: WeeklyHours | None
    full_time: bool
    provider: Provider


class StepStarted(PathwayEvent):
    """A step of the pathway started: a planned step, or a placement with an employer (`placement_id`).

    Version 2 added `client_id`, `started_on`, `hours_per_week` and `full_time`, and step kinds by name;
    version 1 events read with client_id and started_on unknown (None), kind "placement" for a placement,
    and not full time."""

    schema_version: ClassVar[int] = 2
    client_id: UUID | None
    step_id: UUID
    step_kind: StepKind
    placement_id: UUID | None
    started_on: date | None
    hours_per_week: WeeklyHours | None
    full_time: bool


class StepCompleted(PathwayEvent):
    """A step ended as planned; `hired_by_host` when a placement ended with the employer hiring the client."""

    client_id: UUID
    step_id: UUID
    completed_on: date
    hired_by_host: bool


class StepInterrupted(PathwayEvent):
    """A step ended before it was done, for `reason`."""

    client_id: UUID
    step_id: UUID
    interrupted_on: date
    reason: InterruptionReason


class StepCancelled(PathwayEvent):
    """A planned step was dropped before it started (the pathway closed, or the plan changed)."""

    client_id: UUID
    step_id: UUID
    cancelled_on: date
    reason: Literal["plan_changed", "pathway_closed"]


class StepExtended(PathwayEvent):
    """A running step's planned end moved (a placement extended)."""

    client_id: UUID
    step_id: UUID
    planned_end_on: date


class PathwayClosed(PathwayEvent):
    """The pathway closed because the client exited; its running steps were interrupted before it."""

    client_id: UUID
    closed_on: date
    reason: Literal["client_exited"]
