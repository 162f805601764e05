"""`make chaos`: mixed commands through the HTTP APIs while services and nats-server are killed with
SIGKILL and restarted; then what was lost, counted twice or answered wrongly.

    python -m tests.chaos.run_chaos --seconds 180 --kills 24

It prints a table and, last, one JSON line:
  commands, ok (2xx), refused (4xx, the domain's answers), unavailable (503 or no connection while
  something was down), server_errors (5xx other than 503: must be 0), events_lost (an event in a
  service's event log, so answered 2xx, that is not in the stream: must be 0), double_counts (rows
  in which reporting's live projection differs from a clean rebuild: must be 0), projections_equal_rebuild
  (must be true), dead_letters, parked (events still waiting in a consumer's database).
Then (unless --no-cluster) the same load on a three-node nats-server cluster (deploy/nats/node.conf,
stream with 3 replicas, every service as its own NATS user), one node killed and restarted under it:
longest_stall_s is the longest time without a 2xx answer while that node was down (target < 5 s).
"""
import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from sqlalchemy import func, select

from services.platform import dead_letters
from services.platform.auth import issue_dev_token
from services.platform.bus import bootstrap_streams, connect
from services.platform.config import Settings
from services.platform.database import create_engine, migrate
from services.platform import nats_permissions
from services.platform.consumer import create_durable_consumers
from services.platform.nats_server import LocalNatsServer, free_port, nats_server_binary, wait_for_port
from services.platform.processes import SERVICES, ServiceProcesses
from services.platform.stream_reader import read_batches
from services.platform.tables import events, outbox, parked_events
from services.reporting import waiting as waiting_room
from services.reporting.rebuild import rebuild
from services.reporting.service import SERVICE as REPORTING
from services.reporting.tables import PROJECTION_TABLES
from tests.load.commands import AREA, Workload

CONSUMERS = ("pathway", "employer", "payroll_billing", "reporting")
TARGETS = (*SERVICES, "nats-server")


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass
class Tally:
    commands: int = 0
    ok: int = 0
    refused: int = 0
    unavailable: int = 0
    server_errors: int = 0
    server_error_kinds: dict[str, int] = field(default_factory=dict)
    kills: list[str] = field(default_factory=list)
    ok_at: list[float] = field(default_factory=list)  # when each 2xx answer came


class System:
    """nats-server and the five services as processes, each on its own SQLite file."""

    def __init__(self, work: Path):
        self.work = work
        self.nats = LocalNatsServer(work / "nats", port=free_port())
        key = work / "keys" / "jwt-es256.pem"
        self.settings = Settings(service="chaos", signing_key_file=key, var_dir=work / "var")
        self.services = ServiceProcesses(self.nats.url, work / "var", {name: free_port() for name in SERVICES},
                                         extra_env={"POLKU_SIGNING_KEY_FILE": str(key), "POLKU_LOCAL_TRACES": "false",
                                                    "POLKU_LOG_LEVEL": "WARNING"})

    def token(self, role: str, area: str) -> str:
        return issue_dev_token(self.settings, f"chaos-{role}", [role], area,
                               partner="te_office" if role == "integration" else None)

    def database(self, service: str) -> str:
        return f"sqlite+aiosqlite:///{self.work / 'var' / service}.db"

    def kill_and_restart(self, target: str) -> None:
        if target == "nats-server":
            self.nats.stop(kill=True)
            time.sleep(random.uniform(0.2, 1.0))
            self.nats.start()
        else:
            self.services.stop(target, kill=True)
            time.sleep(random.uniform(0.2, 1.0))
            self.services.start(target)


async def load(workload: Workload, tally: Tally, stop: asyncio.Event, callers: int) -> None:
    async def caller() -> None:
        while not stop.is_set():
            kind = workload.choose()
            tally.commands += 1
            try:
                status = await workload.send(kind)
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError, json.JSONDecodeError):
                tally.unavailable += 1  # the service was down: the caller would retry with its Idempotency-Key
                await asyncio.sleep(0.2)
                continue
            if 200 <= status < 300:
                tally.ok += 1
                tally.ok_at.append(time.monotonic())
            elif status == 503:
                tally.unavailable += 1
            elif status >= 500:
                tally.server_errors += 1
                tally.server_error_kinds[f"{kind} {status}"] = tally.server_error_kinds.get(f"{kind} {status}", 0) + 1
            else:
                tally.refused += 1

    await asyncio.gather(*(caller() for _ in range(callers)))


async def killer(system: System, tally: Tally, kills: int, seconds: float, rng: random.Random,
                 sequence: list[str] | None) -> None:
    interval = seconds / (kills + 1)
    for number in range(kills):
        await asyncio.sleep(interval)
        target = sequence[number % len(sequence)] if sequence else rng.choice(TARGETS)
        tally.kills.append(target)
        say(f"  kill -9 {target} ({len(tally.kills)}/{kills})")
        await asyncio.to_thread(system.kill_and_restart, target)


async def settled(system: System, nc, timeout_s: float = 180.0) -> None:
    """Every outbox published and every consumer caught up, twice in a row a second apart."""
    js = nc.jetstream()
    deadline = time.monotonic() + timeout_s
    quiet = 0
    while quiet < 2:
        if time.monotonic() > deadline:
            raise TimeoutError("the system did not settle")
        busy = sum([await _count(system.database(service), outbox) for service in SERVICES])
        for consumer in CONSUMERS:
            info = await js.consumer_info("POLKU", consumer)
            busy += info.num_pending + info.num_ack_pending
        quiet = quiet + 1 if busy == 0 else 0
        await asyncio.sleep(1)


async def _count(url: str, table) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(select(func.count()).select_from(table))).scalar_one()
    finally:
        await engine.dispose()


async def events_lost(system: System, nc) -> int:
    on_stream: set[str] = set()
    async for batch in read_batches(nc, "POLKU", "polku.events.>"):
        on_stream.update(msg.headers["Nats-Msg-Id"] for msg in batch)
    lost = 0
    for service in SERVICES:
        engine = create_engine(system.database(service))
        try:
            async with engine.connect() as connection:
                stored = {event_id for (event_id,) in await connection.execute(select(events.c.event_id))}
        finally:
            await engine.dispose()
        lost += len(stored - on_stream)
    return lost


async def projection_differences(system: System, nc) -> int:
    """Rows in which reporting's live projection (and the events waiting in it for an earlier version) differs
    from a clean rebuild into a database of its own."""
    clean = create_engine(f"sqlite+aiosqlite:///{system.work / 'rebuilt.db'}", statements_on_loop=False)
    live = create_engine(system.database("reporting"))
    try:
        await migrate(clean, REPORTING.migrations)
        await rebuild(clean, nc, "POLKU", show_progress=False)
        waiting = select(parked_events.c.event_id).where(parked_events.c.consumer == waiting_room.LIVE)
        differences = 0
        for query in [select(table) for table in PROJECTION_TABLES] + [waiting]:
            rows = []
            for engine in (live, clean):
                async with engine.connect() as connection:
                    rows.append({tuple(row) for row in await connection.execute(query)})
            differences += len(rows[0] ^ rows[1])
        return differences
    finally:
        await clean.dispose()
        await live.dispose()


async def chaos(seconds: float, kills: int, callers: int = 4, seed: int = 12, work: Path | None = None,
                sequence: list[str] | None = None) -> dict:
    """`sequence`: what to kill, in turn (default: a random service or nats-server each time)."""
    work = work or Path(tempfile.mkdtemp(prefix="polku-chaos-"))
    system = System(work)
    rng = random.Random(seed)
    system.nats.start()
    nc = await connect(system.nats.url, "polku-chaos")
    await bootstrap_streams(nc, replicas=1)
    system.services.start_all()
    await asyncio.to_thread(system.services.wait_ready)
    tally = Tally()
    started = time.monotonic()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as http:
            workload = Workload(http, system.services.url, system.token, rng=random.Random(seed))
            say("seeding")
            await workload.seed(employers=4, employments=8)
            say(f"load with {callers} callers for {seconds:.0f} s, {kills} kills")
            stop = asyncio.Event()
            running = asyncio.create_task(load(workload, tally, stop, callers))
            await killer(system, tally, kills, seconds, rng, sequence)
            await asyncio.sleep(max(0.0, seconds - (time.monotonic() - started)))
            stop.set()
            await running
        await asyncio.to_thread(system.services.wait_ready)
        await nc.close()
        nc = await connect(system.nats.url, "polku-chaos")
        say("settling")
        await settled(system, nc)
        lost = await events_lost(system, nc)
        differences = await projection_differences(system, nc)
        parked = sum([await _count(system.database(service), parked_events) for service in CONSUMERS])
        letters = len(await dead_letters.list_all(nc.jetstream(), "POLKU_DEADLETTER"))
    finally:
        await nc.close()
        system.services.stop_all()
        system.nats.stop()
    return {"seconds": round(time.monotonic() - started, 1), "kills": len(tally.kills),
            "killed": {target: tally.kills.count(target) for target in TARGETS if target in tally.kills},
            "commands": tally.commands, "ok": tally.ok, "refused": tally.refused, "unavailable": tally.unavailable,
            "server_errors": tally.server_errors, "server_error_kinds": tally.server_error_kinds,
            "events_lost": lost, "double_counts": differences, "projections_equal_rebuild": differences == 0,
            "dead_letters": letters, "parked": parked, "work_dir": str(work)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--kills", type=int, default=24)
    parser.add_argument("--callers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--no-cluster", action="store_true", help="skip the three-node cluster part")
    parser.add_argument("--cluster-seconds", type=float, default=60)
    parser.add_argument("--node-down-s", type=float, default=15)
    args = parser.parse_args()
    result = asyncio.run(chaos(args.seconds, args.kills, args.callers, args.seed))
    if not args.no_cluster:
        result |= asyncio.run(cluster_chaos(args.cluster_seconds, args.node_down_s, args.callers, args.seed))
    width = max(len(name) for name in result)
    for name, value in result.items():
        print(f"{name:<{width}}  {value}")
    print(json.dumps(result))
    failed = (result["server_errors"] or result["events_lost"] or not result["projections_equal_rebuild"]
              or result.get("cluster_server_errors") or result.get("cluster_events_lost")
              or result.get("cluster_projections_equal_rebuild") is False)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()


NODE_CONF = Path(__file__).resolve().parents[2] / "deploy" / "nats" / "node.conf"
NODES = ("nats-1", "nats-2", "nats-3")


class Cluster:
    """Three nats-server processes with deploy/nats/node.conf, every Polku user with a password."""

    def __init__(self, work: Path):
        self.work = work
        self.passwords = {user.name: f"chaos{user.name.replace('-', '').replace('_', '')}Pw1"
                          for user in nats_permissions.users()}
        self.ports = {node: {"client": free_port(), "cluster": free_port(), "monitor": free_port()} for node in NODES}
        self.processes: dict[str, subprocess.Popen] = {}

    @property
    def url(self) -> str:
        return ",".join(f"nats://127.0.0.1:{self.ports[node]['client']}" for node in NODES)

    def start(self, node: str) -> None:
        routes = ",".join(f"nats-route://127.0.0.1:{self.ports[each]['cluster']}" for each in NODES)
        env = {"PATH": os.environ["PATH"]} | {nats_permissions.password_variable(name): password
                                              for name, password in self.passwords.items()}
        ports = self.ports[node]
        self.processes[node] = subprocess.Popen(
            [nats_server_binary(), "-c", str(NODE_CONF), "--name", node, "-a", "127.0.0.1", "-p", str(ports["client"]),
             "-m", str(ports["monitor"]), "-sd", str(self.work / node), "--cluster",
             f"nats://127.0.0.1:{ports['cluster']}", "--routes", routes, "-l", str(self.work / f"{node}.log")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(ports["client"])

    def kill(self, node: str) -> None:
        self.processes[node].kill()
        self.processes[node].wait(10)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
                process.wait(10)


async def cluster_chaos(seconds: float, down_s: float, callers: int = 4, seed: int = 12,
                        work: Path | None = None) -> dict:
    """The load on a three-node cluster; one node killed a third of the way in, restarted `down_s` later."""
    work = work or Path(tempfile.mkdtemp(prefix="polku-chaos-cluster-"))
    cluster = Cluster(work)
    for node in NODES:
        cluster.start(node)
    ops = nats_permissions.OPS_USER
    deadline = time.monotonic() + 60
    while True:  # until the cluster has elected its meta leader
        try:
            nc = await connect(cluster.url, "polku-chaos", ops, cluster.passwords[ops])
            await bootstrap_streams(nc, replicas=3)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1)
    settings = Settings(service="ops")
    await create_durable_consumers(nc.jetstream(), nats_permissions.service_subscriptions(), settings)
    system = System(work)
    system.services = ServiceProcesses(
        cluster.url, work / "var", {name: free_port() for name in SERVICES},
        extra_env=system.services.extra_env,
        service_env={name: {"POLKU_NATS_USER": name, "POLKU_NATS_PASSWORD": cluster.passwords[name]}
                     for name in SERVICES})
    system.services.start_all()
    await asyncio.to_thread(system.services.wait_ready)
    tally = Tally()
    rng = random.Random(seed)
    victim = rng.choice(NODES)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as http:
            workload = Workload(http, system.services.url, system.token, rng=random.Random(seed))
            await workload.seed(employers=4, employments=8)
            stop = asyncio.Event()
            running = asyncio.create_task(load(workload, tally, stop, callers))
            await asyncio.sleep(seconds / 3)
            say(f"  kill -9 {victim} for {down_s:.0f} s")
            down_at = time.monotonic()
            await asyncio.to_thread(cluster.kill, victim)
            await asyncio.sleep(down_s)
            await asyncio.to_thread(cluster.start, victim)
            up_at = time.monotonic()
            await asyncio.sleep(max(0.0, seconds * 2 / 3 - down_s))
            stop.set()
            await running
        marks = [down_at, *(at for at in tally.ok_at if down_at <= at <= up_at), up_at]
        stall = max(later - earlier for earlier, later in zip(marks, marks[1:], strict=False))
        await nc.close()
        nc = await connect(cluster.url, "polku-chaos", ops, cluster.passwords[ops])
        await settled(system, nc)
        lost = await events_lost(system, nc)
        differences = await projection_differences(system, nc)
    finally:
        await nc.close()
        system.services.stop_all()
        cluster.stop_all()
    return {"cluster_node_killed": victim, "cluster_down_s": down_s, "cluster_commands": tally.commands,
            "cluster_ok": tally.ok, "cluster_server_errors": tally.server_errors,
            "cluster_server_error_kinds": tally.server_error_kinds, "cluster_events_lost": lost,
            "cluster_projections_equal_rebuild": differences == 0, "longest_stall_s": round(stall, 2)}
