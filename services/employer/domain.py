"""Employer and Placement aggregates: pure functions that decide events from a command and the state."""
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.events.base import Event
from contracts.events.employer import EmployerRegistered, PlacementKind, PlacementStarted
from contracts.values import AreaCode, BusinessId, EmployerType, Money
from services.platform.errors import RuleViolated, StateConflict
from services.platform.event_store import AggregateKind


class RegisterEmployer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    business_id: BusinessId
    name: str = Field(min_length=1, max_length=200)
    employer_type: EmployerType
    employment_area: AreaCode


class StartPlacement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: UUID
    employer_id: UUID
    kind: PlacementKind
    starts_on: date
    hourly_billing_rate: Money


@dataclass(frozen=True)
class Employer:
    registered: EmployerRegistered | None = None


@dataclass(frozen=True)
class Placement:
    started: PlacementStarted | None = None


def evolve_employer(employer: Employer, event: Event) -> Employer:
    return Employer(registered=event) if isinstance(event, EmployerRegistered) else employer


def evolve_placement(placement: Placement, event: Event) -> Placement:
    return Placement(started=event) if isinstance(event, PlacementStarted) else placement


EMPLOYER = AggregateKind("Employer", Employer(), evolve_employer)
PLACEMENT = AggregateKind("Placement", Placement(), evolve_placement)


def register(employer: Employer, employer_id: UUID, command: RegisterEmployer) -> list[Event]:
    if employer.registered is not None:
        raise StateConflict(f"employer {employer_id} is registered already")
    return [EmployerRegistered(employer_id=employer_id, **command.model_dump())]


def start(placement: Placement, placement_id: UUID, command: StartPlacement, employer: Employer) -> list[Event]:
    if employer.registered is None:
        raise RuleViolated("employer_id", f"no registered employer {command.employer_id}")
    if placement.started is not None:
        raise StateConflict(f"placement {placement_id} has started already")
    return [PlacementStarted(placement_id=placement_id, employer_type=employer.registered.employer_type,
                             **command.model_dump())]
