"""The documented outside consumer (examples/area_tally.py) with the real `reporting-kemi` user on a
nats-server with the generated permissions: it tallies Kemi's events only, and a second run counts
nothing twice."""
from uuid import uuid4

import pytest
from nats.js.errors import NotFoundError

from examples.area_tally import follow
from services.platform.bus import bootstrap_streams, connect, stream_configs
from services.platform.nats_permissions import area_consumer_config
from services.platform.nats_permissions import OPS_USER, write_embedded_config
from services.platform.nats_server import LocalNatsServer
from tests.integration.histories import client_history, envelope_of


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    directory = tmp_path_factory.mktemp("nats-area-tally")
    config, credentials = write_embedded_config(directory)
    server = LocalNatsServer(directory, config_file=config).start()
    yield server, credentials
    server.stop()


async def test_the_example_tallies_its_own_areas_events_once(secured, tmp_path):
    server, credentials = secured
    ops = await connect(server.url, "test-ops", OPS_USER, credentials[OPS_USER])
    try:
        for config in stream_configs():
            try:
                await ops.jetstream().delete_stream(config.name)
            except NotFoundError:
                pass
        await bootstrap_streams(ops, replicas=1)
        js = ops.jetstream()
        for area in ("kemi", "tornio"):  # as polku bootstrap does: the area users only pull
            await js.add_consumer("POLKU", area_consumer_config(area))
        for area, clients in (("kemi", 2), ("tornio", 1)):
            for _ in range(clients):
                client_id = uuid4()
                for version, event in enumerate(client_history(client_id, area), start=1):
                    envelope = envelope_of(event, version, area=area)
                    await js.publish(envelope.nats_subject, envelope.model_dump_json().encode(), stream="POLKU",
                                     headers={"Nats-Msg-Id": str(envelope.id)})
        tally_file = tmp_path / "kemi.json"
        tally = await follow(server.url, "kemi", credentials["reporting-kemi"], tally_file, idle_s=1.0)
        assert tally["by_type"] == {"ClientReferred": 2, "EligibilityAssessed": 2, "ClientEnrolled": 2}
        info = await js.consumer_info("POLKU", "reporting-kemi")
        assert (info.num_pending, info.num_ack_pending) == (0, 0), "every message was acked after the tally was saved"
        again = await follow(server.url, "kemi", credentials["reporting-kemi"], tally_file, idle_s=0.5)
        assert again["by_type"] == tally["by_type"] and len(again["seen"]) == 6
    finally:
        await ops.close()
