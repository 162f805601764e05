"""The case_workers table (tables.py): each client's case worker and area, kept from intake's events."""
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.pathway.tables import case_workers


@dataclass(frozen=True)
class Owner:
    employment_area: str
    case_worker_id: str


async def note(connection: AsyncConnection, client_id: UUID, area: str, case_worker_id: str) -> None:
    """The client's case worker from now on; the area stays the one of the client's first event."""
    changed = await connection.execute(update(case_workers).where(case_workers.c.client_id == str(client_id))
                                       .values(case_worker_id=case_worker_id))
    if changed.rowcount == 0:
        await connection.execute(insert(case_workers).values(client_id=str(client_id), employment_area=area,
                                                             case_worker_id=case_worker_id))


async def owner_of(connection: AsyncConnection, client_id: UUID) -> Owner | None:
    row = (await connection.execute(select(case_workers.c.employment_area, case_workers.c.case_worker_id)
                                    .where(case_workers.c.client_id == str(client_id)))).first()
    return Owner(*row) if row else None
