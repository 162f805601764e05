"""Events of the pathway service (the Pathway aggregate)."""
from typing import ClassVar, Literal
from uuid import UUID

from contracts.events.base import Event

PathwayKind = Literal["employment", "training", "entrepreneurship", "rehabilitation"]


class PathwayEvent(Event):
    service: ClassVar[str] = "pathway"
    aggregate_type: ClassVar[str] = "Pathway"
    pathway_id: UUID


class PathwayPlanned(PathwayEvent):
    """An individual pathway (palvelupolku) was planned for an enrolled client."""

    client_id: UUID
    kind: PathwayKind


class StepStarted(PathwayEvent):
    """A step of the pathway started, such as a placement with an employer."""

    step_id: UUID
    step_kind: Literal["placement", "training", "coaching", "rehabilitation"]
    placement_id: UUID | None
