"""Finding a client's pathways: one per enrolment period, under ids that follow from the client id."""
from uuid import UUID

from services.pathway.domain.pathway import PATHWAY, Pathway, pathway_id_of
from services.platform.errors import NotFound
from services.platform.unit_of_work import UnitOfWork


async def pathways_of(uow: UnitOfWork, client_id: UUID, latest_period: int | None = None) -> list[tuple[UUID, Pathway]]:
    """Every pathway of the client, oldest first (a client has a few at most). `latest_period`, the
    client's latest enrolment period where known (case_workers.Owner), saves reading for one after it."""
    found: list[tuple[UUID, Pathway]] = []
    while latest_period is None or len(found) < latest_period:
        pathway_id = pathway_id_of(client_id, len(found) + 1)
        try:
            pathway, _ = await uow.read(PATHWAY, str(pathway_id))
        except NotFound:
            return found
        found.append((pathway_id, pathway))
    return found


async def current_pathway_id(uow: UnitOfWork, client_id: UUID, latest_period: int | None = None) -> UUID:
    """The newest pathway's id; the first one's when there is none yet (a retry will find it planned)."""
    pathways = await pathways_of(uow, client_id, latest_period)
    return pathways[-1][0] if pathways else pathway_id_of(client_id)


async def pathway_with_step(uow: UnitOfWork, client_id: UUID, step_id: UUID, latest_period: int | None = None) -> UUID:
    """The pathway holding the step (steps never move between pathways); the newest when none does."""
    pathways = await pathways_of(uow, client_id, latest_period)
    holding = [pathway_id for pathway_id, pathway in pathways if pathway.step(step_id) is not None]
    return holding[0] if holding else (pathways[-1][0] if pathways else pathway_id_of(client_id))
