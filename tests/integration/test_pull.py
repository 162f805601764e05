"""The live consumer's hand-driven pull against a real nats-server: what arrives is taken at once,
and an idle pull keeps asking."""
import asyncio
import time

from nats.js.api import AckPolicy, ConsumerConfig

from services.platform.pull import Pull
from tests.integration.probe import enrolled_envelope, publish


async def pull_on(nc, name: str, batch_size: int, wait_s: float) -> Pull:
    await nc.jetstream().add_consumer("POLKU", ConsumerConfig(
        durable_name=name, ack_policy=AckPolicy.EXPLICIT, filter_subject="polku.events.>"))
    return await Pull(nc, "POLKU", name, nc.new_inbox(), batch_size, wait_s).start()


async def test_one_message_is_taken_at_once_though_the_batch_is_larger(nc):
    pull = await pull_on(nc, "pull-one", batch_size=100, wait_s=5)
    try:
        taking = asyncio.create_task(pull.take())
        await asyncio.sleep(0.2)  # the request is out and waiting
        started = time.perf_counter()
        await publish(nc.jetstream(), enrolled_envelope())
        [msg] = await asyncio.wait_for(taking, 2)
        assert time.perf_counter() - started < 1, "not held back until the batch is full or the request expires"
        await msg.ack()
    finally:
        await pull.stop()


async def test_a_backlog_comes_in_batches_and_an_idle_pull_keeps_asking(nc):
    for _ in range(25):
        await publish(nc.jetstream(), enrolled_envelope())
    pull = await pull_on(nc, "pull-many", batch_size=10, wait_s=0.3)
    try:
        taken = []
        while len(taken) < 25:
            batch = await pull.take()
            assert 1 <= len(batch) <= 10
            taken += batch
            for msg in batch:
                await msg.ack()
        assert len({msg.metadata.sequence.stream for msg in taken}) == 25
        waiting = asyncio.create_task(pull.take())
        await asyncio.sleep(1)  # three requests expire meanwhile, and each is asked again
        assert not waiting.done()
        await publish(nc.jetstream(), enrolled_envelope())
        [late] = await asyncio.wait_for(waiting, 2)
        await late.ack()
    finally:
        await pull.stop()


async def test_what_arrives_while_a_batch_is_applied_is_in_hand_before_it_is_taken(nc):
    # The consumer keeps `arrived` alive on the server while it applies a batch (InboxConsumer._keep_held_alive).
    for _ in range(5):
        await publish(nc.jetstream(), enrolled_envelope())
    pull = await pull_on(nc, "pull-in-hand", batch_size=2, wait_s=5)
    try:
        first = await pull.take()
        if len(first) < 2:  # the request's other message had not arrived yet: the next take has it
            first += await pull.take()
        deadline = time.monotonic() + 2
        while len(pull.arrived) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)  # the next request, asked when the batch was taken, streams in
        in_hand = list(pull.arrived)
        assert len(in_hand) == 2, "the next request's messages are in hand without a take"
        assert await pull.take() == in_hand
        for msg in [*first, *in_hand]:
            await msg.ack()
    finally:
        await pull.stop()
