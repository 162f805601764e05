"""The GigTask aggregate: a small task an employer offers, until it is pooled into a gig job."""
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from contracts.events.base import Event
from contracts.events.employer import GigTaskOffered, GigTaskPooled
from contracts.values import Money, Tag, Text
from services.platform.errors import StateConflict
from services.platform.event_store import AggregateKind


class OfferGigTask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employer_id: UUID
    works_on: date
    starts_at: time
    ends_at: time
    municipality: Text
    place: Text
    requirement_tags: tuple[Tag, ...] = Field(default=(), max_length=20)
    hourly_billing_rate: Money

    @field_validator("ends_at")
    @classmethod
    def _after_start(cls, ends_at: time, info: ValidationInfo) -> time:
        if "starts_at" in info.data and ends_at <= info.data["starts_at"]:
            raise ValueError("must be after starts_at (a task lies within one day)")
        return ends_at


@dataclass(frozen=True)
class GigTask:
    offered: GigTaskOffered | None = None
    pooled_into: UUID | None = None

    @property
    def hours(self) -> Decimal:
        start, end = (datetime.combine(self.offered.works_on, moment)
                      for moment in (self.offered.starts_at, self.offered.ends_at))
        return (Decimal((end - start).total_seconds()) / 3600).quantize(Decimal("0.01"))


def evolve(task: GigTask, event: Event) -> GigTask:
    match event:
        case GigTaskOffered():
            return GigTask(offered=event)
        case GigTaskPooled():
            return replace(task, pooled_into=event.placement_id)
    return task


GIG_TASK = AggregateKind("GigTask", GigTask(), evolve)


def offer(task_id: UUID, command: OfferGigTask) -> list[Event]:
    return [GigTaskOffered(task_id=task_id, **command.model_dump())]


def pool(task: GigTask, task_id: UUID, placement_id: UUID) -> list[Event]:
    if task.pooled_into is not None:
        raise StateConflict(f"gig task {task_id} is pooled into gig job {task.pooled_into} already")
    return [GigTaskPooled(task_id=task_id, placement_id=placement_id)]
