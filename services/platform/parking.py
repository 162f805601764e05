"""Events that wait in a consumer's own database for a prerequisite (a placement before its client's
enrolment): kept with the aggregate they wait for, and applied, in stream order, once it changes.

Waiting costs no delivery and no retry: an event never runs out of tries because another was slow.
But an event that waits longer than `POLKU_MAX_PARKED_S` (a day) waits for something that is not coming
(a placement of a client never enrolled here): it goes to the dead letters with why it waited, and its
inbox row goes with it, so `polku dead-letters replay` applies it once it can. `polku status` lists
what is parked (each service's /parked).
"""
import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web
from opentelemetry.instrumentation.utils import suppress_instrumentation
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.envelope import EventEnvelope
from services.platform import dead_letters
from services.platform.commit_groups import transaction
from services.platform.dates import aware
from services.platform.tables import inbox, parked_events

OVERDUE_PER_SWEEP = 100
log = logging.getLogger(__name__)


class NoLongerParked(Exception):
    """The parked event was dead-lettered (or applied) meanwhile: this try changes nothing."""


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
    return [_parked(row) for row in rows]


async def release(connection: AsyncConnection, consumer: str, event_id: str) -> None:
    """In the transaction that applied the event; one the sweep dead-lettered meanwhile rolls it back."""
    released = await connection.execute(delete(parked_events).where(
        parked_events.c.consumer == consumer, parked_events.c.event_id == event_id))
    if released.rowcount != 1:
        raise NoLongerParked(f"event {event_id} is no longer parked for {consumer} (dead-lettered meanwhile)")


async def still_waiting(connection: AsyncConnection, consumer: str, event_id: str, waiting_for: str,
                        reason: str) -> None:
    await connection.execute(update(parked_events).where(
        parked_events.c.consumer == consumer, parked_events.c.event_id == event_id).values(
        waiting_for=waiting_for, reason=reason))


async def count(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return (await connection.execute(select(func.count()).select_from(parked_events))).scalar_one()


async def oldest(engine: AsyncEngine, consumer: str, limit: int = 50) -> list[Parked]:
    """The consumer's parked events, the longest waiting first (a probe: no part of any trace)."""
    with suppress_instrumentation():
        async with engine.connect() as connection:
            rows = (await connection.execute(select(parked_events).where(parked_events.c.consumer == consumer)
                                             .order_by(parked_events.c.parked_at).limit(limit))).all()
    return [_parked(row) for row in rows]


async def dead_letter_overdue(engine: AsyncEngine, js, dead_letter_stream: str, consumer: str,
                              most: timedelta) -> list[str]:
    """Dead-letter the events parked longer than `most`, each in a transaction that takes its parked and
    inbox rows: published first, committed after the ack (a crash between publishes it again under the same
    message id, which the stream drops). Returns their event ids."""
    cutoff = datetime.now(UTC) - most
    with suppress_instrumentation():  # a sweep that finds nothing is no flow an operator follows
        async with engine.connect() as connection:
            overdue = (await connection.execute(select(parked_events).where(
                parked_events.c.consumer == consumer, parked_events.c.parked_at < cutoff)
                .order_by(parked_events.c.stream_sequence).limit(OVERDUE_PER_SWEEP))).all()
    sent = []
    for row in overdue:
        async with transaction(engine) as connection:
            taken = await connection.execute(delete(parked_events).where(
                parked_events.c.consumer == consumer, parked_events.c.event_id == row.event_id,
                parked_events.c.parked_at < cutoff))
            if taken.rowcount != 1:  # applied meanwhile
                continue
            await connection.execute(delete(inbox).where(inbox.c.consumer == consumer,
                                                         inbox.c.event_id == row.event_id))
            waited = datetime.now(UTC) - aware(row.parked_at)
            await dead_letters.send_parked(
                js, dead_letter_stream, consumer, EventEnvelope.model_validate_json(row.envelope),
                f"parked {int(waited.total_seconds())} s, longer than {int(most.total_seconds())} s, waiting for "
                f"{row.waiting_for}: {row.reason}")
        sent.append(row.event_id)
        log.warning("a parked event waited too long; dead-lettered", extra={
            "consumer": consumer, "event_id": row.event_id, "waiting_for": row.waiting_for})
    return sent


async def sweep_every(runtime, interval_s: float = 60.0) -> None:
    """Every service with a consumer: dead-letter what waited too long, at start and every `interval_s`."""
    most = timedelta(seconds=runtime.settings.max_parked_s)
    while True:
        js = runtime.jetstream()
        if js is not None:
            try:
                await dead_letter_overdue(runtime.engine, js, runtime.settings.dead_letter_stream,
                                          runtime.consumer.name, most)
            except Exception:
                log.warning("overdue parked events not dead-lettered; tried again later", exc_info=True)
        await asyncio.sleep(min(interval_s, runtime.settings.max_parked_s / 4))


def parked_endpoint(runtime):
    """GET /parked: what the service's consumer keeps waiting, for `polku status` (ids, types and reasons:
    no personal data, as on the bus)."""

    async def list_parked(_request: web.Request) -> web.Response:
        if runtime.consumer is None:
            return web.json_response({"consumer": None, "parked": []})
        now = datetime.now(UTC)
        return web.json_response({"consumer": runtime.consumer.name, "max_parked_s": runtime.settings.max_parked_s,
                                  "parked": [{"event_id": parked.event_id, "event_type": parked.envelope.type,
                                              "waiting_for": parked.waiting_for, "reason": parked.reason,
                                              "parked_s": round((now - parked.parked_at).total_seconds(), 1)}
                                             for parked in await oldest(runtime.engine, runtime.consumer.name)]})

    return list_parked


def _parked(row) -> Parked:
    return Parked(row.event_id, row.waiting_for, EventEnvelope.model_validate_json(row.envelope), row.reason,
                  aware(row.parked_at))
