"""A reporting database rebuilt from a stream shaped like `make bench`'s large one, kept for report_latency.

    python -m tests.bench.report_database REPORTING_DB [EVENTS]
    python -m tests.bench.report_latency REPORTING_DB [AREA]

REPORTING_DB is a SQLite file (that must not exist yet) or a PostgreSQL URL
(postgresql+asyncpg://postgres@127.0.0.1:5432/polku_report_bench: the database is dropped and made anew).

`make bench` measures the reports last, after ~10 minutes of other stages; this builds the same kind of
projections alone (a nats-server in a temporary directory, the bench's workload: `changes(100k, seed 1)`
then `changes(rest, seed 2)`, published directly, then the real rebuild) in about two minutes, so the
report-latency stage can run again and again over the same database. The envelopes' ids and times differ
from the bench's (its first 100k go through the event store and the relay); the projections' rows are alike.
"""
import asyncio
import sys
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from services.platform.nats_server import LocalNatsServer
from tests.bench.replay import real_rebuild
from tests.bench.run_bench import bus, fill

SMALL = 100_000


async def publish(server: LocalNatsServer, events: int) -> int:
    async with bus(server, "bench-report-database") as js:
        first = await fill(js, min(SMALL, events), seed=1)
        rest = await fill(js, events - first.total(), seed=2) if events > first.total() else first - first
        return (first + rest).total()


async def fresh_postgres_database(url: str) -> None:
    """Drop and make the URL's database, through the server's own `postgres` database."""
    import asyncpg

    target = make_url(url)
    admin = await asyncpg.connect(target.set(drivername="postgresql", database="postgres").render_as_string(False))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{target.database}"')
        await admin.execute(f'CREATE DATABASE "{target.database}"')
    finally:
        await admin.close()


async def analyse(url: str) -> None:
    """Statistics for the planner and the visibility map of index-only scans, as autovacuum would have
    them by the time anyone reads a report (this machine's server runs without autovacuum): without the
    map, an area's sum over an index read the table too (32 ms against 4)."""
    import asyncpg

    connection = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


def main(argv: list[str]) -> None:
    database, *count = argv
    events = int(count[0]) if count else 1_000_000
    if database.startswith("postgresql"):
        asyncio.run(fresh_postgres_database(database))
    elif Path(database).exists():
        raise SystemExit(f"{database} exists: remove it first, or measure it with tests.bench.report_latency")
    with tempfile.TemporaryDirectory(prefix="polku-report-db-") as work:
        server = LocalNatsServer(Path(work) / "nats")
        try:
            published = asyncio.run(publish(server, events))
            print(f"published {published} events; rebuilding into {database}", flush=True)
            print(asyncio.run(real_rebuild(server.url, database)))
            if database.startswith("postgresql"):
                asyncio.run(analyse(database))
                print("vacuumed and analysed, as autovacuum would have")
        finally:
            server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
