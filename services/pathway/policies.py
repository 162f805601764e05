"""Integration events from other services, translated into commands on pathways."""
from collections.abc import Sequence
from uuid import UUID

from contracts.envelope import EventEnvelope
from contracts.events.employer import PlacementEnded, PlacementExtended, PlacementStarted
from contracts.events.intake import CaseWorkerAssigned, ClientEnrolled, ClientExited
from services.pathway import case_workers
from services.pathway.domain.pathway import PATHWAY, close, pathway_id_of, plan
from services.pathway.domain.placements import (end_placement_step, extend_placement_step, placement_step_id,
                                                start_placement_step)
from services.pathway.pathways import current_pathway_id, pathway_with_step
from services.platform.consumer import Item, Subscription
from services.platform.errors import AreaMismatch, StateConflict
from services.platform.unit_of_work import UnitOfWork


async def prefetch(uow: UnitOfWork, items: Sequence[Item]) -> None:
    """The rows of the batch's clients, then every pathway they have (or an enrolment plans), each in one
    statement: the handlers then read nothing alone that the batch could have read at once."""
    await case_workers.prefetch_owners(uow, items)
    latest: dict[UUID, int] = {}
    for _, event in items:
        owner = await case_workers.owner_of(uow, event.client_id)  # prefetched: no statement
        enrolling = event.period if isinstance(event, ClientEnrolled) else 0
        latest[event.client_id] = max(latest.get(event.client_id, 0), enrolling, (owner and owner.latest_period) or 0)
    await uow.preload([str(pathway_id_of(client_id, period))
                       for client_id, periods in latest.items() for period in range(1, periods + 1)])


async def plan_pathway(uow: UnitOfWork, event: ClientEnrolled, envelope: EventEnvelope) -> None:
    await case_workers.note(uow, event.client_id, envelope.employmentarea, event.case_worker_id,
                            event.period)
    await uow.decide(PATHWAY, str(pathway_id_of(event.client_id, event.period)),
                     lambda pathway: plan(pathway, event.client_id, event.period, event.enrolled_on),
                     area=envelope.employmentarea)


async def reassign(uow: UnitOfWork, event: CaseWorkerAssigned, envelope: EventEnvelope) -> None:
    await _same_area(uow, event.client_id, envelope)
    await case_workers.note(uow, event.client_id, envelope.employmentarea, event.case_worker_id)


async def _same_area(uow: UnitOfWork, client_id: UUID, envelope: EventEnvelope) -> case_workers.Owner:
    """An event about a client comes from the client's own area; another area's is the platform's
    AreaMismatch (dead-lettered at once: nothing later makes it apply). A client not enrolled here yet is
    waited for (parked)."""
    owner = await case_workers.owner_of(uow, client_id)
    if owner is None:
        raise StateConflict(f"client {client_id} is not enrolled here yet")
    if owner.employment_area != envelope.employmentarea:
        raise AreaMismatch(f"an event of area {envelope.employmentarea} ({envelope.type}) names client {client_id} "
                           f"of area {owner.employment_area}")
    return owner


async def close_pathway(uow: UnitOfWork, event: ClientExited, envelope: EventEnvelope) -> None:
    await _same_area(uow, event.client_id, envelope)
    await uow.decide(PATHWAY, str(pathway_id_of(event.client_id, event.period)),
                     lambda pathway: close(pathway, event.client_id, event.exited_on))


async def start_step(uow: UnitOfWork, event: PlacementStarted, envelope: EventEnvelope) -> None:
    owner = await _same_area(uow, event.client_id, envelope)
    await uow.decide(PATHWAY, str(await current_pathway_id(uow, event.client_id, owner.latest_period)),
                     lambda pathway: start_placement_step(pathway, event))


async def extend_step(uow: UnitOfWork, event: PlacementExtended, envelope: EventEnvelope) -> None:
    owner = await _same_area(uow, event.client_id, envelope)
    pathway_id = await pathway_with_step(uow, event.client_id, placement_step_id(event.placement_id),
                                         owner.latest_period)
    await uow.decide(PATHWAY, str(pathway_id), lambda pathway: extend_placement_step(pathway, event))


async def end_step(uow: UnitOfWork, event: PlacementEnded, envelope: EventEnvelope) -> None:
    owner = await _same_area(uow, event.client_id, envelope)
    pathway_id = await pathway_with_step(uow, event.client_id, placement_step_id(event.placement_id),
                                         owner.latest_period)
    await uow.decide(PATHWAY, str(pathway_id), lambda pathway: end_placement_step(pathway, event))


SUBSCRIPTION = Subscription("pathway", {ClientEnrolled: plan_pathway, CaseWorkerAssigned: reassign,
                                        ClientExited: close_pathway,
                                        PlacementStarted: start_step, PlacementExtended: extend_step,
                                        PlacementEnded: end_step},
                            prefetch=prefetch)
