"""Rebuild reporting's projections: empty the tables and replay the stream from its first event.

Batches, not per-message handlers: thousands of messages are pulled, decoded and applied in
one transaction per batch, through the same `project` the live consumer uses. `make bench`
measures it against a bare pull and decode of the same stream.
"""
import gc
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from nats.aio.client import Client
from nats.aio.msg import Msg
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from tqdm import tqdm

from contracts.envelope import ALL_EVENTS, EventEnvelope
from contracts.registry import decode
from services.platform.consumer import UNDECODABLE
from services.platform.stream_reader import read_batches
from services.reporting.projections import HANDLED_TYPES, Item, project
from services.reporting.tables import PROJECTION_TABLES

log = logging.getLogger(__name__)
REBUILD_CACHE_KIB = 32 * 1024
COLLECT_GARBAGE_EVERY = 500_000  # messages; see _collector_spared


async def rebuild(engine: AsyncEngine, nc: Client, stream: str, batch_size: int = 5000,
                  show_progress: bool = True) -> int:
    """Returns how many messages were replayed.

    Events held back for a missing earlier version are offered again with the next batch; any
    still held at the end, and messages that do not decode, are logged (the live consumer
    dead-letters the same ones).
    """
    async with engine.begin() as connection:
        for table in PROJECTION_TABLES:
            await connection.execute(delete(table))
    total = (await nc.jetstream().stream_info(stream)).state.messages
    replayed, held = 0, []
    with tqdm(total=total, unit="event", desc="rebuild", disable=not show_progress) as progress, \
            _collector_spared():
        async with engine.connect() as connection, _bulk_writes(connection):
            async for batch in read_batches(nc, stream, ALL_EVENTS, batch_size):
                items = held + _decoded(batch)
                async with connection.begin():
                    held = await project(connection, items)
                if replayed // COLLECT_GARBAGE_EVERY != (replayed + len(batch)) // COLLECT_GARBAGE_EVERY:
                    gc.collect()
                replayed += len(batch)
                progress.update(len(batch))
    for envelope, _ in held:
        log.warning("event not projected: an earlier version of its aggregate is not on the stream", extra={
            "event_id": str(envelope.id), "event_type": envelope.type, "aggregate_id": envelope.aggregateid,
            "aggregate_version": envelope.aggregateversion})
    return replayed


def _decoded(batch: list[Msg]) -> list[Item]:
    items = []
    for msg in batch:
        try:
            envelope = EventEnvelope.model_validate_json(msg.data)
            if envelope.type in HANDLED_TYPES:
                items.append((envelope, decode(envelope)))
        except UNDECODABLE as error:
            log.warning("message skipped: it does not decode", extra={
                "subject": msg.subject, "error": f"{type(error).__name__}: {error}"})
    return items


@asynccontextmanager
async def _bulk_writes(connection: AsyncConnection) -> AsyncIterator[None]:
    """On SQLite, a page cache that holds the projection tables' indexes, and no fsync per batch.

    The default cache (2 MB) is outgrown by the indexes of a few hundred thousand rows, after which
    every key lookup and insert reads pages back. A rebuild that a crash cuts short is simply run
    again, so its batches need not wait for the disk; the settings end with the rebuild.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    await connection.exec_driver_sql(f"PRAGMA cache_size=-{REBUILD_CACHE_KIB}")
    await connection.exec_driver_sql("PRAGMA synchronous=OFF")
    await connection.commit()
    try:
        yield
    finally:
        await connection.exec_driver_sql("PRAGMA synchronous=FULL")
        await connection.exec_driver_sql("PRAGMA cache_size=-2000")
        await connection.commit()


@contextmanager
def _collector_spared() -> Iterator[None]:
    """Run Python's garbage collector every COLLECT_GARBAGE_EVERY messages instead of by its thresholds.

    A batch of decoded events stays alive until it is written: tens of thousands of objects, which
    outlive the young generations and so set off a full collection about every batch, each walking
    every object of the process. That took about as long as the decoding itself. Objects from before
    the replay are frozen (never walked); the replay's own cyclic garbage is collected on schedule,
    so memory stays flat.
    """
    was_enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.unfreeze()
