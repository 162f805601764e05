"""The case_workers table (tables.py): each client's case worker, area and latest enrolment period,
kept from intake's events."""
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.pathway.tables import case_workers


@dataclass(frozen=True)
class Owner:
    employment_area: str
    case_worker_id: str
    latest_period: int | None  # None: a row from before migration pathway_0002


# One statement where an UPDATE and then an INSERT were two (a third of pathway's statements when
# catching up). Both databases take this ON CONFLICT. The area stays the one of the client's first
# event; the period only grows, as enrolments of two periods are events of two aggregates, in either order.
NOTE = text("""
    INSERT INTO case_workers (client_id, employment_area, case_worker_id, latest_period)
    VALUES (:client, :area, :case_worker, :period)
    ON CONFLICT (client_id) DO UPDATE SET
        case_worker_id = excluded.case_worker_id,
        latest_period = CASE WHEN case_workers.latest_period IS NULL
                               OR excluded.latest_period > case_workers.latest_period
                             THEN excluded.latest_period ELSE case_workers.latest_period END""")
OWNER = select(case_workers.c.employment_area, case_workers.c.case_worker_id, case_workers.c.latest_period).where(
    case_workers.c.client_id == bindparam("client"))


async def note(connection: AsyncConnection, client_id: UUID, area: str, case_worker_id: str,
               period: int | None = None) -> None:
    """The client's case worker from now on, and the period of an enrolment (`period`)."""
    await connection.execute(NOTE, {"client": str(client_id), "area": area, "case_worker": case_worker_id,
                                    "period": period})


async def owner_of(connection: AsyncConnection, client_id: UUID) -> Owner | None:
    row = (await connection.execute(OWNER, {"client": str(client_id)})).first()
    return Owner(*row) if row else None
