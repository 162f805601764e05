"""Rebuild reporting's projections: empty the tables and replay the stream from its first event.

Batches, not per-message handlers: thousands of messages are pulled, decoded and applied in
one transaction per batch, through the same `fold` and `write` the live consumer uses. A batch's
write runs in the database's thread while the next batch is decoded. `make bench` measures it
against a bare pull and decode of the same stream.
"""
import asyncio
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
from services.platform.stream_reader import REPLAY_BATCH, read_batches
from services.reporting.projections import HANDLED_TYPES, Folded, Item, fold, write
from services.reporting.tables import PROJECTION_TABLES

log = logging.getLogger(__name__)
REBUILD_CACHE_KIB = 32 * 1024
COLLECT_GARBAGE_EVERY = 500_000  # messages; see _collector_spared
DECODE_SLICE = 500  # messages decoded between turns of the event loop, so the write task moves on


async def rebuild(engine: AsyncEngine, nc: Client, stream: str, batch_size: int = REPLAY_BATCH,
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
    with tqdm(total=total, unit="event", desc="rebuild", disable=not show_progress) as progress, \
            _collector_spared():
        async with engine.connect() as connection, _bulk_writes(connection):
            replayed, held = await _replay(connection, read_batches(nc, stream, ALL_EVENTS, batch_size), progress)
    for envelope, _ in held:
        log.warning("event not projected: an earlier version of its aggregate is not on the stream", extra={
            "event_id": str(envelope.id), "event_type": envelope.type, "aggregate_id": envelope.aggregateid,
            "aggregate_version": envelope.aggregateversion})
    return replayed


async def _replay(connection: AsyncConnection, batches: AsyncIterator[list[Msg]],
                  progress: tqdm) -> tuple[int, list[Item]]:
    """Returns how many messages were replayed, and the events still held back at the end."""
    replayed, held = 0, []
    writing: asyncio.Task | None = None
    try:
        async for batch in batches:
            count, decoded = len(batch), await _decoded(batch)
            del batch  # two batches of messages and decoded events in memory are enough
            if writing:
                await writing  # the next fold must see what the last batch wrote
            await connection.begin()  # committed by the write task
            folded = await fold(connection, held + decoded)
            held = folded.held
            del decoded
            writing = asyncio.create_task(_write_and_commit(connection, folded))
            if replayed // COLLECT_GARBAGE_EVERY != (replayed + count) // COLLECT_GARBAGE_EVERY:
                gc.collect()
            replayed += count
            progress.update(count)
        if writing:
            await writing
    except BaseException:
        await _abandon(connection, writing)
        raise
    return replayed, held


async def _abandon(connection: AsyncConnection, writing: asyncio.Task | None) -> None:
    """After a failure: let a running write end (never roll back under it), take its error (the one
    raised is the caller's), and roll the open batch back, so the connection closes cleanly."""
    if writing:
        await asyncio.wait([writing])
        if not writing.cancelled():
            writing.exception()
    if connection.in_transaction():
        await connection.rollback()


async def _write_and_commit(connection: AsyncConnection, folded: Folded) -> None:
    await write(connection, folded)
    await connection.commit()


async def _decoded(batch: list[Msg]) -> list[Item]:
    """Decoded in slices: between them the write task hands its next statement to the database."""
    items = []
    for number, msg in enumerate(batch, start=1):
        if number % DECODE_SLICE == 0:
            await asyncio.sleep(0)
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
