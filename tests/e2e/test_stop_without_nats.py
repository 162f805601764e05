"""A service stops at once and cleanly on SIGTERM, also when nats-server has already gone."""
import asyncio
import time

import pytest

from services.platform.bus import bootstrap_streams, connect
from services.platform.nats_server import LocalNatsServer, free_port
from services.platform.processes import ServiceProcesses

pytestmark = pytest.mark.e2e


def test_sigterm_after_nats_server_went_away_stops_the_service_at_once(tmp_path, signing_key_file):
    service = "pathway"  # a consumer, a relay and HTTP: everything that holds the connection
    server = LocalNatsServer(tmp_path / "nats").start()
    asyncio.run(_bootstrap(server.url))
    processes = ServiceProcesses(server.url, tmp_path / "var", {service: free_port()},
                                 extra_env={"POLKU_SIGNING_KEY_FILE": str(signing_key_file)})
    try:
        processes.start(service)
        processes.wait_ready()
        server.stop(kill=True)
        time.sleep(1)
        process = processes.processes[service]
        started = time.monotonic()
        process.terminate()
        code = process.wait(30)
        took = time.monotonic() - started
    finally:
        for running in processes.processes.values():
            running.kill()
        server.stop()
    assert code == 0, (tmp_path / "var" / "logs" / f"{service}.log").read_text()[-2000:]
    assert took < 5, f"{service} took {took:.1f} s to stop"


async def _bootstrap(url: str) -> None:
    nc = await connect(url, "polku-tests")
    await bootstrap_streams(nc, replicas=1)
    await nc.close()
