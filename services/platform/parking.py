"""Events that wait in a consumer's own database for a prerequisite (a placement before its client's
enrolment): kept with the aggregate they wait for, and applied, in stream order, once it changes.

Waiting costs no delivery and no retry: an event never runs out of tries because another was slow.
"""
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.envelope import EventEnvelope
from services.platform.tables import parked_events


@dataclass(frozen=True)
class Parked:
    event_id: str
    waiting_for: str
    envelope: EventEnvelope
    reason: str
    parked_at: datetime


async def park(connection: AsyncConnection, consumer: str, envelope: EventEnvelope, stream_sequence: int,
               waiting_for: str, reason: str) -> None:
    await connection.execute(insert(parked_events).values(
        consumer=consumer, event_id=str(envelope.id), waiting_for=waiting_for, stream_sequence=stream_sequence,
        envelope=envelope.model_dump_json(), reason=reason, parked_at=datetime.now(UTC)))


async def waiting(connection: AsyncConnection, consumer: str, waiting_for: Iterable[str] | None = None,
                  limit: int | None = None) -> list[Parked]:
    """The consumer's parked events waiting for any of `waiting_for` (None: all), in stream order."""
    query = select(parked_events).where(parked_events.c.consumer == consumer)
    if waiting_for is not None:
        query = query.where(parked_events.c.waiting_for.in_(list(waiting_for)))
    rows = await connection.execute(query.order_by(parked_events.c.stream_sequence).limit(limit))
    return [Parked(row.event_id, row.waiting_for, EventEnvelope.model_validate_json(row.envelope), row.reason,
                   row.parked_at) for row in rows]


async def release(connection: AsyncConnection, consumer: str, event_id: str) -> None:
    await connection.execute(delete(parked_events).where(
        parked_events.c.consumer == consumer, parked_events.c.event_id == event_id))


async def still_waiting(connection: AsyncConnection, consumer: str, event_id: str, waiting_for: str,
                        reason: str) -> None:
    await connection.execute(update(parked_events).where(
        parked_events.c.consumer == consumer, parked_events.c.event_id == event_id).values(
        waiting_for=waiting_for, reason=reason))


async def count(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return (await connection.execute(select(func.count()).select_from(parked_events))).scalar_one()
