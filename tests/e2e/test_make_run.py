"""`make run` (`polku run`): local nats-server, five services, the demo, the reports, and a clean Ctrl-C."""
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def five_free_ports() -> int:
    """The first of five consecutive free ports."""
    for first in range(21100, 30000, 10):
        try:
            sockets = [socket.create_server(("127.0.0.1", first + offset)) for offset in range(5)]
        except OSError:
            continue
        for probe in sockets:
            probe.close()
        return first
    raise RuntimeError("no five consecutive free ports")


def start_polku_run(var_dir: Path, first_port: int) -> subprocess.Popen:
    """`polku run` with its own nats-server (no NATS_URL) and data under var_dir."""
    env = os.environ | {"POLKU_VAR_DIR": str(var_dir), "POLKU_FIRST_PORT": str(first_port)}
    env.pop("NATS_URL", None)
    env.pop("POLKU_NATS_URL", None)
    return subprocess.Popen([sys.executable, "-m", "services.cli", "run"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_polku_run_loads_the_demo_prints_the_reports_and_stops_cleanly(tmp_path: Path, stop):
    first_port = five_free_ports()
    run = start_polku_run(tmp_path / "var", first_port)
    lines = []
    deadline = time.monotonic() + 120
    try:
        for line in run.stdout:
            lines.append(line)
            if "Ctrl-C stops everything." in line or time.monotonic() > deadline:
                break
        output = "".join(lines)
        assert "Ctrl-C stops everything." in output, output
        run.send_signal(stop)
        output += run.communicate(timeout=60)[0]
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, output
    for offset, service in enumerate(("intake", "pathway", "employer", "payroll_billing", "reporting")):
        url = f"http://127.0.0.1:{first_port + offset}"
        assert re.search(rf"^{service} +{url} +{url}/openapi.json$", output, re.MULTILINE), service
    # The pooled gig job's month, invoiced to its three employers; nothing is invoiced in Tornio.
    assert "employment_area=kemi  invoices=3  hours=40  amount=1040" in output, output
    assert "employment_area=tornio  invoices=" not in output, output
    assert "stopping" in output
    assert (tmp_path / "var" / "nats").is_dir(), "JetStream keeps its data under var/"
    assert sorted(path.name for path in (tmp_path / "var").glob("*.db")) == [
        "employer.db", "intake.db", "pathway.db", "payroll_billing.db", "reporting.db"]


def test_sigterm_during_start_up_stops_what_had_started(tmp_path: Path):
    first_port = five_free_ports()
    run = start_polku_run(tmp_path / "var", first_port)
    try:
        first_line = run.stdout.readline()
        nats_port = int(re.search(r"nats://127.0.0.1:(\d+)", first_line)[1])
        run.send_signal(signal.SIGTERM)
        output = first_line + run.communicate(timeout=60)[0]
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, output
    assert "stopping" in output
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", nats_port), timeout=2).close()
