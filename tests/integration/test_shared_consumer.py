"""Two instances of reporting share its durable consumer: each takes part of the stream, and
together they end where a rebuild from the stream ends (per aggregate, in version order)."""
import random

from services.platform.database import create_engine
from services.reporting.rebuild import rebuild
from services.reporting.service import SERVICE as REPORTING
from tests.bench.workload import changes, messages
from tests.integration.test_flow import projection_rows
from tests.support import BOTH_DATABASES, caught_up, eventually


@BOTH_DATABASES
async def test_two_instances_share_the_stream_and_end_where_a_rebuild_ends(start_service, nc):
    first = await start_service(REPORTING, consumer_batch_size=20)
    second = await start_service(REPORTING, database_url=first.settings.database_url, consumer_batch_size=20)
    taken = {"first": 0, "second": 0}
    for name, runtime in (("first", first), ("second", second)):
        process_batch = runtime.consumer.process_batch

        async def counting(msgs, name=name, process_batch=process_batch):
            taken[name] += len(msgs)
            await process_batch(msgs)

        runtime.consumer.process_batch = counting
    js, rng, acks = nc.jetstream(), random.Random(8), []
    for change in changes(1500, seed=9):
        for message in messages(change, rng):
            acks.append(await js.publish_async(message.subject, message.body, stream="POLKU", headers={
                "Nats-Msg-Id": message.event_id, "ce-type": message.event_type}))
    for ack in acks:
        await ack

    await eventually(lambda: caught_up(first), timeout_s=60, what="the two instances through the stream")
    assert taken["first"] and taken["second"], f"both instances took a share: {taken}"
    live = await projection_rows(first.engine)
    await first.stop()
    await second.stop()
    engine = create_engine(first.settings.database_url)
    try:
        await rebuild(engine, nc, "POLKU", batch_size=300, show_progress=False)
        assert await projection_rows(engine) == live
    finally:
        await engine.dispose()
