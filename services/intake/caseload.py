"""The caseload and follow-up tables (tables.py): written with the client's events, read by case workers
and managers."""
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Table, and_, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.envelope import EventEnvelope
from contracts.registry import decode
from services.intake.domain.client import CLIENT, Client
from services.intake.domain.journey import follow_up_due_on
from services.intake.tables import caseload, follow_ups
from services.platform.event_store import fold
from services.platform.tables import events
from services.platform.upserts import upsert


Row = tuple[Table, dict, dict]  # table, key columns, the other columns


def rows_of(client_id, client: Client) -> list[Row]:
    """The client's caseload row and a follow-up row per exited period (the current step is not here:
    it comes from pathway's events)."""
    period = client.current
    rows: list[Row] = [(caseload, {"client_id": str(client_id)}, {
        "employment_area": client.employment_area, "case_worker_id": client.case_worker_id,
        "status": client.status, "period": period.number, "programme": period.programme,
        "referred_on": period.referred_on, "exited_on": period.exited_on})]
    for exited in (period for period in client.periods if period.exited_on is not None):
        rows.append((follow_ups, {"client_id": str(client_id), "period": exited.number}, {
            "employment_area": client.employment_area, "case_worker_id": client.case_worker_id,
            "exited_on": exited.exited_on, "due_on": follow_up_due_on(exited.exited_on),
            "recorded_on": exited.follow_up_on}))
    return rows


async def save(connection: AsyncConnection, client_id, client: Client) -> None:
    """The client's rows after their new events, in their transaction."""
    for table, key, row in rows_of(client_id, client):
        await upsert(connection, table, key, row)


def backfill(connection: Connection) -> int:
    """The rows of every client already in the event log (the migration that made the tables runs
    this, so clients referred before the caseload existed are in it); returns how many clients."""
    history: dict[str, list] = {}
    for (envelope,) in connection.execute(select(events.c.envelope).where(events.c.aggregate_type == "Client")
                                          .order_by(events.c.aggregate_id, events.c.aggregate_version)):
        parsed = EventEnvelope.model_validate_json(envelope)
        history.setdefault(parsed.aggregateid, []).append(decode(parsed))
    for client_id, client_events in history.items():
        for table, key, row in rows_of(client_id, fold(CLIENT, client_events)):
            connection.execute(insert(table).values(**key, **row))
    return len(history)


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
    """Exited periods whose six-month follow-up is due by `by` and not recorded, oldest first."""
    where = [follow_ups.c.employment_area == area, follow_ups.c.recorded_on.is_(None), follow_ups.c.due_on <= by]
    if case_worker_id is not None:
        where.append(follow_ups.c.case_worker_id == case_worker_id)
    rows = await connection.execute(select(follow_ups).where(*where)
                                    .order_by(follow_ups.c.due_on, follow_ups.c.client_id, follow_ups.c.period))
    return [dict(row._mapping) for row in rows]
