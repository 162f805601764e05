"""The Pathway aggregate: pure functions that decide events from a command and the current state."""
from dataclasses import dataclass, replace
from uuid import NAMESPACE_URL, UUID, uuid5

from contracts.events.base import Event
from contracts.events.pathway import PathwayKind, PathwayPlanned, StepStarted
from services.platform.errors import StateConflict
from services.platform.event_store import AggregateKind


@dataclass(frozen=True)
class Pathway:
    client_id: UUID | None = None
    kind: PathwayKind | None = None
    started_placements: frozenset[UUID] = frozenset()


def evolve(pathway: Pathway, event: Event) -> Pathway:
    match event:
        case PathwayPlanned():
            return replace(pathway, client_id=event.client_id, kind=event.kind)
        case StepStarted(placement_id=UUID() as placement_id):
            return replace(pathway, started_placements=pathway.started_placements | {placement_id})
    return pathway


PATHWAY = AggregateKind("Pathway", Pathway(), evolve)


def pathway_id_of(client_id: UUID) -> UUID:
    """A client has one current pathway; its id follows from the client id so events can find it."""
    return uuid5(NAMESPACE_URL, f"polku:pathway:{client_id}")


def plan(pathway: Pathway, client_id: UUID, kind: PathwayKind = "employment") -> list[Event]:
    if pathway.client_id is not None:
        return []  # planned already
    return [PathwayPlanned(pathway_id=pathway_id_of(client_id), client_id=client_id, kind=kind)]


def start_placement_step(pathway: Pathway, client_id: UUID, placement_id: UUID) -> list[Event]:
    if pathway.client_id is None:
        # The placement may overtake the enrolment on the bus; a retry finds the pathway.
        raise StateConflict(f"pathway of client {client_id} is not planned yet")
    if placement_id in pathway.started_placements:
        return []
    return [StepStarted(pathway_id=pathway_id_of(client_id), step_id=uuid5(NAMESPACE_URL, f"polku:step:{placement_id}"),
                        step_kind="placement", placement_id=placement_id)]
