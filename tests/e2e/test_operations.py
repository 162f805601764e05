"""The operator's view of the services as processes: `polku trace` of a referral across services,
`polku status` when a consumer stops and after it is back, and /metrics of each process."""
import asyncio
import os
import subprocess
import sys
import time
from uuid import uuid4

import aiohttp
import pytest

from services.platform.database import create_engine
from services.platform.nats_server import free_port
from services.platform.processes import SERVICES, ServiceProcesses
from tests.e2e.test_processes import wait_until
from tests.integration.histories import stored_event_ids
from tests.integration.test_outbox_relay import stream_messages
from tests.support import bearer, eventually, referral_body

pytestmark = pytest.mark.e2e


@pytest.fixture
def processes(nc, nats_server, tmp_path, signing_key_file):
    """The five services as processes, as an operator runs them to find a slow query: SQL traced."""
    services = ServiceProcesses(nats_server.url, tmp_path / "var", {name: free_port() for name in SERVICES},
                                extra_env={"POLKU_SIGNING_KEY_FILE": str(signing_key_file), "POLKU_TRACE_SQL": "true"})
    services.start_all()
    yield services
    services.stop_all()


def polku(processes: ServiceProcesses, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"POLKU_NATS_URL": processes.nats_url, "POLKU_VAR_DIR": str(processes.var_dir)}
    return subprocess.run([sys.executable, "-m", "services.cli", *args], env=env, capture_output=True, text=True,
                          timeout=60)


def status(processes: ServiceProcesses, *options: str) -> subprocess.CompletedProcess:
    urls = [f"--url={name}={processes.url(name)}" for name in SERVICES]
    return polku(processes, "status", *urls, *options)


async def refer(processes: ServiceProcesses, token, correlation_id: str) -> str:
    async with aiohttp.ClientSession(raise_for_status=True) as http, http.post(
            f"{processes.url('intake')}/clients", json=referral_body(case_worker="cw-ops"),
            headers=bearer(token("case_worker", "kemi", "cw-ops")) | {"X-Correlation-Id": correlation_id}) as response:
        return (await response.json())["client_id"]


async def test_an_operator_traces_a_referral_and_sees_a_stopped_consumer(processes, token):
    await asyncio.to_thread(processes.wait_ready)
    correlation_id = str(uuid4())
    await refer(processes, token, correlation_id)

    expected = ("polku-intake: POST /clients", "polku-intake: INSERT intake", "polku-intake: publish POLKU",
                "polku-pathway: pathway process ClientEnrolled", "polku-pathway: INSERT pathway",
                "polku-reporting: reporting process ClientReferred")

    def traced_through_reporting() -> bool:
        # Each process flushes its spans on its own second: wait for every one of them, not just the last.
        shown = polku(processes, "trace", correlation_id).stdout
        return all(span in shown for span in expected)

    await asyncio.to_thread(wait_until, traced_through_reporting, 30, "the referral's trace across the services")
    shown = polku(processes, "trace", correlation_id).stdout
    for span in expected:
        assert span in shown, f"{span!r} not in\n{shown}"
    assert str(processes.var_dir) not in shown, "SQL span names carry the database's name, not its path"
    assert polku(processes, "trace", str(uuid4())).returncode == 1

    def healthy() -> bool:
        return status(processes).returncode == 0

    await asyncio.to_thread(wait_until, healthy, 30, "polku status healthy")
    # Into a file, read while it runs: on a loaded machine one refresh can take longer than a fixed wait.
    shown_by_watch = processes.var_dir / "status-watch.txt"
    with shown_by_watch.open("w") as output:
        watching = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "status", "--watch", "0.5",
             *(f"--url={name}={processes.url(name)}" for name in SERVICES)],
            env=os.environ | {"POLKU_NATS_URL": processes.nats_url}, stdout=output, text=True)
        try:
            await asyncio.to_thread(wait_until, lambda: shown_by_watch.read_text().count("all healthy") >= 2, 30,
                                    "--watch refreshes")
        finally:
            watching.terminate()
            watching.wait(timeout=10)

    processes.stop("pathway")
    await refer(processes, token, str(uuid4()))
    stopped = status(processes, "--stalled-after=0.5")
    assert stopped.returncode == 1, stopped.stdout
    assert any(line.startswith("consumer  pathway") and "ATTENTION" in line and "STALLED" in line
               for line in stopped.stdout.splitlines()), stopped.stdout
    assert any(line.startswith("service   pathway") and "ATTENTION" in line for line in stopped.stdout.splitlines())

    processes.start("pathway")
    await asyncio.to_thread(processes.wait_ready)
    await asyncio.to_thread(wait_until, healthy, 30, "polku status healthy once pathway is back")
    assert "all healthy" in status(processes).stdout

    # An idle system writes no spans: no relay polls, probes or scrapes in the store.
    traces = processes.var_dir / "traces"
    await asyncio.sleep(2.5)  # the batch processors' last flush
    before = {path.name: path.stat().st_size for path in traces.glob("*.jsonl")}
    for _ in range(3):
        assert status(processes).returncode == 0
    await asyncio.sleep(2.5)
    assert {path.name: path.stat().st_size for path in traces.glob("*.jsonl")} == before


async def test_killing_the_intake_instance_whose_relay_publishes_hands_the_outbox_to_the_other(
        nc, nats_server, tmp_path, signing_key_file, token):
    """Two intake processes on one SQLite database; SIGKILL to the lease holder; the other publishes
    within the lease, and the stream ends with every stored event once, in log order."""
    lease_s = 2.0
    env = {"POLKU_SIGNING_KEY_FILE": str(signing_key_file), "POLKU_RELAY_LEASE_S": str(lease_s)}
    instances = [ServiceProcesses(nats_server.url, tmp_path / "var", {"intake": free_port()}, extra_env=env)
                 for _ in range(2)]
    try:
        for instance in instances:
            instance.start("intake")
            await asyncio.to_thread(instance.wait_ready)

        async def relay_active(instance) -> float:
            async with aiohttp.ClientSession() as http, http.get(f"{instance.url('intake')}/metrics") as response:
                text = await response.text()
            return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("polku_relay_active{"))

        async def one_active() -> bool:
            return sorted([await relay_active(instance) for instance in instances]) == [0.0, 1.0]

        await eventually(one_active, what="exactly one intake relay active")
        active, standby = instances if await relay_active(instances[0]) else reversed(instances)

        for instance in (standby, active):
            for _ in range(5):
                await refer(instance, token, str(uuid4()))
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'var' / 'intake.db'}")
        try:
            async def all_published() -> bool:
                return len(await stream_messages(nc)) == len(await stored_event_ids(engine))

            await eventually(all_published, what="the ten referrals' events on the stream")
            assert await relay_active(standby) == 0

            active.stop("intake", kill=True)
            died = time.monotonic()
            for _ in range(5):
                await refer(standby, token, str(uuid4()))
            await eventually(all_published, timeout_s=lease_s * 5, what="the survivor publishing")
            takeover_s = time.monotonic() - died
            assert await relay_active(standby) == 1
            assert [msg.headers["Nats-Msg-Id"] for msg in await stream_messages(nc)] == await stored_event_ids(engine)
            assert takeover_s < lease_s + 2.0, f"the takeover took {takeover_s:.1f} s"
            print(f"intake killed; the other instance's relay published after {takeover_s:.2f} s (lease {lease_s} s)")
        finally:
            await engine.dispose()
    finally:
        for instance in instances:
            instance.stop_all()
