"""`make load`: the live command path measured from outside, beside a bare aiohttp + SQLite baseline.

Stages, all on this machine (nothing here touches a server on the default ports):
1. baseline    a bare aiohttp endpoint (tests/load/baseline.py) takes referrals, closed loop at each concurrency
2. system      nats-server and the five services as processes, as `make run` starts them (no demo), seeded
3. closed loop mixed commands (tests/load/commands.py) at each concurrency: commands/s, p50/p95/p99, errors,
               CPU ms per command of each process (counted until the consumers have caught up)
4. steady rate mixed commands sent at a fixed rate: how long until reporting counts a referral
               (2xx to visible, p50/p99), and the consumers' backlog: at the end of the stage, its
               largest, and its growth a second over the stage (sampled every half second)
5. catch-up    pathway, payroll_billing and reporting stopped, ~100,000 events published, each started
               alone: events/s from its first batch until its consumer has nothing pending

`--database postgres` runs every service on its own PostgreSQL database (POLKU_LOAD_POSTGRES_URL,
default the local server). Prints tables, then one JSON object on the last line.
"""
import argparse
import asyncio
import json
import os
import random
import statistics
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil

from services.devrun import LocalSystem
from services.platform.bus import connect
from services.platform.nats_permissions import OPS_USER
from services.platform.nats_server import free_port, wait_for_port
from tests.bench.workload import changes, messages
from tests.load import profile
from tests.load.commands import AREA, Workload, referral_body

CONSUMERS = ("pathway", "payroll_billing", "reporting")
POSTGRES_URL = os.environ.get("POLKU_LOAD_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class Run:
    """What one closed-loop stage measured."""

    commands: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    error_kinds: dict[str, int] = field(default_factory=dict)
    by_kind_ms: dict[str, list[float]] = field(default_factory=dict)  # each command kind's latencies

    def kinds(self) -> dict[str, dict]:
        return {kind: {"commands": len(values), "p50_ms": round(percentile(values, 0.5), 1),
                       "p99_ms": round(percentile(values, 0.99), 1)}
                for kind, values in sorted(self.by_kind_ms.items())}

    def figures(self) -> dict:
        return {"commands_per_s": round(self.commands / self.seconds, 1), "errors": self.errors,
                "p50_ms": round(percentile(self.latencies_ms, 0.50), 1),
                "p95_ms": round(percentile(self.latencies_ms, 0.95), 1),
                "p99_ms": round(percentile(self.latencies_ms, 0.99), 1)}


async def closed_loop(send, concurrency: int, seconds: float, choose=lambda: "referral") -> Run:
    """`concurrency` callers, each sending its next command (`send(kind)`, the kind from `choose`)
    when the last one was answered."""
    run = Run()
    deadline = time.perf_counter() + seconds

    async def caller() -> None:
        while time.perf_counter() < deadline:
            kind = choose()
            started = time.perf_counter()
            try:
                status = await send(kind)
            except Exception as error:  # a refused connection or a timeout is an error of the run, not the bench
                status = type(error).__name__
            elapsed_ms = (time.perf_counter() - started) * 1000
            run.latencies_ms.append(elapsed_ms)
            run.by_kind_ms.setdefault(kind, []).append(elapsed_ms)
            run.commands += 1
            if not (isinstance(status, int) and 200 <= status < 300):
                run.errors += 1
                run.error_kinds[str(status)] = run.error_kinds.get(str(status), 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    run.seconds = time.perf_counter() - started
    return run


async def baseline_runs(concurrencies: list[int], seconds: float, work_dir: Path) -> dict[int, Run]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.load.baseline", str(port), str(work_dir / "baseline.db")])
    try:
        wait_for_port(port)
        rng, runs = random.Random(3), {}
        async with aiohttp.ClientSession() as http:
            async def send(_kind: str) -> int:
                async with http.post(f"http://127.0.0.1:{port}/clients", json=referral_body(rng.randrange(10**6), rng)) as response:
                    await response.read()
                    return response.status

            for concurrency in concurrencies:
                runs[concurrency] = await closed_loop(send, concurrency, seconds)
                say(f"baseline, concurrency {concurrency}: {runs[concurrency].figures()}")
        return runs
    finally:
        process.terminate()
        process.wait(10)


class Backlog:
    """The consumers' pending messages, asked of the server as the ops user."""

    def __init__(self, nc):
        self.js = nc.jetstream()

    async def pending(self) -> dict[str, int]:
        infos = [await self.js.consumer_info("POLKU", name) for name in CONSUMERS]
        return {name: info.num_pending + info.num_ack_pending for name, info in zip(CONSUMERS, infos, strict=True)}

    async def drained(self, timeout_s: float = 300.0, quiet_s: float = 0.5) -> None:
        """Nothing pending for `quiet_s` on end: a single empty poll can fall between one consumer's ack
        and the relay publishing the events that ack caused, and the next stage then counted the last
        stage's clients as its own (visibility 0 ms, 2026-11-30)."""
        deadline = time.monotonic() + timeout_s
        quiet_since = None
        while time.monotonic() < deadline:
            if sum((await self.pending()).values()):
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_s:
                return
            await asyncio.sleep(0.05)


class Cpu:
    """CPU seconds (user + system) of each service process and of nats-server."""

    def __init__(self, system: LocalSystem):
        self.processes = {name: psutil.Process(process.pid) for name, process in system.services.processes.items()}
        self.processes["nats-server"] = psutil.Process(system.server.process.pid)

    def sample(self) -> dict[str, float]:
        return {name: sum(process.cpu_times()[:2]) for name, process in self.processes.items()}

    @staticmethod
    def per_command_ms(before: dict[str, float], after: dict[str, float], commands: int) -> dict[str, float]:
        return {name: round((after[name] - before[name]) * 1000 / commands, 2) for name in before}


async def clients_counted(http: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> int:
    async with http.get(f"{url}/reports/clients-by-status", headers=headers) as response:
        return sum(row["clients"] for row in await response.json())


async def steady_rate(workload: Workload, rate: float, seconds: float, reporting_url: str, manager: dict[str, str],
                      backlog: Backlog) -> dict:
    """Commands sent at `rate` a second whatever the answers; referrals' 2xx times against reporting's count."""
    http = workload.http
    counted_before = await clients_counted(http, reporting_url, manager)
    answered: list[float] = []  # when each referral got its 2xx, in that order
    statuses: list[int | str] = []

    async def one(kind: str) -> None:
        try:
            status = await workload.send(kind)
        except Exception as error:
            status = type(error).__name__
        statuses.append(status)
        if kind == "referral" and status == 201:
            answered.append(time.perf_counter())

    seen: list[tuple[float, int]] = []
    sending = True

    async def poll() -> None:
        while sending or not seen or seen[-1][1] < len(answered):
            seen.append((time.perf_counter(), await clients_counted(http, reporting_url, manager) - counted_before))
            await asyncio.sleep(0.01)
            if not sending and time.perf_counter() - stopped_at > 60:
                break

    backlog_seen: list[tuple[float, int]] = []  # (seconds into the stage, events pending), while sending

    async def sample_backlog() -> None:
        while sending:
            backlog_seen.append((time.perf_counter() - started, sum((await backlog.pending()).values())))
            await asyncio.sleep(0.5)

    poller = asyncio.create_task(poll())
    tasks, started = [], time.perf_counter()
    sampler = asyncio.create_task(sample_backlog())
    for index in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, started + index / rate - time.perf_counter()))
        kind = workload.choose()
        tasks.append(asyncio.create_task(one("referral" if kind == "placement" and not workload.placeable else kind)))
    backlog_at_end = await backlog.pending()
    await asyncio.gather(*tasks)
    stopped_at, sending = time.perf_counter(), False
    await poller
    await sampler
    visible = []
    for number, at in enumerate(answered, start=1):
        when = next((t for t, count in seen if count >= number), None)
        if when is not None:
            visible.append(max(0.0, when - at) * 1000)
    errors = sum(1 for status in statuses if not (isinstance(status, int) and 200 <= status < 300))
    return {"rate": rate, "sent": len(statuses), "errors": errors, "referrals": len(answered),
            "visible_p50_ms": round(percentile(visible, 0.5), 1), "visible_p99_ms": round(percentile(visible, 0.99), 1),
            "not_visible": len(answered) - len(visible), "backlog_at_end": sum(backlog_at_end.values()),
            "backlog_max": max((pending for _, pending in backlog_seen), default=0),
            "backlog_growth_per_s": growth_per_s(backlog_seen)}


def growth_per_s(samples: list[tuple[float, int]]) -> float:
    """The least-squares slope of the backlog over the stage, events a second: about 0 when the consumers
    keep up, however much is in flight at one moment; the rate at which they fall behind when they do not."""
    if len(samples) < 3:
        return float("nan")
    seconds, pending = zip(*samples)
    return round(statistics.linear_regression(seconds, pending).slope, 1)


async def catch_up(system: LocalSystem, nc, backlog: Backlog, events: int, profile_dir: Path | None) -> dict[str, dict]:
    """Each consumer service stopped, `events` published as one burst, then each started alone
    (py-spy on it for its first 10 s when `profile_dir` is given)."""
    for name in CONSUMERS:
        system.services.stop(name)
    js, published, rng = nc.jetstream(), 0, random.Random(11)
    acks = []
    for change in changes(events, seed=5):
        for message in messages(change, rng):
            acks.append(await js.publish_async(message.subject, message.body, stream="POLKU", headers={
                "Nats-Msg-Id": message.event_id, "ce-type": message.event_type}))
            published += 1
        if len(acks) >= 1000:
            await asyncio.gather(*acks)
            acks = []
    await asyncio.gather(*acks)
    say(f"catch-up: {published} events published with the consumers stopped")
    await analyse_where_nobody_does(system)
    figures = {}
    for name in CONSUMERS:
        pending = (await backlog.pending())[name]
        system.services.start(name)
        # From its first batch on: the process's start-up (imports, migrations) is not catching up.
        deadline = time.monotonic() + 120
        while (await backlog.pending())[name] == pending:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} took nothing in 120 s; see its log under {system.var_dir}/logs")
            await asyncio.sleep(0.01)
        started, process = time.perf_counter(), psutil.Process(system.services.processes[name].pid)
        cpu_before = sum(process.cpu_times()[:2])
        if profile_dir:
            profile.start({f"catch-up-{name}": system.services.processes[name].pid}, 10, profile_dir)
        while (await backlog.pending())[name]:
            await asyncio.sleep(0.02)
        # A burst of a few hundred events can take less CPU than the clock's resolution.
        seconds, cpu_s = time.perf_counter() - started, max(sum(process.cpu_times()[:2]) - cpu_before, 0.01)
        # Events per CPU second: what the consumer does on a core of its own, whatever else runs here.
        figures[name] = {"events": pending, "seconds": round(seconds, 1), "events_per_s": round(pending / seconds),
                         "cpu_s": round(cpu_s, 1), "events_per_cpu_s": round(pending / cpu_s)}
        say(f"catch-up {name}: {pending} events in {seconds:.1f} s = {pending / seconds:,.0f} events/s "
            f"({pending / cpu_s:,.0f} per CPU second)")
    return figures


async def system_runs(args, system: LocalSystem) -> dict:
    services = system.services
    nc = await connect(system.nats_url, "polku-load", OPS_USER, system.credentials[OPS_USER])
    backlog = Backlog(nc)
    results: dict = {"closed_loop": {}, "steady": [], "cpu_ms_per_command": {}}
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            workload = Workload(http, services.url, system.token)
            say("seeding: employers, clients, placements and their employments")
            await workload.seed(employers=20, employments=args.employments)
            await backlog.drained()
            cpu = Cpu(system)
            for concurrency in args.concurrency:
                before = cpu.sample()
                if args.profile and concurrency == max(args.concurrency):
                    profile.start({name: process.pid for name, process in services.processes.items()},
                                  args.seconds, args.profile)
                run = await closed_loop(workload.send, concurrency, args.seconds, workload.choose)
                await backlog.drained()
                results["closed_loop"][concurrency] = run.figures() | {"error_kinds": run.error_kinds,
                                                                       "by_kind": run.kinds()}
                results["cpu_ms_per_command"][concurrency] = Cpu.per_command_ms(before, cpu.sample(), run.commands)
                say(f"polku, concurrency {concurrency}: {results['closed_loop'][concurrency]}")
            manager = {"Authorization": f"Bearer {system.token('manager', AREA)}"}
            for rate in args.rates:
                figures = await steady_rate(workload, rate, args.seconds, services.url("reporting"), manager, backlog)
                await backlog.drained()
                results["steady"].append(figures)
                say(f"steady {rate}/s: {figures}")
        if args.catch_up:
            results["catch_up"] = await catch_up(system, nc, backlog, args.catch_up, args.profile)
    finally:
        await nc.close()
    return results


async def analyse_where_nobody_does(system: LocalSystem) -> None:
    """On a PostgreSQL server without autovacuum (this machine's CI configuration), the services' tables
    are analysed once before the catch-up, as autovacuum would have done by then: a prepared statement's
    plan made while a table was small and never analysed (a scan, not the index) stayed for the whole
    catch-up, and reporting's took minutes instead of seconds (2026-11-30)."""
    import asyncpg

    urls = [env["POLKU_DATABASE_URL"] for env in system.service_env.values() if "POLKU_DATABASE_URL" in env]
    for url in urls:
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            if await connection.fetchval("SHOW autovacuum") == "on":
                return
            await connection.execute("ANALYZE")
        finally:
            await connection.close()
    if urls:
        say("catch-up: the services' databases analysed (the server runs without autovacuum)")


def postgres_databases() -> dict[str, str]:
    """A fresh database per service on the PostgreSQL server, as POLKU_DATABASE_URL values."""
    import asyncpg

    async def create() -> dict[str, str]:
        connection = await asyncpg.connect(POSTGRES_URL)
        urls = {}
        try:
            for service in ("intake", "pathway", "employer", "payroll_billing", "reporting"):
                name = f"polku_load_{service}"
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
                await connection.execute(f'CREATE DATABASE "{name}"')
                urls[service] = POSTGRES_URL.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0] + f"/{name}"
        finally:
            await connection.close()
        return urls

    return asyncio.run(create())


def print_tables(baseline: dict[int, Run], results: dict) -> None:
    print()
    print(f"{'concurrency':>11} | {'polku cmd/s':>11} {'p50':>7} {'p95':>7} {'p99':>7} {'err':>4} | "
          f"{'bare cmd/s':>10} {'p99':>7} | {'ratio':>5} {'p99 x':>6}")
    for concurrency, figures in results["closed_loop"].items():
        bare = baseline[concurrency].figures()
        print(f"{concurrency:>11} | {figures['commands_per_s']:>11,.0f} {figures['p50_ms']:>7.1f} {figures['p95_ms']:>7.1f} "
              f"{figures['p99_ms']:>7.1f} {figures['errors']:>4} | {bare['commands_per_s']:>10,.0f} {bare['p99_ms']:>7.1f} | "
              f"{figures['commands_per_s'] / bare['commands_per_s']:>5.2f} {figures['p99_ms'] / bare['p99_ms']:>6.2f}")
    print()
    print(f"{'concurrency':>11} {'command':<10} | {'sent':>6} {'p50':>7} {'p99':>7}")
    for concurrency, figures in results["closed_loop"].items():
        for kind, row in figures["by_kind"].items():
            print(f"{concurrency:>11} {kind:<10} | {row['commands']:>6} {row['p50_ms']:>7.1f} {row['p99_ms']:>7.1f}")
    print()
    print(f"{'rate/s':>6} | {'sent':>6} {'errors':>6} | {'visible p50 ms':>14} {'p99 ms':>8} {'never':>5} | "
          f"{'backlog at end':>14} {'max':>5} {'growth/s':>8}")
    for row in results["steady"]:
        print(f"{row['rate']:>6} | {row['sent']:>6} {row['errors']:>6} | {row['visible_p50_ms']:>14.1f} "
              f"{row['visible_p99_ms']:>8.1f} {row['not_visible']:>5} | {row['backlog_at_end']:>14} "
              f"{row['backlog_max']:>5} {row['backlog_growth_per_s']:>8.1f}")
    print()
    names = list(next(iter(results["cpu_ms_per_command"].values())))
    print("CPU ms per command, " + " ".join(f"{name:>15}" for name in names))
    for concurrency, row in results["cpu_ms_per_command"].items():
        print(f"concurrency {concurrency:>7} " + " ".join(f"{row[name]:>15.2f}" for name in names))
    if "catch_up" in results:
        print()
        print(f"{'catch-up':<16} {'events':>8} {'seconds':>8} {'events/s':>9} {'CPU s':>6} {'per CPU s':>9}")
        for name, row in results["catch_up"].items():
            print(f"{name:<16} {row['events']:>8} {row['seconds']:>8.1f} {row['events_per_s']:>9,} "
                  f"{row['cpu_s']:>6.1f} {row['events_per_cpu_s']:>9,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each closed-loop and steady stage")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--rates", type=float, nargs="+", default=[50, 100, 200])
    parser.add_argument("--catch-up", type=int, default=100_000, help="events for the catch-up stage (0: none)")
    parser.add_argument("--employments", type=int, default=64,
                        help="employments seeded for timesheets and invoices (more than the highest concurrency)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="py-spy each service during the highest concurrency; collapsed stacks into this folder")
    parser.add_argument("--keep", type=Path, default=None, help="work here (databases, logs) and keep it")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="polku-load-") as work:
        work_dir = args.keep or Path(work)
        work_dir.mkdir(parents=True, exist_ok=True)
        say(f"baseline: aiohttp + pydantic + one SQLite commit per request, {args.seconds:.0f} s per concurrency")
        baseline = asyncio.run(baseline_runs(args.concurrency, args.seconds, work_dir))
        service_env = ({service: {"POLKU_DATABASE_URL": url} for service, url in postgres_databases().items()}
                       if args.database == "postgres" else None)
        system = LocalSystem(work_dir / "var", first_port=free_port_block(), service_env=service_env)
        try:
            say(f"starting nats-server and the five services on {args.database}")
            system.start()
            results = asyncio.run(system_runs(args, system))
        finally:
            system.stop()
    print_tables(baseline, results)
    if args.profile:
        profile.report(args.profile)
    summary = {
        "database": args.database, "date": time.strftime("%Y-%m-%d"), "cores": os.cpu_count(),
        "closed_loop": {str(c): results["closed_loop"][c] | {
            "baseline_commands_per_s": baseline[c].figures()["commands_per_s"], "baseline_p99_ms": baseline[c].figures()["p99_ms"],
            "ratio_to_baseline": round(results["closed_loop"][c]["commands_per_s"] / baseline[c].figures()["commands_per_s"], 2)}
            for c in results["closed_loop"]},
        "visibility": results["steady"], "cpu_ms_per_command": results["cpu_ms_per_command"],
        "catch_up": results.get("catch_up", {}),
    }
    print(json.dumps(summary))


def free_port_block(size: int = 5) -> int:
    """The first of `size` consecutive free ports (the services take one each)."""
    while True:
        first = free_port()
        if all(_free(first + offset) for offset in range(1, size)) and first + size < 65535:
            return first


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


if __name__ == "__main__":
    main()
