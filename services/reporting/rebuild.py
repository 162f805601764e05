"""Rebuild reporting's projections: replay the stream into new tables and swap them in at the end.

Batches, not per-message handlers: thousands of messages are pulled, decoded and applied in
one transaction per batch, through the same `fold` and `write` the live consumer uses. A batch's
write runs in the database's thread while the next batch is decoded. `make bench` measures it
against a bare pull and decode of the same stream.

The live tables serve reports, and take the live consumer's events, until the swap (swap.py): a
rebuild that fails or is killed before it leaves them as they were. The replay reads the stream up to
where it ended when the rebuild started, then catches up on what came meanwhile, and once little is
left, the swap takes the projection lock, applies the rest of the stream as it is then, and
swaps tables and waiting rooms in one transaction. Every event the live consumer had applied was on the
stream by then, so the new tables hold it; what the live consumer takes after the swap that they hold
already is a duplicate by version.

With `Parallel`, the stream up to where it ended at the start is replayed by several processes at once,
each folding the event types of one part of the projections (partitions.py: parts share no row) into the
same new tables; this process replays the largest part and the rest as before. The fold is Python's work
and holds the GIL, so threads would take turns: processes use the machine's other cores. A process reads
the services of its part's events (partitions.subjects, stream_reader.read_merged) and decodes only its
part's events.
"""
import asyncio
import gc
import json
import logging
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import asdict, dataclass, replace
from typing import Protocol

from nats.aio.client import Client
from nats.aio.msg import Msg
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from tqdm import tqdm

from contracts.envelope import ALL_EVENTS
from services.platform.consumer import UNDECODABLE
from services.platform.outages import is_outage
from services.platform.stream_reader import REPLAY_BATCH, read_batches, read_merged
from services.reporting import swap, waiting
from services.reporting.decoding import SUBSCRIBED, Subscriptions, decoded, subscriptions
from services.reporting.partitions import DEFAULT_PROCESSES, Part, partitions, subjects
from services.reporting.projections import LIVE, PROJECTORS, Folded, Item, Projections, Tally, fold, write

log = logging.getLogger(__name__)
REBUILD_CACHE_KIB = 32 * 1024
COLLECT_GARBAGE_EVERY = 500_000  # messages; see _collector_spared
DECODE_SLICE = 500  # messages decoded between turns of the event loop, so the write task moves on
SWAP_TRIES = 3  # a swap that meets a deadlock (PostgreSQL) or a lock held too long (SQLite) is tried again
# The swap holds the projection lock while it applies what is left of the stream: the replay first catches
# up without the lock until less than this is left (or for CATCH_UP_ROUNDS, should the stream outrun it).
LEFT_FOR_THE_SWAP = 1000
CATCH_UP_ROUNDS = 10
# A replay adds up the tallies' changes over batches in memory and writes them when they reach this many
# groups (~300 bytes each), and at its end: a group is written once for many batches, not once per batch
# (at 1M events the tallies' upserts were ~half of SQLite's time, share and ESF cells most of it). The 1M
# bench's stream has ~250,000 groups: held to the end, peak RSS ~470 MB (~450 MB writing them every batch);
# written at every 100,000, SQLite's thread took ~6 s more CPU (19 s against 13).
HELD_TALLY_GROUPS = 300_000


@dataclass(frozen=True)
class Parallel:
    """How a rebuild's other processes reach the database and NATS (an engine and a client don't cross
    processes), and how many processes replay at once, this one included (1: this one alone)."""

    database_url: str
    nats_url: str
    nats_user: str | None = None
    nats_password: str | None = None
    nats_tls_ca: str | None = None
    processes: int = DEFAULT_PROCESSES


class Progress(Protocol):
    def update(self, n: int) -> object: ...


async def rebuild(engine: AsyncEngine, nc: Client, stream: str, batch_size: int = REPLAY_BATCH,
                  show_progress: bool = True, parallel: Parallel | None = None) -> int:
    """Returns how many messages were replayed.

    Messages that do not decode and events that can never apply are logged (the live consumer
    dead-letters the same ones); events whose earlier version is not on the stream wait in the live
    waiting room after the swap, as they would had the live consumer taken them.
    """
    twins = swap.new_tables(engine.dialect.name)
    into = LIVE.into(twins, waiting.WaitingRoom(waiting.REBUILD, keys=set()))
    js = nc.jetstream()
    parts = partitions(PROJECTORS, parallel.processes if parallel else 1)
    with tqdm(total=(await js.stream_info(stream)).state.messages, unit="event", desc="rebuild",
              disable=not show_progress) as progress, _collector_spared():
        async with engine.connect() as connection, _bulk_writes(connection):
            async with connection.begin():
                await swap.create(connection, twins)
                await into.waiting.empty(connection)
            if len(parts) == 1:
                replayed, through, refused = await _replay(
                    connection, read_batches(nc, stream, ALL_EVENTS, batch_size), progress, into)
            else:
                # Every part reads what its consumer finds on the stream, at least up to `through`; the catch-up
                # reads on from there, and what a part had read already is a duplicate there.
                through = (await js.stream_info(stream)).state.last_seq
                replayed, refused = await _replay_in_parts(connection, nc, stream, batch_size, progress, into,
                                                           parts, parallel)
                # The other processes' rows and waiting events are in the database only.
                into = replace(into, waiting=waiting.WaitingRoom(waiting.REBUILD), written=None)
            for _ in range(CATCH_UP_ROUNDS):  # what came during the replay
                if (last := (await js.stream_info(stream)).state.last_seq) - through < LEFT_FOR_THE_SWAP:
                    break
                progress.total += last - through
                count, through, more = await _replay(
                    connection, read_batches(nc, stream, ALL_EVENTS, batch_size, through + 1), progress, into,
                    through)
                replayed, refused = replayed + count, refused + more
                if not count:
                    break  # nothing more to read, whatever the stream's last sequence says
            await _durable(connection)
            count, more = await _swap(connection, nc, stream, through, batch_size, twins, into)
            replayed, refused = replayed + count, refused + more
            progress.update(count)
            still_waiting = await waiting.count(connection)
            await connection.commit()
    log_refused(refused)
    if still_waiting:
        log.warning("events wait for an earlier version of their aggregate that is not on the stream", extra={
            "waiting": still_waiting})
    return replayed


def log_refused(refused: list[tuple[Item, str]]) -> None:
    for (envelope, _), reason in refused:
        log.warning("event not projected: it can never apply", extra={
            "event_id": str(envelope.id), "event_type": envelope.type, "aggregate_id": envelope.aggregateid,
            "aggregate_version": envelope.aggregateversion, "reason": reason})


async def _replay_in_parts(connection: AsyncConnection, nc: Client, stream: str, batch_size: int,
                           progress: Progress, into: Projections, parts: list[Part],
                           parallel: Parallel) -> tuple[int, list[tuple[Item, str]]]:
    """The first part here, each other in a process of its own (rebuild_worker.py), all at once. Returns the
    messages the parts read (one the catch-up reads again counts twice) and the events refused here; the
    other processes log their own."""
    try:
        async with asyncio.TaskGroup() as group:  # one failing stops the others, and the rebuild fails
            workers = [group.create_task(_worker(stream, batch_size, part, parallel, progress))
                       for part in parts[1:]]
            own = group.create_task(_replay_one_part(connection, nc, stream, parts[0], batch_size, progress, into))
    except ExceptionGroup as errors:
        for other in errors.exceptions[1:]:
            log.error("a rebuild part failed as well", extra={"error": f"{type(other).__name__}: {other}"})
        raise errors.exceptions[0]  # the first to fail: the others were stopped by it
    replayed, refused = own.result()
    return replayed + sum(worker.result() for worker in workers), refused


async def _replay_one_part(connection: AsyncConnection, nc: Client, stream: str, part: Part, batch_size: int,
                           progress: Progress, into: Projections) -> tuple[int, list[tuple[Item, str]]]:
    """The services of the part's events, the part's events decoded and folded; returns the messages read and
    the events refused."""
    replayed, _, refused = await _replay(connection, read_merged(nc, stream, subjects(part), batch_size), progress,
                                         into, subscribed=subscriptions(part))
    return replayed, refused


async def _worker(stream: str, batch_size: int, part: Part, parallel: Parallel, progress: Progress) -> int:
    """Runs one part's replay in a child process, showing its progress here; returns the messages it read.
    The settings go on its standard input: passwords are not shown in a process list."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.reporting.rebuild_worker", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE)
    try:
        process.stdin.write(json.dumps({**asdict(parallel), "stream": stream, "batch_size": batch_size,
                                        "event_types": [event_type.__name__ for event_type in part]}).encode())
        process.stdin.close()
        replayed = None
        async for line in process.stdout:
            report = json.loads(line)
            progress.update(report.get("batch", 0))
            replayed = report.get("replayed", replayed)
        if await process.wait() != 0 or replayed is None:
            raise RuntimeError(f"a rebuild process replaying {part[0].__name__} and other events failed (exit "
                               f"{process.returncode}); the live tables are as they were")
        return replayed
    finally:
        if process.returncode is None:  # this rebuild failed or was cancelled: so does the part
            with suppress(ProcessLookupError):  # it may have ended just now
                process.kill()
            await process.wait()


async def replay_part(engine: AsyncEngine, nc: Client, stream: str, part: Part, batch_size: int,
                      progress: Progress) -> int:
    """A rebuild process's part (rebuild_worker.py), into the new tables the first process made; returns the
    messages read. Its events wait in the rebuild's room under keys no other part has."""
    into = LIVE.into(swap.new_tables(engine.dialect.name), waiting.WaitingRoom(waiting.REBUILD, keys=set()))
    with _collector_spared():
        async with engine.connect() as connection, _bulk_writes(connection):
            replayed, refused = await _replay_one_part(connection, nc, stream, part, batch_size, progress, into)
    log_refused(refused)
    return replayed


async def _swap(connection: AsyncConnection, nc: Client, stream: str, through: int, batch_size: int,
                twins: dict[Table, Table], into: Projections) -> tuple[int, list[tuple[Item, str]]]:
    """Under the projection lock, in one transaction: the rest of the stream into the new tables, then
    the new tables and waiting room in place of the live ones. Returns the messages applied and refused."""
    # What a failed try parked or released is rolled back: ask the database, not this process's memory.
    into = replace(into, waiting=waiting.WaitingRoom(waiting.REBUILD))
    attempt = 0
    while True:
        attempt, applied, refused = attempt + 1, 0, []
        try:
            await connection.begin()
            await swap.take(connection)
            locked = time.perf_counter()
            async for batch in read_batches(nc, stream, ALL_EVENTS, batch_size, through + 1):
                folded = await fold(connection, await _decoded(batch), into)
                await write(connection, folded)
                applied, refused = applied + len(batch), refused + folded.refused
            await into.waiting.become(connection, LIVE.waiting)
            await swap.swap_in(connection, twins)
            await connection.commit()
            log.info("new projection tables swapped in", extra={
                "caught_up_events": applied, "locked_s": round(time.perf_counter() - locked, 3)})
            return applied, refused
        except Exception as error:
            await connection.rollback()
            if attempt == SWAP_TRIES or not is_outage(error):
                raise
            log.warning("the swap met a lock; trying again", extra={"error": f"{type(error).__name__}: {error}"})


async def _replay(connection: AsyncConnection, batches: AsyncIterator[list[Msg]], progress: Progress,
                  into: Projections, through: int = 0,
                  subscribed: Subscriptions = SUBSCRIBED) -> tuple[int, int, list[tuple[Item, str]]]:
    """Returns how many messages were replayed, the stream sequence of the last (`through` if none), and
    the refused events. Only the events of `subscribed` subjects are decoded and folded."""
    replayed, refused = 0, []
    writing: asyncio.Task | None = None
    tallies: dict[Tally, dict[tuple, list[int]]] = {}  # counted over batches, up to HELD_TALLY_GROUPS
    try:
        async for batch in batches:
            count, decoded = len(batch), await _decoded(batch, subscribed)
            through = batch[-1].metadata.sequence.stream
            del batch  # two batches of messages and decoded events in memory are enough
            if writing:
                await writing  # the next fold must see what the last batch wrote
            await connection.begin()  # committed by the write task
            folded = await fold(connection, decoded, into, tallies)
            refused += folded.refused
            del decoded
            if sum(map(len, tallies.values())) < HELD_TALLY_GROUPS:
                folded.tallies = {}  # written with later batches' counts
            else:
                tallies = {}
            writing = asyncio.create_task(_write_and_commit(connection, folded))
            if replayed // COLLECT_GARBAGE_EVERY != (replayed + count) // COLLECT_GARBAGE_EVERY:
                gc.collect()
            replayed += count
            progress.update(count)
        if writing:
            await writing
        if tallies:
            await connection.begin()
            await _write_and_commit(connection, Folded(into.waiting, tallies=tallies))
    except BaseException:
        await _abandon(connection, writing)
        raise
    return replayed, through, refused


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


async def _decoded(batch: list[Msg], subscribed: Subscriptions = SUBSCRIBED) -> list[Item]:
    """Decoded in slices: between them the write task hands its next statement to the database."""
    items = []
    for number, msg in enumerate(batch, start=1):
        if number % DECODE_SLICE == 0:
            await asyncio.sleep(0)
        try:
            if (item := decoded(msg, subscribed)) is not None:
                items.append(item)
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
    # Reporting holds no personal data: the swap's dropped tables and the rebuilt batches' replaced rows
    # need not be overwritten with zeros (services/platform/database.py sets it for intake's vault).
    await connection.exec_driver_sql("PRAGMA secure_delete=OFF")
    await connection.commit()
    try:
        yield
    finally:
        await connection.exec_driver_sql("PRAGMA secure_delete=ON")
        await connection.exec_driver_sql("PRAGMA synchronous=FULL")
        await connection.exec_driver_sql("PRAGMA cache_size=-2000")
        await connection.commit()


async def _durable(connection: AsyncConnection) -> None:
    """The swap's commit is fsynced: it is the one a power loss must not take back half-way."""
    if connection.dialect.name == "sqlite":
        await connection.exec_driver_sql("PRAGMA synchronous=FULL")
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
