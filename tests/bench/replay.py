"""One replay of the whole stream, in its own process so its peak RSS is its own.

    python -m tests.bench.replay raw NATS_URL
    python -m tests.bench.replay rebuild NATS_URL REPORTING_DB [PROCESSES]   (a SQLite file, or a database URL)

Prints one JSON line: events, seconds, peak_rss_mb (and the projection row counts after a rebuild).
"""
import asyncio
import json
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from contracts.envelope import ALL_EVENTS, EventEnvelope
from contracts.registry import decode
from services.platform.bus import connect
from services.platform.database import create_engine, migrate
from services.platform.stream_reader import read_batches
from services.reporting.partitions import DEFAULT_PROCESSES
from services.reporting.rebuild import Parallel, rebuild
from services.reporting.service import SERVICE
from services.reporting.tables import PROJECTION_TABLES

STREAM = "POLKU"


async def raw_replay(url: str) -> dict:
    """The baseline: the same hand-driven pull as rebuild, and a full decode of every message."""
    nc = await connect(url, "bench-raw-replay")
    try:
        started, replayed = time.perf_counter(), 0
        async for batch in read_batches(nc, STREAM, ALL_EVENTS):
            for msg in batch:
                decode(EventEnvelope.model_validate_json(msg.data))
            replayed += len(batch)
        return {"events": replayed, "seconds": time.perf_counter() - started}
    finally:
        await nc.close()


async def real_rebuild(url: str, database: str, processes: int = DEFAULT_PROCESSES) -> dict:
    """As `polku rebuild` runs it, in as many processes as it takes on this machine."""
    engine = create_engine(database_url(database), statements_on_loop=False)
    await migrate(engine, SERVICE.migrations)
    nc = await connect(url, "bench-rebuild")
    try:
        started = time.perf_counter()
        replayed = await rebuild(engine, nc, STREAM, parallel=Parallel(database_url(database), url, processes=processes))
        seconds = time.perf_counter() - started
        return {"events": replayed, "seconds": seconds, "rows": await _row_counts(engine)}
    finally:
        await nc.close()
        await engine.dispose()


def database_url(database: str) -> str:
    """A database URL as given (PostgreSQL: postgresql+asyncpg://…), or a SQLite file's."""
    return database if "://" in database else f"sqlite+aiosqlite:///{database}"


async def _row_counts(engine) -> dict[str, int]:
    async with engine.connect() as connection:
        return {table.name: (await connection.execute(select(func.count()).select_from(table))).scalar_one()
                for table in PROJECTION_TABLES}


def main(argv: list[str]) -> None:
    mode, url, *database = argv
    figures = asyncio.run(raw_replay(url) if mode == "raw" else real_rebuild(url, database[0], *map(int, database[1:])))
    figures["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(figures))


def peak_rss_mb() -> float:
    """This process's peak RSS. Not getrusage's ru_maxrss: Linux carries that over from the parent
    through fork and exec, so every child would report at least the bench's own peak."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:", 1)[1].split()[0]) / 1024  # kB


if __name__ == "__main__":
    main(sys.argv[1:])
