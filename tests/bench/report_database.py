"""A reporting database rebuilt from a stream shaped like `make bench`'s large one, kept for report_latency.

    python -m tests.bench.report_database REPORTING_DB [EVENTS]
    python -m tests.bench.report_latency REPORTING_DB [AREA]

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

from services.platform.nats_server import LocalNatsServer
from tests.bench.replay import real_rebuild
from tests.bench.run_bench import bus, fill

SMALL = 100_000


async def publish(server: LocalNatsServer, events: int) -> int:
    async with bus(server, "bench-report-database") as js:
        first = await fill(js, min(SMALL, events), seed=1)
        rest = await fill(js, events - first.total(), seed=2) if events > first.total() else first - first
        return (first + rest).total()


def main(argv: list[str]) -> None:
    database, *count = argv
    events = int(count[0]) if count else 1_000_000
    if Path(database).exists():
        raise SystemExit(f"{database} exists: remove it first, or measure it with tests.bench.report_latency")
    with tempfile.TemporaryDirectory(prefix="polku-report-db-") as work:
        server = LocalNatsServer(Path(work) / "nats")
        try:
            published = asyncio.run(publish(server, events))
            print(f"published {published} events; rebuilding into {database}", flush=True)
            print(asyncio.run(real_rebuild(server.url, database)))
        finally:
            server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
