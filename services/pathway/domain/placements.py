"""Placement steps: started, extended and ended by the employer service's placement events."""
from uuid import NAMESPACE_URL, UUID, uuid5

from contracts.events.base import Event
from contracts.events.employer import PlacementEnded, PlacementExtended, PlacementStarted
from contracts.events.pathway import StepCompleted, StepExtended, StepInterrupted, StepStarted
from services.pathway.domain.pathway import Pathway, pathway_id_of
from services.pathway.step_rules import is_full_time
from services.platform.errors import StateConflict


def placement_step_id(placement_id: UUID) -> UUID:
    return uuid5(NAMESPACE_URL, f"polku:step:{placement_id}")


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
