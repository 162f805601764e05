"""Reading and writing employer's lookup tables (services/employer/tables.py) within a unit of work."""
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events.employer import PlacementStarted
from services.employer.domain.clients import ClientFacts
from services.employer.domain.placements import Span
from services.employer.tables import (client_revisions, client_steps, clients, employer_business_ids, placement_spans,
                                      proposals)
from services.platform.errors import StateConflict
from services.platform.last_writes import last_write
from services.platform.upserts import upsert

CLIENT_COLUMNS = (clients.c.client_id, clients.c.employment_area, clients.c.enrolled, clients.c.exited,
                  clients.c.case_worker_id, clients.c.municipality, clients.c.age_band, clients.c.months_unemployed,
                  clients.c.priority_groups, clients.c.skill_tags, clients.c.hours_in_steps, clients.c.revision)
# Built once: matching's cache runs this for every screen a coordinator opens.
CHANGED_SINCE = select(*CLIENT_COLUMNS).where(clients.c.employment_area == bindparam("area"),
                                              clients.c.revision > bindparam("revision"))
ADD_HOURS = (update(clients).where(clients.c.client_id == bindparam("client"))
             .values(hours_in_steps=clients.c.hours_in_steps + bindparam("hours")))
SET_REVISION = update(clients).where(clients.c.client_id == bindparam("client")).values(revision=bindparam("revision"))
BUMP = (update(client_revisions).where(client_revisions.c.employment_area == bindparam("area"))
        .values(revision=client_revisions.c.revision + 1).returning(client_revisions.c.revision))


async def reserve_business_id(connection: AsyncConnection, area: str, business_id: str, employer_id: UUID) -> None:
    """One employer per Y-tunnus and area; the table's key also refuses a concurrent second one."""
    existing = (await connection.execute(select(employer_business_ids.c.employer_id).where(
        employer_business_ids.c.employment_area == area, employer_business_ids.c.business_id == business_id))
    ).scalar_one_or_none()
    if existing:
        raise StateConflict(f"business_id: {business_id} is registered in area {area} already, as employer {existing}")
    await connection.execute(insert(employer_business_ids).values(
        employment_area=area, business_id=business_id, employer_id=str(employer_id)))


def _facts(row) -> ClientFacts:
    return ClientFacts(client_id=UUID(row.client_id), employment_area=row.employment_area, enrolled=row.enrolled,
                       exited=row.exited, case_worker_id=row.case_worker_id, municipality=row.municipality,
                       age_band=row.age_band, months_unemployed=row.months_unemployed,
                       priority_groups=tuple(row.priority_groups), skill_tags=frozenset(row.skill_tags),
                       hours_in_steps=row.hours_in_steps)


async def client_facts(connection: AsyncConnection, client_id: UUID) -> ClientFacts | None:
    row = (await connection.execute(select(*CLIENT_COLUMNS).where(clients.c.client_id == str(client_id)))).first()
    return _facts(row) if row else None


async def clients_changed_since(connection: AsyncConnection, area: str, revision: int) -> list[tuple[int, ClientFacts]]:
    """The area's clients changed after `revision`, each with its revision (for matching's cache)."""
    return [(row.revision, _facts(row))
            for row in await connection.execute(CHANGED_SINCE, {"area": area, "revision": revision})]


class RevisionAtCommit:
    """The clients a transaction changed, by area, given the area's next revision just before it commits
    (services/platform/last_writes.py): one number for all of them (a batch of 500 events bumped the
    counter 500 times), and the counter's row locked for two statements and the commit, not from a
    consumer batch's first event to its end. A client whose change a savepoint rolled back only gets a
    revision it did not need: matching's cache reads its row again."""

    def __init__(self):
        self.changed: dict[str, set[str]] = {}

    async def write(self, connection: AsyncConnection) -> None:
        for area in sorted(self.changed):
            revision = (await connection.execute(BUMP, {"area": area})).scalar_one_or_none()
            if revision is None:
                await connection.execute(insert(client_revisions).values(employment_area=area, revision=1))
                revision = 1
            await connection.execute(SET_REVISION, [{"client": client_id, "revision": revision}
                                                    for client_id in sorted(self.changed[area])])


def _changed(connection: AsyncConnection, client_id: UUID, area: str) -> None:
    last_write(connection, "employer.client_revisions", RevisionAtCommit).changed.setdefault(area, set()).add(
        str(client_id))


async def note_client(connection: AsyncConnection, client_id: UUID, area: str, **facts: Any) -> None:
    """Sets facts of a client, adding the client when first heard of (in `area`, which stays)."""
    await upsert(connection, clients, {"client_id": str(client_id)}, facts, on_insert={"employment_area": area})
    _changed(connection, client_id, area)


async def _add_hours(connection: AsyncConnection, client_id: UUID, area: str, hours: int) -> None:
    """`hours` a week more of the client's time in steps (fewer when negative)."""
    added = await connection.execute(ADD_HOURS, {"client": str(client_id), "hours": hours})
    if added.rowcount == 0:
        raise StateConflict(f"client {client_id} is not known here yet")
    _changed(connection, client_id, area)


async def spans_of(connection: AsyncConnection, client_id: UUID) -> list[Span]:
    rows = await connection.execute(select(placement_spans).where(placement_spans.c.client_id == str(client_id)))
    return [Span(UUID(row.placement_id), UUID(row.employer_id), row.kind, row.starts_on, row.last_day)
            for row in rows]


async def record_start(connection: AsyncConnection, started: PlacementStarted, area: str) -> None:
    """The placement's span, and its hours a week taken from the client's free time."""
    hours = round(started.schedule.hours_per_week) if started.schedule else 0
    await connection.execute(insert(placement_spans).values(
        placement_id=str(started.placement_id), client_id=str(started.client_id),
        employer_id=str(started.employer_id), kind=started.kind, starts_on=started.starts_on,
        last_day=started.planned_end_on or started.starts_on, hours_per_week=hours, ended=False))
    await _add_hours(connection, started.client_id, area, hours)


async def record_span_end(connection: AsyncConnection, placement_id: UUID, client_id: UUID, area: str,
                          last_day: date, ended: bool) -> None:
    """A new last day; an ended placement gives the client its hours a week back."""
    if ended:
        hours = (await connection.execute(select(placement_spans.c.hours_per_week).where(
            placement_spans.c.placement_id == str(placement_id)))).scalar_one()
        await _add_hours(connection, client_id, area, -hours)
    await connection.execute(update(placement_spans).where(placement_spans.c.placement_id == str(placement_id))
                             .values(last_day=last_day, ended=ended))


async def start_step(connection: AsyncConnection, step_id: UUID, client_id: UUID, area: str, hours: int) -> None:
    """A case worker's step the client started takes `hours` a week of the client's time."""
    await connection.execute(insert(client_steps).values(step_id=str(step_id), client_id=str(client_id),
                                                         hours_per_week=hours))
    await _add_hours(connection, client_id, area, hours)


async def end_step(connection: AsyncConnection, step_id: UUID, client_id: UUID, area: str) -> None:
    """A step that ended gives its hours back; one never started (cancelled while planned) has none."""
    hours = (await connection.execute(select(client_steps.c.hours_per_week).where(
        client_steps.c.step_id == str(step_id)))).scalar_one_or_none()
    if hours is not None:
        await connection.execute(client_steps.delete().where(client_steps.c.step_id == str(step_id)))
        await _add_hours(connection, client_id, area, -hours)


async def record_proposal(connection: AsyncConnection, proposal_id: UUID, client: ClientFacts,
                          proposed_on: date) -> None:
    await connection.execute(insert(proposals).values(
        proposal_id=str(proposal_id), client_id=str(client.client_id), employment_area=client.employment_area,
        status="proposed", proposed_on=proposed_on))


async def record_decision(connection: AsyncConnection, proposal_id: UUID, status: str) -> None:
    await connection.execute(update(proposals).where(proposals.c.proposal_id == str(proposal_id))
                             .values(status=status))


async def proposal_ids(connection: AsyncConnection, area: str, case_worker_id: str | None,
                       status: str | None) -> list[UUID]:
    """Proposals of the area, or of one case worker's own clients; newest first."""
    query = (select(proposals.c.proposal_id).join(clients, clients.c.client_id == proposals.c.client_id)
             .where(proposals.c.employment_area == area)
             .order_by(proposals.c.proposed_on.desc(), proposals.c.proposal_id))
    if case_worker_id is not None:
        query = query.where(clients.c.case_worker_id == case_worker_id)
    if status is not None:
        query = query.where(proposals.c.status == status)
    return [UUID(proposal_id) for (proposal_id,) in await connection.execute(query)]
