"""NATS with TLS (deploy/nats/node-tls.conf, as docker-compose.yml runs it) on real nats-server processes
from the wheel, with certificates from `python -m services.platform.nats_tls`: clients speak TLS and a
plain client is refused; routes between nodes are mutual TLS, so a node whose certificate another
authority signed makes no route."""
import asyncio
import json
import os
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest
from faststream.nats import NatsBroker

from services.platform import nats_permissions
from services.platform.bus import connect
from services.platform.config import Settings
from services.platform.nats_server import free_port, nats_server_binary, wait_for_port
from services.platform.nats_tls import write_certificates
from services.platform.service import _security
from tests.support import eventually

NODE_TLS_CONF = Path(__file__).resolve().parents[2] / "deploy" / "nats" / "node-tls.conf"
PASSWORDS = {nats_permissions.password_variable(user.name): f"test{user.name.replace('-', '').replace('_', '')}Pw1"
             for user in nats_permissions.users()}
OPS_PASSWORD = PASSWORDS[nats_permissions.password_variable(nats_permissions.OPS_USER)]


class Node:
    def __init__(self, name: str, directory: Path, certificates: dict[str, Path]):
        self.name, self.directory, self.certificates = name, directory, certificates
        self.client, self.cluster, self.monitor = free_port(), free_port(), free_port()
        self.process: subprocess.Popen | None = None

    def start(self, routes: list["Node"]) -> "Node":
        environment = {"PATH": os.environ["PATH"]} | PASSWORDS | {
            "POLKU_NATS_TLS_CERT": str(self.certificates["cert"]), "POLKU_NATS_TLS_KEY": str(self.certificates["key"]),
            "POLKU_NATS_TLS_CA": str(self.certificates["ca"])}
        self.process = subprocess.Popen(
            [nats_server_binary(), "-c", str(NODE_TLS_CONF), "--name", self.name, "-a", "127.0.0.1",
             "-p", str(self.client), "-m", str(self.monitor), "-sd", str(self.directory / self.name),
             "--cluster", f"nats://127.0.0.1:{self.cluster}",
             "--routes", ",".join(f"nats-route://127.0.0.1:{node.cluster}" for node in routes),
             "-l", str(self.directory / f"{self.name}.log")],
            env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.client)
        return self

    def monitoring(self, what: str) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.monitor}/{what}", timeout=2) as response:
            return json.load(response)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def nodes(tmp_path):
    started: list[Node] = []

    def start(name: str, certificates: dict[str, Path], routes: list[Node] = ()) -> Node:
        node = Node(name, tmp_path, certificates)
        started.append(node)
        return node.start([*routes, node])

    yield start
    for node in started:
        node.stop()


async def test_a_node_takes_tls_clients_only(tmp_path, nodes):
    certificates = write_certificates(tmp_path / "tls")
    node = nodes("nats-1", certificates)
    assert node.monitoring("varz")["tls_required"] is True

    nc = await connect(f"nats://127.0.0.1:{node.client}", "polku-tests", "ops", OPS_PASSWORD,
                       tls_ca=certificates["ca"])
    try:
        assert nc.is_connected
        subscription = await nc.subscribe("polku.tls.probe")
        await nc.publish("polku.tls.probe", b"over TLS")
        assert (await subscription.next_msg(timeout=2)).data == b"over TLS"
    finally:
        await nc.close()

    # Plain text: the server's INFO asks for TLS, and a CONNECT in the clear gets no connection.
    answer = await asyncio.to_thread(_plain_text_client, node.client)
    assert answer["info"]["tls_required"] is True
    assert answer["after_connect"] in (b"", None) or b"-ERR" in answer["after_connect"], answer
    assert b"+OK" not in (answer["after_connect"] or b"") and b"PONG" not in (answer["after_connect"] or b"")
    # A client that does not trust the authority is refused too.
    with pytest.raises(Exception):
        await connect(f"nats://127.0.0.1:{node.client}", "polku-tests", "ops", OPS_PASSWORD,
                      max_reconnect_attempts=0, allow_reconnect=False, connect_timeout=2)


def _plain_text_client(port: int) -> dict:
    with socket.create_connection(("127.0.0.1", port), timeout=3) as plain:
        info = plain.recv(4096).decode()
        assert info.startswith("INFO ")
        plain.sendall(b'CONNECT {"verbose":true,"user":"ops","pass":"' + OPS_PASSWORD.encode() + b'"}\r\nPING\r\n')
        try:
            after = plain.recv(4096)
        except (ConnectionResetError, TimeoutError):
            after = None
    return {"info": json.loads(info.removeprefix("INFO ").strip()), "after_connect": after}


async def test_the_services_broker_connects_with_tls(tmp_path, nodes):
    certificates = write_certificates(tmp_path / "tls")
    node = nodes("nats-1", certificates)
    settings = Settings(service="intake", nats_url=f"nats://127.0.0.1:{node.client}", nats_user="ops",
                        nats_password=OPS_PASSWORD, nats_tls_ca=certificates["ca"])
    broker = NatsBroker(f"nats://127.0.0.1:{node.client}", security=_security(settings), max_reconnect_attempts=1)
    await broker.start()
    try:
        assert broker.config.connection_state.connection.is_connected
    finally:
        await broker.stop()


async def test_routes_are_mutual_tls_and_a_node_of_another_authority_makes_none(tmp_path, nodes):
    ours = write_certificates(tmp_path / "ours")
    first = nodes("nats-1", ours)
    second = nodes("nats-2", ours, routes=[first])

    async def routed() -> bool:
        return first.monitoring("routez")["num_routes"] > 0 and second.monitoring("routez")["num_routes"] > 0

    await eventually(routed, timeout_s=15, what="a TLS route between the two nodes")
    assert first.monitoring("varz")["cluster"]["tls_verify"] is True

    strangers = write_certificates(tmp_path / "strangers")  # an authority of its own
    stranger = nodes("nats-3", strangers, routes=[first])
    await asyncio.sleep(3)  # a route would be up well within this
    assert stranger.monitoring("routez")["num_routes"] == 0
    assert "nats-3" not in json.dumps(first.monitoring("routez"))
