"""The case_workers table (tables.py): each client's case worker, area and latest enrolment period,
kept from intake's events. A batch of events reads its clients' rows at once (`prefetch_owners`)."""
from dataclasses import dataclass
from uuid import UUID

from collections.abc import Sequence

from sqlalchemy import bindparam, select, text

from services.pathway.tables import case_workers
from services.platform.among import among
from services.platform.consumer import Item
from services.platform.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Owner:
    employment_area: str
    case_worker_id: str
    latest_period: int | None  # None: a row from before migration pathway_0002


# One statement where an UPDATE and then an INSERT were two (a third of pathway's statements when
# catching up). Both databases take this ON CONFLICT. The area stays the one of the client's first
# event; the period only grows, as enrolments of two periods are events of two aggregates, in either order.
# A row from before the period was kept stays without one (NULL compares as unknown): which periods its
# client had is not known, and a late enrolment of an early period must not make it look like the last.
NOTE = text("""
    INSERT INTO case_workers (client_id, employment_area, case_worker_id, latest_period)
    VALUES (:client, :area, :case_worker, :period)
    ON CONFLICT (client_id) DO UPDATE SET
        case_worker_id = excluded.case_worker_id,
        latest_period = CASE WHEN excluded.latest_period > case_workers.latest_period
                             THEN excluded.latest_period ELSE case_workers.latest_period END
    RETURNING employment_area, case_worker_id, latest_period""")
COLUMNS = (case_workers.c.employment_area, case_workers.c.case_worker_id, case_workers.c.latest_period)
OWNER = select(*COLUMNS).where(case_workers.c.client_id == bindparam("client"))
OWNERS_AMONG = select(case_workers.c.client_id, *COLUMNS).where(among(case_workers.c.client_id, "clients"))


def _key(client_id: UUID | str) -> tuple[str, str]:
    return ("case_workers", str(client_id))


async def note(uow: UnitOfWork, client_id: UUID, area: str, case_worker_id: str, period: int | None = None) -> None:
    """The client's case worker from now on, and the period of an enrolment (`period`)."""
    row = (await uow.connection.execute(NOTE, {"client": str(client_id), "area": area, "case_worker": case_worker_id,
                                               "period": period})).one()
    uow.lookups[_key(client_id)] = Owner(*row)  # the row as merged: the batch's next event about the client reads it


async def owner_of(uow: UnitOfWork, client_id: UUID) -> Owner | None:
    if (key := _key(client_id)) in uow.lookups:
        return uow.lookups[key]
    row = (await uow.connection.execute(OWNER, {"client": str(client_id)})).first()
    return Owner(*row) if row else None


async def prefetch_owners(uow: UnitOfWork, items: Sequence[Item]) -> None:
    """The rows of every client the batch's events name, in one statement, where each event read its
    client's alone (a third of pathway's statements when catching up)."""
    clients = list({str(event.client_id) for _, event in items})
    rows = await uow.connection.execute(OWNERS_AMONG, {"clients": clients})
    found = {client: Owner(*owner) for client, *owner in rows}
    uow.lookups.update({_key(client): found.get(client) for client in clients})
