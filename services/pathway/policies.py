"""Integration events from other services, translated into commands on pathways."""
from contracts.envelope import EventEnvelope
from contracts.events.employer import PlacementStarted
from contracts.events.intake import ClientEnrolled
from services.pathway.domain import PATHWAY, pathway_id_of, plan, start_placement_step
from services.platform.consumer import Subscription
from services.platform.unit_of_work import UnitOfWork


async def plan_pathway(uow: UnitOfWork, event: ClientEnrolled, envelope: EventEnvelope) -> None:
    await uow.decide(PATHWAY, str(pathway_id_of(event.client_id)),
                     lambda pathway: plan(pathway, event.client_id), area=envelope.employmentarea)


async def start_step(uow: UnitOfWork, event: PlacementStarted, envelope: EventEnvelope) -> None:
    await uow.decide(PATHWAY, str(pathway_id_of(event.client_id)),
                     lambda pathway: start_placement_step(pathway, event.client_id, event.placement_id))


SUBSCRIPTION = Subscription("pathway", {ClientEnrolled: plan_pathway, PlacementStarted: start_step})
