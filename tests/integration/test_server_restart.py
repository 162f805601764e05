"""A nats-server restart must not strand a consumer or a relay (nats-io/nats.py#504 is about this)."""
import asyncio
from uuid import uuid4

import nats.errors

from services.intake.domain.client import CLIENT
from services.platform.bus import bootstrap_streams, connect
from services.platform.config import Settings
from services.platform.nats_server import LocalNatsServer
from services.platform.service import ServiceRuntime
from tests.integration.histories import client_history
from tests.integration.probe import Probe, create_probe_table, enrolled_envelope, processed_ids, publish
from tests.support import eventually


async def test_consumer_and_relay_carry_on_after_the_server_restarts(tmp_path, database_url_factory, span_exporter):
    server = LocalNatsServer(tmp_path / "nats").start()
    nc = await connect(server.url, "restart-test")
    runtime = None
    try:
        await bootstrap_streams(nc, replicas=1)
        probe = Probe()
        runtime = ServiceRuntime(probe.definition(), Settings(
            service="probe", nats_url=server.url, database_url=await database_url_factory("probe"),
            http_port=0, ack_wait_s=2.0, relay_idle_poll_s=0.2))
        await runtime.start()
        await create_probe_table(runtime.engine)
        before = enrolled_envelope()
        await publish(nc.jetstream(), before)
        await eventually(lambda: _processed(runtime, {str(before.id)}), what="processing before the restart")

        server.stop()
        server.start()  # same port, same store
        after = enrolled_envelope()
        await eventually(lambda: _published(nc, after), timeout_s=20, what="publishing after the restart")
        await eventually(lambda: _processed(runtime, {str(before.id), str(after.id)}), timeout_s=30,
                         what="the consumer receiving after the restart")

        client_id = uuid4()
        async with runtime.unit_of_work() as uow:
            await uow.decide(CLIENT, str(client_id), lambda _: client_history(client_id), area="kemi")
        appended = {str(envelope.id) for envelope in uow.appended}
        await eventually(lambda: _on_stream(nc, appended), timeout_s=20, what="the relay publishing after the restart")
    finally:
        if runtime:
            await runtime.stop()
        await nc.close()
        server.stop()


async def _processed(runtime, expected: set[str]) -> bool:
    return set(await processed_ids(runtime.engine)) == expected


async def _published(nc, envelope) -> bool:
    try:
        await publish(nc.jetstream(), envelope)
        return True
    except (nats.errors.Error, asyncio.TimeoutError):  # the server is still coming back
        return False


async def _on_stream(nc, event_ids: set[str]) -> bool:
    js = nc.jetstream()
    state = (await js.stream_info("POLKU")).state
    found = set()
    for sequence in range(state.first_seq, state.last_seq + 1):
        found.add((await js.get_msg("POLKU", sequence)).headers["Nats-Msg-Id"])
    return event_ids <= found
