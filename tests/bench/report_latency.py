"""Each follow-up report's latency over a rebuilt reporting database (the 1M stream's, in `make bench`).

    python -m tests.bench.report_latency REPORTING_DB [AREA]   (a SQLite file, or a database URL)

Prints one JSON line: per report, p50 and p99 in milliseconds over RUNS runs after one untimed run, for one
employment area (the bench's areas are the same size, a fifth of the stream each), without suppression (a
manager). The untimed run is what a running service did once: on PostgreSQL the first run of a report
connected and prepared its statements (260 ms against ~65 for the outcomes at 1M, 2026-11-30), and of 50
runs that one was the p99. Then the process's garbage collector is set as a service's once up
(services/platform/garbage.py): with CPython's defaults, full collections walking the whole heap made the
p99 twice the p50 (SQLite at 1M, 2026-11-30: outcomes 188-203 ms against 87-99 set as a service's).
"""
import asyncio
import json
import sys
import time
from datetime import date

from services.platform import garbage
from services.platform.database import create_engine
from services.reporting.api import REPORTS
from services.reporting.reports.document import Scope
from services.reporting.rules.figures import percentile
from tests.bench.replay import database_url

RUNS = 50
TODAY = date(2026, 12, 31)


async def measure(database: str, area: str = "kemi", runs: int = RUNS) -> dict[str, dict[str, float]]:
    engine = create_engine(database_url(database), statements_on_loop=False)
    figures = {}
    try:
        for name, make in REPORTS.items():
            times = []
            async with engine.connect() as connection:  # not timed: a service's first request of a report
                await make(connection, Scope(area), TODAY)  # connects, and PostgreSQL's prepares its statements
            garbage.settle()  # as a service process is, once up (services/platform/garbage.py)
            for _ in range(runs):
                started = time.perf_counter()
                async with engine.connect() as connection:
                    (await make(connection, Scope(area), TODAY)).as_json()
                times.append(round((time.perf_counter() - started) * 1000_000))  # microseconds, whole
            figures[name] = {"p50_ms": percentile(times, 0.5) / 1000, "p99_ms": percentile(times, 0.99) / 1000}
    finally:
        await engine.dispose()
    return figures


def describe(figures: dict[str, dict[str, float]]) -> str:
    return "follow-up reports over the 1M stream, one area (p50 / p99 ms): " + ", ".join(
        f"{name} {figure['p50_ms']:.0f} / {figure['p99_ms']:.0f}" for name, figure in figures.items())


if __name__ == "__main__":
    print(json.dumps(asyncio.run(measure(*sys.argv[1:]))))
