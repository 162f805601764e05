"""Scripted histories for integration tests, written through the real event store."""
from datetime import date
from uuid import UUID, uuid4

from contracts.envelope import EventEnvelope, dataschema_for

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.events.intake import ClientEnrolled, ClientReferred, EligibilityAssessed
from services.intake.domain.client import CLIENT
from services.platform.event_store import Cause
from services.platform.tables import events, inbox, outbox, parked_events
from services.reporting.tables import PROJECTION_TABLES
from services.platform.unit_of_work import UnitOfWork


def client_history(client_id: UUID, area: str = "kemi") -> list:
    return [
        ClientReferred(client_id=client_id, referral_id=uuid4(), period=1, programme="kemi_model",
                       referred_by="te_office", employment_area=area, municipality="Kemi", age_band="25_29",
                       gender="female", referred_on=date(2026, 9, 1)),
        EligibilityAssessed(client_id=client_id, eligible=True, programme="kemi_model",
                            rule_set_version="kemi_model/2015-01-01", criterion="long_term_unemployed",
                            rule_source="test", failed_criteria=(), target_groups=("long_term_unemployed",)),
        ClientEnrolled(client_id=client_id, period=1, case_worker_id="cw-1", enrolled_on=date(2026, 9, 2)),
    ]


AGGREGATE_ID_FIELDS = {"PayrollRun": "run_id", "SubsidyClaim": "claim_id"}


def envelope_of(event, version: int, area: str = "kemi") -> EventEnvelope:
    """The envelope the event store would write for `event` as version `version` of its aggregate."""
    aggregate_id = str(getattr(event, AGGREGATE_ID_FIELDS.get(event.aggregate_type, f"{event.aggregate_type.lower()}_id")))
    return EventEnvelope(
        id=uuid4(), source=f"/polku/{event.service}", type=type(event).__name__, time="2026-09-02T08:00:00Z",
        subject=aggregate_id, dataschema=dataschema_for(type(event).__name__, event.schema_version),
        aggregatetype=event.aggregate_type, aggregateid=aggregate_id, aggregateversion=version,
        employmentarea=area, correlationid=uuid4(), data=event.model_dump(mode="json"))


async def append_clients(engine: AsyncEngine, count: int, area: str = "kemi") -> list[UUID]:
    """`count` enrolled clients in intake's store: three events each, one transaction per client."""
    client_ids = [uuid4() for _ in range(count)]
    for client_id in client_ids:
        async with UnitOfWork(engine, "intake", Cause.new()) as uow:
            await uow.decide(CLIENT, str(client_id), lambda _: client_history(client_id, area), area=area)
    return client_ids


async def count_rows(engine: AsyncEngine, table) -> int:
    async with engine.connect() as connection:
        return (await connection.execute(select(func.count()).select_from(table))).scalar_one()


async def projections_of(engine) -> dict:
    """Every projection row and every waiting event, as the reports and the live consumer see them."""
    async with engine.connect() as connection:
        seen = {table.name: sorted(tuple(row) for row in await connection.execute(select(table)))
                for table in PROJECTION_TABLES}
        seen["waiting"] = sorted(tuple(row) for row in await connection.execute(
            select(parked_events.c.consumer, parked_events.c.event_id, parked_events.c.waiting_for)))
        return seen


async def stored_event_ids(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(select(events.c.event_id).order_by(events.c.position))
        return [event_id for (event_id,) in rows]


__all__ = ["append_clients", "client_history", "envelope_of", "count_rows", "projections_of", "stored_event_ids", "events", "inbox", "outbox"]
