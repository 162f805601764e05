"""Finding a client's pathways: one per enrolment period, under ids that follow from the client id."""
from uuid import UUID

from services.pathway.domain.pathway import PATHWAY, Pathway, pathway_id_of
from services.platform.errors import NotFound
from services.platform.unit_of_work import UnitOfWork


async def pathways_of(uow: UnitOfWork, client_id: UUID) -> list[tuple[UUID, Pathway]]:
    """Every pathway of the client, oldest first (a client has a few at most)."""
    found: list[tuple[UUID, Pathway]] = []
    while True:
        pathway_id = pathway_id_of(client_id, len(found) + 1)
        try:
            pathway, _ = await uow.read(PATHWAY, str(pathway_id))
        except NotFound:
            return found
        found.append((pathway_id, pathway))


async def current_pathway_id(uow: UnitOfWork, client_id: UUID) -> UUID:
    """The newest pathway's id; the first one's when there is none yet (a retry will find it planned)."""
    pathways = await pathways_of(uow, client_id)
    return pathways[-1][0] if pathways else pathway_id_of(client_id)


async def pathway_with_step(uow: UnitOfWork, client_id: UUID, step_id: UUID) -> UUID:
    """The pathway holding the step (steps never move between pathways); the newest when none does."""
    pathways = await pathways_of(uow, client_id)
    holding = [pathway_id for pathway_id, pathway in pathways if pathway.step(step_id) is not None]
    return holding[0] if holding else (pathways[-1][0] if pathways else pathway_id_of(client_id))
