"""A probe service for delivery tests: it records every event it processes, and can be told to fail.

Its handler is deliberately not idempotent on its own (a plain insert per processing), so only
the platform's inbox stands between a redelivery and a double count.
"""
from dataclasses import dataclass, field
from datetime import date
from uuid import UUID, uuid4

from nats.js import JetStreamContext
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.envelope import EventEnvelope
from contracts.events.intake import ClientEnrolled
from services.platform.consumer import Subscription
from services.platform.relay import OutboxRelay
from services.platform.service import ServiceDefinition
from services.platform.unit_of_work import UnitOfWork
from tests.integration.histories import envelope_of

metadata = MetaData()
processed = Table(
    "probe_processed", metadata,
    Column("row", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
)


@dataclass
class Probe:
    """`failing` holds client ids whose events the handler refuses (a poison message) until removed."""

    failing: set[UUID] = field(default_factory=set)
    attempts: dict[UUID, int] = field(default_factory=dict)

    async def handle(self, uow: UnitOfWork, event: ClientEnrolled, envelope: EventEnvelope) -> None:
        self.attempts[event.client_id] = self.attempts.get(event.client_id, 0) + 1
        await uow.connection.execute(insert(processed).values(event_id=str(envelope.id)))
        if event.client_id in self.failing:
            raise RuntimeError(f"probe refuses client {event.client_id}")

    def definition(self) -> ServiceDefinition:
        return ServiceDefinition(name="probe", description="test probe", routes=[],
                                 subscription=Subscription("probe", {ClientEnrolled: self.handle}))


async def create_probe_table(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)


async def processed_ids(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return [event_id for (event_id,) in await connection.execute(select(processed.c.event_id))]


def enrolled_envelope(client_id: UUID | None = None, area: str = "kemi") -> EventEnvelope:
    event = ClientEnrolled(client_id=client_id or uuid4(), period=1, case_worker_id="cw-1",
                           enrolled_on=date(2026, 9, 2))
    return envelope_of(event, 3, area)


def client_of(envelope: EventEnvelope) -> UUID:
    return UUID(envelope.aggregateid)


async def publish(js: JetStreamContext, envelope: EventEnvelope, msg_id: str | None = None) -> None:
    """As the relay does; a different `msg_id` is a copy the stream's duplicate window cannot catch."""
    await js.publish(envelope.nats_subject, envelope.model_dump_json().encode(), stream="POLKU",
                     headers={"Nats-Msg-Id": msg_id or str(envelope.id), "ce-type": envelope.type})


class CrashBeforeMarking(OutboxRelay):
    """A relay killed after its batch was published and before the outbox rows were marked sent."""

    async def mark_sent(self, positions: list[int]) -> None:
        raise ConnectionError("relay killed after publishing, before marking")
