"""deploy/nats/node.conf runs a three-node cluster as plain processes on one host (what differs per node
on the command line); polku bootstrap and status reach it through several seed servers, and
status names a lost node."""
import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.platform import nats_permissions
from services.platform.bus import connect
from services.platform.nats_server import free_port, nats_server_binary, wait_for_port
from services.platform.status import Thresholds, bus_lines
from tests.support import eventually

NODE_CONF = Path(__file__).resolve().parents[2] / "deploy" / "nats" / "node.conf"
NODES = ("nats-1", "nats-2", "nats-3")


@pytest.fixture
def cluster(tmp_path):
    passwords = {nats_permissions.password_variable(user.name): f"test{user.name.replace('-', '').replace('_', '')}Pw1"
                 for user in nats_permissions.users()}
    ports = {node: {"client": free_port(), "cluster": free_port(), "monitor": free_port()} for node in NODES}
    routes = ",".join(f"nats-route://127.0.0.1:{ports[node]['cluster']}" for node in NODES)
    processes = {}
    for node in NODES:
        processes[node] = subprocess.Popen(
            [nats_server_binary(), "-c", str(NODE_CONF), "--name", node, "-a", "127.0.0.1",
             "-p", str(ports[node]["client"]), "-m", str(ports[node]["monitor"]), "-sd", str(tmp_path / node),
             "--cluster", f"nats://127.0.0.1:{ports[node]['cluster']}", "--routes", routes,
             "-l", str(tmp_path / f"{node}.log")],
            env={"PATH": os.environ["PATH"]} | passwords, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for node in NODES:
        wait_for_port(ports[node]["client"])
    yield {"processes": processes, "ports": ports,
           "ops_password": passwords[nats_permissions.password_variable(nats_permissions.OPS_USER)]}
    for process in processes.values():
        if process.poll() is None:
            process.terminate()
            process.wait(10)


def seeds(cluster, nodes=NODES) -> str:
    return ",".join(f"nats://127.0.0.1:{cluster['ports'][node]['client']}" for node in nodes)


async def test_a_cluster_of_plain_processes_serves_polku_and_status_names_a_lost_node(cluster):
    env = os.environ | {"POLKU_NATS_URL": seeds(cluster), "POLKU_NATS_USER": nats_permissions.OPS_USER,
                        "POLKU_NATS_PASSWORD": cluster["ops_password"]}

    async def bootstrapped() -> bool:  # once the cluster has elected its meta leader
        ran = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "services.cli", "bootstrap"],
                                      env=env, capture_output=True, text=True, timeout=60)
        return ran.returncode == 0

    await eventually(bootstrapped, timeout_s=60, what="polku bootstrap on the three-node cluster")
    nc = await connect(seeds(cluster), "polku-tests", nats_permissions.OPS_USER, cluster["ops_password"])
    try:
        async def all_current() -> bool:
            lines = await bus_lines(nc, "POLKU", "POLKU_DEADLETTER", ["pathway"], Thresholds())
            line = next(line for line in lines if line.section == "nats")
            return not line.needs_attention and line.detail.count(" current") == 2

        await eventually(all_current, timeout_s=30, what="a leader and both replicas current")
    finally:
        await nc.close()

    # The first seed is lost: the client goes on to the next.
    cluster["processes"]["nats-1"].terminate()
    cluster["processes"]["nats-1"].wait(10)
    nc = await connect(seeds(cluster), "polku-tests", nats_permissions.OPS_USER, cluster["ops_password"])
    try:
        async def nats_line():
            lines = await bus_lines(nc, "POLKU", "POLKU_DEADLETTER", ["pathway"], Thresholds())
            return next(line for line in lines if line.section == "nats")

        async def lost_node_named() -> bool:
            try:
                line = await nats_line()
            except Exception:
                return False  # the stream's leader moving to a node still up
            return line.needs_attention and "nats-1" in line.detail and "BEHIND" in line.detail

        await eventually(lost_node_named, timeout_s=60, what="polku status naming the lost node")
        line = await nats_line()
        assert "leader nats-2" in line.detail or "leader nats-3" in line.detail, line.detail
    finally:
        await nc.close()
