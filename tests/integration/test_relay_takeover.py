"""One active relay per outbox: two instances of a service on one database, only the lease holder
publishes; when it dies another takes over within the lease, and no event is lost."""
import asyncio
import time

from services.intake.service import SERVICE as INTAKE
from services.platform.service import ServiceRuntime
from tests.integration.histories import append_clients, count_rows, outbox, stored_event_ids
from tests.integration.test_outbox_relay import stream_messages
from tests.support import BOTH_DATABASES, eventually

LEASE_S = 1.0


def count_published(runtime, tally: dict[str, int], name: str) -> None:
    publish_pending = runtime.relay.publish_pending

    async def counting() -> int:
        published = await publish_pending()
        tally[name] += published
        return published

    runtime.relay.publish_pending = counting


@BOTH_DATABASES
async def test_one_relay_publishes_and_another_takes_over_when_it_dies(start_service, nc):
    first = await start_service(INTAKE, relay_lease_s=LEASE_S)
    second = await start_service(INTAKE, database_url=first.settings.database_url, relay_lease_s=LEASE_S)
    tally = {"first": 0, "second": 0}
    count_published(first, tally, "first")
    count_published(second, tally, "second")

    async def one_active() -> bool:
        return [first.relay.active, second.relay.active].count(True) == 1

    await eventually(one_active, what="one of the two relays holding the lease")
    active, standby = (first, second) if first.relay.active else (second, first)
    names = {id(first): "first", id(second): "second"}

    await append_clients(active.engine, 20)  # 60 events, woken through neither instance: the poll finds them
    await eventually(lambda: _outbox_empty(active), what="the outbox published")
    assert tally[names[id(standby)]] == 0, f"only the lease holder publishes: {tally}"
    assert tally[names[id(active)]] == 60

    # The active instance dies: its relay stops without releasing the lease.
    relay_task = next(task for task in active._tasks if task.get_name() == "intake-relay")
    relay_task.cancel()
    await asyncio.gather(relay_task, return_exceptions=True)
    died = time.monotonic()
    await append_clients(standby.engine, 10)
    await eventually(lambda: _outbox_empty(standby), timeout_s=LEASE_S * 10, what="the standby taking over")
    takeover_s = time.monotonic() - died
    assert standby.relay.active
    assert tally[names[id(standby)]] == 30
    # Within the lease (plus a poll), not at once: the dead holder's lease had to run out first.
    assert takeover_s < LEASE_S + 1.0, f"takeover took {takeover_s:.2f} s"
    print(f"relay takeover after the holder died: {takeover_s:.2f} s (lease {LEASE_S} s)")

    messages = await stream_messages(nc)
    assert [msg.headers["Nats-Msg-Id"] for msg in messages] == await stored_event_ids(standby.engine)


@BOTH_DATABASES
async def test_a_clean_stop_hands_the_lease_over_at_once(start_service, nc):
    first = await start_service(INTAKE, relay_lease_s=30.0)
    second = await start_service(INTAKE, database_url=first.settings.database_url, relay_lease_s=30.0,
                                 relay_idle_poll_s=0.1)
    await eventually(lambda: _is(first.relay.active), what="the first instance holding the lease")
    assert not second.relay.active
    await first.stop()
    await append_clients(second.engine, 2)
    await eventually(lambda: _outbox_empty(second), timeout_s=5, what="the second instance publishing")
    assert second.relay.active


async def _is(value: bool) -> bool:
    return value


async def _outbox_empty(runtime) -> bool:
    return await count_rows(runtime.engine, outbox) == 0


@BOTH_DATABASES
async def test_an_instance_restarted_after_a_crash_takes_its_own_lease_back_at_once(start_service, nc):
    crashed = await start_service(INTAKE, relay_lease_s=30.0)
    await eventually(lambda: _is(crashed.relay.active), what="the instance holding the lease")

    async def no_release() -> None:  # a crash: the lease is left behind, 30 s from running out
        pass

    crashed.relay.lease.release = no_release
    await crashed.stop()
    restarted = ServiceRuntime(INTAKE, crashed.settings)  # the same host, port and database
    await restarted.start()
    try:
        await append_clients(restarted.engine, 2)
        await eventually(lambda: _outbox_empty(restarted), timeout_s=3, what="the restarted instance publishing")
    finally:
        await restarted.stop()
