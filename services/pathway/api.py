"""HTTP API of pathway."""
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel

from services.pathway.domain import PATHWAY, pathway_id_of
from services.platform.http import RUNTIME, Route, path_uuid


class PathwayView(BaseModel):
    pathway_id: UUID
    client_id: UUID
    kind: str
    started_placements: list[UUID]


async def get_pathway(request: web.Request) -> PathwayView:
    client_id = path_uuid(request, "client_id")
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        pathway, _ = await uow.read(PATHWAY, str(pathway_id_of(client_id)))
    return PathwayView(pathway_id=pathway_id_of(client_id), client_id=client_id, kind=pathway.kind,
                       started_placements=sorted(pathway.started_placements))


ROUTES = [
    Route("GET", "/clients/{client_id}/pathway", get_pathway, "A client's pathway and its steps",
          response=PathwayView),
]
