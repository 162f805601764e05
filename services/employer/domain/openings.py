"""The Opening aggregate: an open job, advertised or hidden, until it is filled, withdrawn or expires."""
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.events.base import Event
from contracts.events.employer import (OccupationCode, OpeningExpired, OpeningFilled, OpeningRegistered,
                                       OpeningSource, OpeningWithdrawn, ScheduleHours)
from contracts.values import Tag, Text
from services.platform.errors import RuleViolated, StateConflict
from services.platform.event_store import AggregateKind

OpeningStatus = Literal["open", "filled", "withdrawn", "expired"]


class RegisterOpening(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employer_id: UUID
    title: Text
    occupation: OccupationCode | None = None
    hours_per_week: ScheduleHours
    starts_on: date
    duration_months: int | None = Field(default=None, ge=1, le=60, description="none: until further notice")
    requirement_tags: tuple[Tag, ...] = Field(default=(), max_length=20)
    source: OpeningSource


class CloseOpening(BaseModel):
    """Withdrawn or expired on a day."""

    model_config = ConfigDict(extra="forbid")

    on: date


@dataclass(frozen=True)
class Opening:
    registered: OpeningRegistered | None = None
    status: OpeningStatus = "open"
    closed_on: date | None = None
    placement_id: UUID | None = None


def evolve(opening: Opening, event: Event) -> Opening:
    match event:
        case OpeningRegistered():
            return Opening(registered=event)
        case OpeningFilled():
            return replace(opening, status="filled", closed_on=event.filled_on, placement_id=event.placement_id)
        case OpeningWithdrawn():
            return replace(opening, status="withdrawn", closed_on=event.withdrawn_on)
        case OpeningExpired():
            return replace(opening, status="expired", closed_on=event.expired_on)
    return opening


OPENING = AggregateKind("Opening", Opening(), evolve)


def register(opening_id: UUID, command: RegisterOpening, today: date) -> list[Event]:
    return [OpeningRegistered(opening_id=opening_id, registered_on=today, **command.model_dump())]


def _refuse_closed(opening: Opening, opening_id: UUID) -> None:
    if opening.status != "open":
        raise StateConflict(f"opening {opening_id} is {opening.status} since {opening.closed_on}")


def _closable(opening: Opening, opening_id: UUID, day: date) -> None:
    _refuse_closed(opening, opening_id)
    if day < opening.registered.registered_on:
        raise RuleViolated("on", f"not before the opening was registered ({opening.registered.registered_on})")


def fill(opening: Opening, opening_id: UUID, placement_id: UUID, employer_id: UUID, day: date) -> list[Event]:
    if opening.registered.employer_id != employer_id:
        raise RuleViolated("opening_id", f"opening {opening_id} is another employer's")
    _refuse_closed(opening, opening_id)
    return [OpeningFilled(opening_id=opening_id, placement_id=placement_id, filled_on=day)]


def withdraw(opening: Opening, opening_id: UUID, command: CloseOpening) -> list[Event]:
    _closable(opening, opening_id, command.on)
    return [OpeningWithdrawn(opening_id=opening_id, withdrawn_on=command.on)]


def expire(opening: Opening, opening_id: UUID, command: CloseOpening) -> list[Event]:
    _closable(opening, opening_id, command.on)
    return [OpeningExpired(opening_id=opening_id, expired_on=command.on)]
