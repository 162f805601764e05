"""Integration events from other services, translated into commands on pathways."""
from contracts.envelope import EventEnvelope
from contracts.events.employer import PlacementEnded, PlacementExtended, PlacementStarted
from contracts.events.intake import ClientEnrolled, ClientExited
from services.pathway.domain import (PATHWAY, close, end_placement_step, extend_placement_step, pathway_id_of, plan,
                                     placement_step_id, start_placement_step)
from services.pathway.pathways import current_pathway_id, pathway_with_step
from services.platform.consumer import Subscription
from services.platform.unit_of_work import UnitOfWork


async def plan_pathway(uow: UnitOfWork, event: ClientEnrolled, envelope: EventEnvelope) -> None:
    await uow.decide(PATHWAY, str(pathway_id_of(event.client_id, event.period)),
                     lambda pathway: plan(pathway, event.client_id, event.period, event.enrolled_on),
                     area=envelope.employmentarea)


async def close_pathway(uow: UnitOfWork, event: ClientExited, envelope: EventEnvelope) -> None:
    await uow.decide(PATHWAY, str(pathway_id_of(event.client_id, event.period)),
                     lambda pathway: close(pathway, event.client_id, event.exited_on))


async def start_step(uow: UnitOfWork, event: PlacementStarted, envelope: EventEnvelope) -> None:
    await uow.decide(PATHWAY, str(await current_pathway_id(uow, event.client_id)),
                     lambda pathway: start_placement_step(pathway, event))


async def extend_step(uow: UnitOfWork, event: PlacementExtended, envelope: EventEnvelope) -> None:
    pathway_id = await pathway_with_step(uow, event.client_id, placement_step_id(event.placement_id))
    await uow.decide(PATHWAY, str(pathway_id), lambda pathway: extend_placement_step(pathway, event))


async def end_step(uow: UnitOfWork, event: PlacementEnded, envelope: EventEnvelope) -> None:
    pathway_id = await pathway_with_step(uow, event.client_id, placement_step_id(event.placement_id))
    await uow.decide(PATHWAY, str(pathway_id), lambda pathway: end_placement_step(pathway, event))


SUBSCRIPTION = Subscription("pathway", {ClientEnrolled: plan_pathway, ClientExited: close_pathway,
                                        PlacementStarted: start_step, PlacementExtended: extend_step,
                                        PlacementEnded: end_step})
