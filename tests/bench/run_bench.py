"""`make bench`: append, relay, publish, replay and rebuild throughput, and rebuild's peak memory.

Everything runs on this machine in one go, against nats-servers started here in a temporary
directory (never the one on 4222). Stages:

1. append      ~100k events into one SQLite event store through EventStore.write, ~500 per transaction
2. relay       the real OutboxRelay drains that outbox into POLKU on server A
3. raw publish the same envelopes, read back from the store, published with nats-py publish_async
               (same headers, same 1000-message pipelining as the relay) into POLKU on server B
4. fill        server B's stream topped up to ~1M events, published directly (SQL would take too long)
5. replay      for the 100k stream (A) and the 1M stream (B), each run in its own child process:
               a raw pull + decode of every message (the baseline) and the real rebuild into a
               fresh reporting database, taking turns; the best of --repeats runs counts
6. per command one new aggregate of three events per transaction, through Polku's unit of work and
               through the eventsourcing library, each on its own SQLite file (append_per_command.py)
7. observability the live command path (the five services as processes, mixed commands over HTTP)
               with and without tracing and metrics (observability.py)
8. matching    rank 10,000 enrolled candidates for one opening, as a coordinator's screen does
               (matching.py)
9. payroll     a payroll run over 10,000 employments and the Finvoice documents of 10,000 invoices
               (payroll.py)
10. reports     every follow-up report, 50 times each, over the 1M stream's rebuilt projections for one
               area (a fifth of the stream): p50 and p99 (report_latency.py)

Prints a table, then one JSON object on the last line; "events" says how many events each figure
was measured on.
"""
import argparse
import asyncio
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from nats.js import JetStreamContext
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from tqdm import tqdm

from services.platform.bus import bootstrap_streams, connect
from services.platform.database import create_engine, migrate
from services.platform.event_store import EventStore
from services.platform.nats_server import LocalNatsServer
from services.platform.relay import OutboxRelay
from services.platform.tables import events
from tests.bench import append_per_command, matching, observability, payroll, report_latency
from tests.bench.workload import Change, Message, changes, messages

ROOT = Path(__file__).resolve().parents[2]
STREAM = "POLKU"
EVENTS_PER_TRANSACTION = 500
PUBLISH_BATCH = 1000  # the relay's default batch: raw publish pipelines the same way
# Which projection table each event type fills with one row, to check a rebuild did all its work.
ROWS_MADE_BY = {"ClientReferred": "report_clients", "PlacementStarted": "report_placements",
                "EmployerInvoiced": "report_invoices", "OpeningRegistered": "report_openings"}


@dataclass(frozen=True)
class Figure:
    events: int
    seconds: float
    peak_rss_mb: float | None = None

    @property
    def per_s(self) -> float:
        return self.events / self.seconds


class Stages:
    """Prints one line per stage with the time since the bench started."""

    def __init__(self):
        self.started = time.perf_counter()

    def say(self, text: str) -> None:
        print(f"[{time.perf_counter() - self.started:6.1f} s] {text}", flush=True)

    def done(self, name: str, figure: Figure) -> Figure:
        self.say(f"{name}: {figure.events} events in {figure.seconds:.1f} s = {figure.per_s:,.0f} events/s")
        return figure


async def timed(count: int, work) -> Figure:
    started = time.perf_counter()
    await work
    return Figure(count, time.perf_counter() - started)


def in_transactions(all_changes: Iterable[Change], size: int) -> Iterator[list[Change]]:
    """Groups of whole changes with at least `size` events each (the last may have fewer)."""
    group, count = [], 0
    for change in all_changes:
        group.append(change)
        count += len(change.events)
        if count >= size:
            yield group
            group, count = [], 0
    if group:
        yield group


async def append_all(engine: AsyncEngine, all_changes: list[Change]) -> None:
    total = sum(len(change.events) for change in all_changes)
    with tqdm(total=total, unit="event", desc="append", leave=False) as progress:
        for group in in_transactions(all_changes, EVENTS_PER_TRANSACTION):
            async with engine.begin() as connection:
                stores = {service: EventStore(connection, service) for service in {c.service for c in group}}
                for change in group:
                    store = stores[change.service]
                    await store.write(store.envelopes(change.kind, change.aggregate_id, 0, change.events,
                                                      change.area, change.cause))
            progress.update(sum(len(change.events) for change in group))


async def relay_all(engine: AsyncEngine, js: JetStreamContext, total: int) -> None:
    relay = OutboxRelay(engine, js, STREAM, batch_size=PUBLISH_BATCH)
    with tqdm(total=total, unit="event", desc="relay", leave=False) as progress:
        while published := await relay.publish_pending():
            progress.update(published)


async def stored_messages(engine: AsyncEngine) -> list[Message]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(events.c.subject, events.c.event_id, events.c.event_type, events.c.envelope)
            .order_by(events.c.position))
        return [Message(subject, event_id, event_type, envelope.encode())
                for subject, event_id, event_type, envelope in rows]


async def publish(js: JetStreamContext, batch: list[Message]) -> None:
    """Publish a batch pipelined and wait for every ack, with the headers the relay sets."""
    acks = [await js.publish_async(msg.subject, msg.body, stream=STREAM,
                                   headers={"Nats-Msg-Id": msg.event_id, "ce-type": msg.event_type})
            for msg in batch]
    await asyncio.gather(*acks)


async def publish_all(js: JetStreamContext, all_messages: list[Message]) -> None:
    with tqdm(total=len(all_messages), unit="event", desc="raw publish", leave=False) as progress:
        for start in range(0, len(all_messages), PUBLISH_BATCH):
            await publish(js, all_messages[start:start + PUBLISH_BATCH])
            progress.update(PUBLISH_BATCH)


async def fill(js: JetStreamContext, event_count: int, seed: int) -> Counter:
    """Publish about `event_count` new events, generated batch by batch so they never all sit in memory."""
    rng, batch, types = random.Random(seed), [], Counter()
    with tqdm(total=event_count, unit="event", desc="fill", leave=False) as progress:
        for change in changes(event_count, seed):
            batch += messages(change, rng)
            if len(batch) >= PUBLISH_BATCH:
                await publish(js, batch)
                types.update(msg.event_type for msg in batch)
                progress.update(len(batch))
                batch = []
        await publish(js, batch)
        types.update(msg.event_type for msg in batch)
    return types


def replay_in_child(mode: str, url: str, *database: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "tests.bench.replay", mode, url, *database], cwd=ROOT,
                          stdout=subprocess.PIPE, text=True, check=True, timeout=300)
    return json.loads(done.stdout.splitlines()[-1])


def best_of(runs: list[dict]) -> Figure:
    """The fastest run, as other load on the machine only slows a run down; the highest peak RSS."""
    fastest = min(runs, key=lambda run: run["seconds"])
    return Figure(fastest["events"], fastest["seconds"], max(run["peak_rss_mb"] for run in runs))


def check_rows(rebuilt: dict, types: Counter) -> None:
    """A rebuild that skipped work would look fast: every client, placement and invoice must have its row."""
    expected = {table: types[event_type] for event_type, table in ROWS_MADE_BY.items()}
    # Tables the workload's event types do not fill (report_pathways) are not counted.
    made = {table: count for table, count in rebuilt["rows"].items() if table in expected}
    if made != expected:
        raise AssertionError(f"rebuild made rows {made}, expected {expected}")


def size_label(count: int) -> str:
    """100004 -> "100k", 1000001 -> "1M": the stream sizes as the issue names them."""
    if count >= 1_000_000:
        return f"{count // 1_000_000}M"
    return f"{count // 1000}k"


@asynccontextmanager
async def bus(server: LocalNatsServer, name: str) -> AsyncIterator[JetStreamContext]:
    """Start `server` with Polku's streams and connect to it; the server keeps running afterwards."""
    server.start()
    nc = await connect(server.url, name)
    try:
        await bootstrap_streams(nc, replicas=1)
        yield nc.jetstream()
    finally:
        await nc.close()


async def build_streams(work: Path, servers: list[LocalNatsServer], small: int, large: int,
                        stages: Stages) -> tuple[dict[str, Figure], list[Counter]]:
    """Stages 1-4. Returns the write figures and the event types on the small and the large stream."""
    all_changes = list(changes(small, seed=1))
    count = sum(len(change.events) for change in all_changes)
    engine = create_engine(f"sqlite+aiosqlite:///{work / 'store.db'}")
    try:
        await migrate(engine)
        append = stages.done("append", await timed(count, append_all(engine, all_changes)))
        async with bus(servers[0], "bench-relay") as js:
            relay = stages.done("relay", await timed(count, relay_all(engine, js, count)))
        stored = await stored_messages(engine)
    finally:
        await engine.dispose()
    async with bus(servers[1], "bench-raw-publish") as js:
        raw_publish = stages.done("raw_publish", await timed(count, publish_all(js, stored)))
        stages.say(f"fill: topping the second stream up to ~{large} events")
        filled = await fill(js, large - count, seed=2)
    small_types = Counter(msg.event_type for msg in stored)
    return ({"append": append, "relay": relay, "raw_publish": raw_publish},
            [small_types, small_types + filled])


def replay_streams(work: Path, servers: list[LocalNatsServer], types: list[Counter], repeats: int,
                   stages: Stages) -> dict[str, dict[str, Figure]]:
    """Stage 5: per stream, raw replays and rebuilds taking turns, each in a fresh child process.

    Keyed by stream size ("100k", "1M"), then "raw" and "rebuild": the best of `repeats` runs.
    """
    results = {}
    for server, stream_types in zip(servers, types):
        label = size_label(stream_types.total())
        runs: dict[str, list[dict]] = {"raw": [], "rebuild": []}
        for attempt in range(1, repeats + 1):
            raw = replay_in_child("raw", server.url)
            stages.done(f"raw replay {label} ({attempt}/{repeats})", Figure(raw["events"], raw["seconds"]))
            rebuilt = replay_in_child("rebuild", server.url, str(work / f"reporting-{label}-{attempt}.db"))
            check_rows(rebuilt, stream_types)
            stages.done(f"rebuild {label} ({attempt}/{repeats})", Figure(rebuilt["events"], rebuilt["seconds"]))
            runs["raw"].append(raw)
            runs["rebuild"].append(rebuilt)
        results[label] = {name: best_of(named_runs) for name, named_runs in runs.items()}
    return results


def summary(writes: dict[str, Figure], replays: dict[str, dict[str, Figure]], repeats: int) -> dict:
    """The issue's figures, rebuild and raw replay from the largest stream; then the same per stream."""
    large = list(replays.values())[-1]
    return {
        "append_events_per_s": round(writes["append"].per_s),
        "relay_events_per_s": round(writes["relay"].per_s),
        "raw_publish_events_per_s": round(writes["raw_publish"].per_s),
        "rebuild_events_per_s": round(large["rebuild"].per_s),
        "raw_replay_events_per_s": round(large["raw"].per_s),
        "rebuild_vs_raw_ratio": round(large["rebuild"].per_s / large["raw"].per_s, 3),
        "peak_rss_mb": {label: round(run["rebuild"].peak_rss_mb, 1) for label, run in replays.items()},
        "events": {
            **{name: figure.events for name, figure in writes.items()},
            "rebuild": large["rebuild"].events, "raw_replay": large["raw"].events,
            "peak_rss_mb": {label: run["rebuild"].events for label, run in replays.items()},
        },
        "by_stream": {label: {
            "events": run["rebuild"].events,
            "rebuild_events_per_s": round(run["rebuild"].per_s),
            "raw_replay_events_per_s": round(run["raw"].per_s),
            "rebuild_vs_raw_ratio": round(run["rebuild"].per_s / run["raw"].per_s, 3),
            "peak_rss_mb": round(run["rebuild"].peak_rss_mb, 1),
            "raw_replay_peak_rss_mb": round(run["raw"].peak_rss_mb, 1),
        } for label, run in replays.items()},
        "replays_best_of": repeats,
    }


def print_table(writes: dict[str, Figure], replays: dict[str, dict[str, Figure]]) -> None:
    rows = [(name, figure) for name, figure in writes.items()]
    for label, run in replays.items():
        rows += [(f"raw replay {label}", run["raw"]), (f"rebuild {label}", run["rebuild"])]
    print(f"\n{'figure':<20}{'events':>10}{'events/s':>12}{'peak RSS MB':>13}")
    for name, figure in rows:
        rss = "" if figure.peak_rss_mb is None else f"{figure.peak_rss_mb:.0f}"
        print(f"{name:<20}{figure.events:>10}{figure.per_s:>12,.0f}{rss:>13}")
    for label, run in replays.items():
        print(f"rebuild vs raw replay, {label}: {run['rebuild'].per_s / run['raw'].per_s:.2f}")
    print()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=100_000, help="events appended, relayed and published")
    parser.add_argument("--large", type=int, default=1_000_000, help="events on the big stream replayed")
    parser.add_argument("--repeats", type=int, default=2, help="raw replays and rebuilds per stream; the best counts")
    parser.add_argument("--commands", type=int, default=5000, help="commands of the per-command append comparison")
    parser.add_argument("--candidates", type=int, default=10_000, help="enrolled candidates matching ranks")
    parser.add_argument("--employments", type=int, default=10_000, help="employments in the payroll run")
    parser.add_argument("--invoices", type=int, default=10_000, help="invoices written as Finvoice")
    parser.add_argument("--observe-seconds", type=float, default=10.0,
                        help="each closed loop of the observability stage")
    parser.add_argument("--observe-rounds", type=int, default=2, help="turns of the observability stage")
    args = parser.parse_args(argv)
    stages = Stages()
    work = Path(tempfile.mkdtemp(prefix="polku-bench-"))
    # The first server gets the relayed events, the second the raw-published ones and the fill.
    servers = [LocalNatsServer(work / f"nats-{name}") for name in ("small", "large")]
    try:
        writes, types = asyncio.run(build_streams(work, servers, args.small, args.large, stages))
        replays = replay_streams(work, servers, types, args.repeats, stages)
        stages.say(f"per command: {args.commands} commands through Polku's unit of work and through eventsourcing")
        per_command = append_per_command.compare(work, args.commands)
        stages.say("observability: the live command path with and without tracing and metrics")
        observability_cost = observability.measure(work, args.observe_seconds, rounds=args.observe_rounds)
        stages.say(f"matching: {args.candidates:,} enrolled candidates ranked for one opening")
        matching_figures = matching.measure(work, args.candidates)
        stages.say(f"payroll: a run over {args.employments:,} employments, {args.invoices:,} Finvoice documents")
        payroll_figures = payroll.figures(work, args.employments, args.invoices)
        stages.say("reports: each follow-up report over the largest stream's rebuilt projections")
        report_figures = asyncio.run(report_latency.measure(
            str(work / f"reporting-{list(replays)[-1]}-{args.repeats}.db")))
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    stages.say("done")
    print_table(writes, replays)
    print(f"append per command (one aggregate of {len(append_per_command.EVENTS)} events a transaction, SQLite, "
          f"synchronous FULL): "
          f"Polku {per_command['polku_events_per_s']:,} events/s, eventsourcing "
          f"{per_command['eventsourcing_events_per_s']:,} events/s "
          f"(its SQLite synchronous: {per_command['eventsourcing_sqlite_synchronous']}), "
          f"ratio {per_command['polku_vs_eventsourcing']}; Polku with 32 callers at once (commits grouped) "
          f"{per_command['polku_32_callers_events_per_s']:,} events/s")
    by_layer = per_command["polku_cpu_us_per_command_by_layer"]
    print(f"  CPU µs a command: eventsourcing {per_command['eventsourcing_cpu_us_per_command']}; Polku's rows with "
          f"sqlite3 alone {by_layer['sqlite3_alone']}, through the platform's transaction "
          f"{by_layer['platform_transaction']}, through the unit of work {by_layer['unit_of_work']}")
    print(observability.describe(observability_cost))
    print(matching.describe(matching_figures))
    run, documents = payroll_figures["payroll_run"], payroll_figures["finvoice"]
    print(f"payroll run: {run['employments']:,} employments ({run['approved_days']:,} approved days) in "
          f"{run['seconds']} s, {run['employments_per_s']:,} employments/s")
    print(f"Finvoice: {documents['invoices']:,} invoices in {documents['seconds']} s, "
          f"{documents['invoices_per_s']:,}/s, "
          f"{documents['mean_bytes']:,} bytes each; XSD validation {documents['validated_per_s']:,}/s, "
          f"{documents['invalid_in_sample']} invalid of {documents['validated_sample']}")
    print(report_latency.describe(report_figures) + "\n")
    print(json.dumps(summary(writes, replays, args.repeats) | {"append_per_command": per_command,
                                                              "observability": observability_cost,
                                                              "matching": matching_figures,
                                                              "payroll": payroll_figures,
                                                              "reports": report_figures}))


if __name__ == "__main__":
    main()
