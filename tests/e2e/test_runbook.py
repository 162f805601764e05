"""Every command of docs/runbook.md's `sh` blocks runs, in the file's order, against the five services
as processes: the runbook's commands are the ones that work today."""
import asyncio
import os
import random
import re
import socket
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import aiohttp
import pytest

from services.platform.processes import SERVICES, ServiceProcesses
from tests.support import bearer, referral_body

pytestmark = pytest.mark.e2e
RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "runbook.md"


def runbook_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", RUNBOOK.read_text(), flags=re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def consecutive_free_ports(count: int) -> int:
    """The first of `count` free ports in a row: `polku status` finds the services from POLKU_FIRST_PORT."""
    for _ in range(100):
        first = random.randint(20000, 40000)
        try:
            probes = [socket.socket() for _ in range(count)]
            for offset, probe in enumerate(probes):
                probe.bind(("127.0.0.1", first + offset))
            return first
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
    raise RuntimeError("no free ports in a row")


@pytest.fixture
def processes(nc, nats_server, tmp_path, signing_key_file):
    first = consecutive_free_ports(len(SERVICES))
    services = ServiceProcesses(nats_server.url, tmp_path / "var", {name: first + i for i, name in enumerate(SERVICES)},
                                extra_env={"POLKU_SIGNING_KEY_FILE": str(signing_key_file)})
    services.first_port = first
    services.start_all()
    yield services
    services.stop_all()


def test_the_runbook_has_commands_for_each_entry():
    commands = runbook_commands()
    for command in ("polku status", "polku trace", "polku dead-letters list", "polku dead-letters replay",
                    "polku rebuild", "polku republish", "polku bootstrap", "polku audit verify", "/erasure"):
        assert any(command in line for line in commands), command


async def test_every_runbook_command_runs(processes, nc, token, signing_key_file):
    await asyncio.to_thread(processes.wait_ready)
    async with aiohttp.ClientSession(raise_for_status=True) as http, http.post(
            f"{processes.url('intake')}/clients", json=referral_body(case_worker="cw-ops") | {"person": {
                "name": "Runbook Test", "personal_identity_code": "131052Y308T"}},
            headers=bearer(token("case_worker", "kemi", "cw-ops"))) as response:
        client_id = (await response.json())["client_id"]
    js = nc.jetstream()
    await js.publish("polku.events.kemi.intake.ClientEnrolled", b"{not json", stream="POLKU",
                     headers={"Nats-Msg-Id": f"runbook-{uuid4()}"})

    async def dead_lettered() -> int:
        return (await js.stream_info("POLKU_DEADLETTER")).state.last_seq

    await eventually_async(dead_lettered, "a dead letter")

    async def referral_published() -> bool:
        try:
            return bool(await js.get_last_msg("POLKU", "polku.events.kemi.intake.ClientReferred"))
        except Exception:
            return False

    await eventually_async(referral_published, "the referral on the stream")
    event_id = (await js.get_last_msg("POLKU", "polku.events.kemi.intake.ClientReferred")).headers["Nats-Msg-Id"]
    variables = {"EVENT_ID": event_id, "CLIENT_ID": client_id, "SEQ": str(await dead_lettered()),
                 "INTAKE": processes.url("intake")}
    env = os.environ | variables | {
        "POLKU_NATS_URL": processes.nats_url, "POLKU_VAR_DIR": str(processes.var_dir),
        "POLKU_FIRST_PORT": str(processes.first_port), "POLKU_SIGNING_KEY_FILE": str(signing_key_file),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    await asyncio.sleep(1.5)  # the spans' batch processors flush each second

    for command in runbook_commands():
        if "polku status" in command:
            # Healthy once the dead letter is replayed away is not the point here: the command runs and reports.
            ran = await asyncio.to_thread(subprocess.run, command, shell=True, env=env, capture_output=True,
                                          text=True, timeout=60)
            assert ran.returncode in (0, 1) and "consumer  pathway" in ran.stdout, (command, ran.stdout, ran.stderr)
        else:
            ran = await asyncio.to_thread(subprocess.run, command, shell=True, env=env, capture_output=True,
                                          text=True, timeout=120)
            assert ran.returncode == 0 and "Traceback" not in ran.stderr, (command, ran.stdout, ran.stderr)
        if "polku trace" in command:
            assert "polku-intake: POST /clients" in ran.stdout, ran.stdout
        if "personal-data" in command:
            assert ran.stdout.strip() == "410", ran.stdout
        if "polku rebuild" in command:  # as the runbook says: reporting keeps running meanwhile
            assert "rebuilt reporting's projections" in ran.stdout and "swapped them in" in ran.stdout


async def eventually_async(check, what: str, timeout_s: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout_s} s")
        await asyncio.sleep(0.1)
