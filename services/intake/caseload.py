"""The caseload table (tables.py): written with the client's events, read by case workers and managers."""
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.intake.domain.client import Client
from services.intake.domain.journey import follow_up_due_on
from services.intake.tables import caseload


async def save(connection: AsyncConnection, client_id, client: Client) -> None:
    """The client's row after their new events; the current step (from pathway's events) stays."""
    period = client.current
    row = {"employment_area": client.employment_area, "case_worker_id": client.case_worker_id,
           "status": client.status, "period": period.number, "programme": period.programme,
           "referred_on": period.referred_on, "exited_on": period.exited_on,
           "follow_up_due_on": follow_up_due_on(period.exited_on) if period.exited_on else None,
           "follow_up_recorded_on": period.follow_up_on}
    changed = await connection.execute(update(caseload).where(caseload.c.client_id == str(client_id)).values(row))
    if changed.rowcount == 0:
        await connection.execute(insert(caseload).values(client_id=str(client_id), **row))


async def set_current_step(connection: AsyncConnection, client_id, area: str, step_id: str,
                           step_kind: str | None) -> None:
    """A step started (kind given) or ended (None); an end only clears the step it ends."""
    where = and_(caseload.c.client_id == str(client_id), caseload.c.employment_area == area)
    if step_kind is None:
        where = and_(where, caseload.c.current_step_id == step_id)
        values = {"current_step_id": None, "current_step_kind": None}
    else:
        values = {"current_step_id": step_id, "current_step_kind": step_kind}
    await connection.execute(update(caseload).where(where).values(values))


@dataclass(frozen=True)
class Page:
    rows: list[dict]
    total: int


async def clients_of(connection: AsyncConnection, area: str, case_worker_id: str, status: str | None,
                     step_kind: str | None, limit: int, offset: int) -> Page:
    where = [caseload.c.employment_area == area, caseload.c.case_worker_id == case_worker_id]
    if status:
        where.append(caseload.c.status == status)
    if step_kind:
        where.append(caseload.c.current_step_kind == step_kind)
    total = (await connection.execute(select(func.count()).select_from(caseload).where(*where))).scalar_one()
    rows = await connection.execute(select(caseload).where(*where)
                                    .order_by(caseload.c.referred_on, caseload.c.client_id).limit(limit).offset(offset))
    return Page([dict(row._mapping) for row in rows], total)


async def per_case_worker(connection: AsyncConnection, area: str) -> list[dict]:
    """A manager's view: how many clients each case worker of the area has, by status."""
    rows = await connection.execute(
        select(caseload.c.case_worker_id, caseload.c.status, func.count().label("clients"))
        .where(caseload.c.employment_area == area, caseload.c.case_worker_id.is_not(None))
        .group_by(caseload.c.case_worker_id, caseload.c.status)
        .order_by(caseload.c.case_worker_id, caseload.c.status))
    return [dict(row._mapping) for row in rows]


async def follow_ups_due(connection: AsyncConnection, area: str, case_worker_id: str | None, by: date) -> list[dict]:
    """Exited clients whose six-month follow-up is due by `by` and not recorded, oldest first."""
    where = [caseload.c.employment_area == area, caseload.c.status == "exited",
             caseload.c.follow_up_recorded_on.is_(None), caseload.c.follow_up_due_on <= by]
    if case_worker_id is not None:
        where.append(caseload.c.case_worker_id == case_worker_id)
    rows = await connection.execute(select(caseload).where(*where)
                                    .order_by(caseload.c.follow_up_due_on, caseload.c.client_id))
    return [dict(row._mapping) for row in rows]
