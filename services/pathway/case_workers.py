"""The case_workers table (tables.py): each client's case worker and area, kept from intake's events."""
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.pathway.tables import case_workers


@dataclass(frozen=True)
class Owner:
    employment_area: str
    case_worker_id: str


# Built once: a statement built per event costs more in building and its cache key than in SQL.
REASSIGN = (update(case_workers).where(case_workers.c.client_id == bindparam("client"))
            .values(case_worker_id=bindparam("case_worker")))
FIRST_SEEN = insert(case_workers).values(client_id=bindparam("client"), employment_area=bindparam("area"),
                                         case_worker_id=bindparam("case_worker"))
OWNER = select(case_workers.c.employment_area, case_workers.c.case_worker_id).where(
    case_workers.c.client_id == bindparam("client"))


async def note(connection: AsyncConnection, client_id: UUID, area: str, case_worker_id: str) -> None:
    """The client's case worker from now on; the area stays the one of the client's first event."""
    names = {"client": str(client_id), "case_worker": case_worker_id}
    if (await connection.execute(REASSIGN, names)).rowcount == 0:
        await connection.execute(FIRST_SEEN, names | {"area": area})


async def owner_of(connection: AsyncConnection, client_id: UUID) -> Owner | None:
    row = (await connection.execute(OWNER, {"client": str(client_id)})).first()
    return Owner(*row) if row else None
