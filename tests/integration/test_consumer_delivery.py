"""Idempotent consumers against a real nats-server: duplicates, a crash before the ack, poison messages."""
import asyncio

from nats.aio.msg import Msg
from sqlalchemy import func, select

from services.cli import main as polku
from services.platform import dead_letters
from services.platform.tables import inbox
from tests.integration.probe import (Probe, client_of, create_probe_table, enrolled_envelope, processed_ids,
                                     publish)
from tests.support import BOTH_DATABASES, eventually


async def start_probe(start_service, probe: Probe, **settings):
    runtime = await start_service(probe.definition(), **settings)
    await create_probe_table(runtime.engine)
    return runtime


async def consumer_idle(js, deliveries: int) -> bool:
    """The probe's consumer has made `deliveries` deliveries and has nothing left unacknowledged."""
    info = await js.consumer_info("POLKU", "probe")
    return info.delivered.consumer_seq >= deliveries and info.num_ack_pending == 0 and info.num_pending == 0


async def inbox_rows(engine) -> int:
    async with engine.connect() as connection:
        return (await connection.execute(select(func.count()).select_from(inbox))).scalar_one()


@BOTH_DATABASES
async def test_a_duplicate_delivery_counts_once(start_service, nc):
    runtime = await start_probe(start_service, Probe())
    envelope = enrolled_envelope()
    await publish(nc.jetstream(), envelope)
    # A second copy under another message id: past the stream's duplicate window, as after a republish.
    await publish(nc.jetstream(), envelope, msg_id=f"copy-of-{envelope.id}")

    await eventually(lambda: consumer_idle(nc.jetstream(), deliveries=2), what="both copies delivered")
    assert await processed_ids(runtime.engine) == [str(envelope.id)]
    assert await inbox_rows(runtime.engine) == 1


@BOTH_DATABASES
async def test_a_consumer_killed_after_commit_and_before_ack_counts_once(start_service, nc, monkeypatch):
    probe = Probe()
    acks = []

    async def lost_ack(msg: Msg) -> None:
        acks.append(msg)  # the process dies here: the ack never reaches the server

    monkeypatch.setattr(Msg, "ack", lost_ack)
    first = await start_probe(start_service, probe, ack_wait_s=0.5)
    envelope = enrolled_envelope()
    await publish(nc.jetstream(), envelope)
    await eventually(lambda: asyncio.sleep(0, bool(acks)), what="the first delivery committed")
    database_url = first.settings.database_url
    await first.stop()
    monkeypatch.undo()

    restarted = await start_probe(start_service, probe, database_url=database_url, ack_wait_s=0.5)
    # After ack_wait the server redelivers the unacknowledged message to the restarted consumer.
    await eventually(lambda: consumer_idle(nc.jetstream(), deliveries=2), what="the redelivery acked")
    assert await processed_ids(restarted.engine) == [str(envelope.id)]
    assert probe.attempts == {client_of(envelope): 1}, "the inbox answered the redelivery, not the handler"


async def test_a_poison_message_is_dead_lettered_after_max_deliver_and_replayed_by_the_cli(
        start_service, nc, nats_server, monkeypatch, capsys):
    probe = Probe()
    runtime = await start_probe(start_service, probe, max_deliver=3)
    poison, healthy = enrolled_envelope(), enrolled_envelope()
    probe.failing.add(client_of(poison))
    await publish(nc.jetstream(), poison)
    await publish(nc.jetstream(), healthy)
    js = nc.jetstream()

    async def dead_lettered() -> bool:
        return len(await dead_letters.list_all(js, "POLKU_DEADLETTER")) == 1

    await eventually(dead_lettered, what="the poison message dead-lettered")
    await eventually(lambda: consumer_idle(js, deliveries=4), what="the healthy message processed after it")
    assert await processed_ids(runtime.engine) == [str(healthy.id)], "the failed tries were rolled back"
    [letter] = await dead_letters.list_all(js, "POLKU_DEADLETTER")
    assert (letter.consumer, letter.event_id, letter.deliveries) == ("probe", str(poison.id), 3)
    assert letter.error.startswith("RuntimeError: probe refuses client")
    assert letter.original_subject == "polku.events.kemi.intake.ClientEnrolled"

    monkeypatch.setenv("POLKU_NATS_URL", nats_server.url)
    assert await asyncio.to_thread(polku, ["dead-letters", "list"]) == 0
    listed = capsys.readouterr().out
    assert str(poison.id) in listed and "RuntimeError" in listed and "1 dead letter(s)" in listed

    probe.failing.clear()  # the bug is fixed; now replay
    assert await asyncio.to_thread(polku, ["dead-letters", "replay", "--all"]) == 0
    await eventually(lambda: processed_ids_are(runtime.engine, {str(healthy.id), str(poison.id)}),
                     what="the replayed message processed")
    assert await dead_letters.list_all(js, "POLKU_DEADLETTER") == []


async def processed_ids_are(engine, expected: set[str]) -> bool:
    ids = await processed_ids(engine)
    return sorted(ids) == sorted(expected)


async def test_an_undecodable_message_is_dead_lettered_at_once(start_service, nc):
    runtime = await start_probe(start_service, Probe())
    js = nc.jetstream()
    await js.publish("polku.events.kemi.intake.ClientEnrolled", b'{"not": "an envelope"}', stream="POLKU",
                     headers={"Nats-Msg-Id": "garbage-1", "ce-type": "ClientEnrolled"})

    async def dead_lettered() -> bool:
        return len(await dead_letters.list_all(js, "POLKU_DEADLETTER")) == 1

    await eventually(dead_lettered, what="the undecodable message dead-lettered")
    [letter] = await dead_letters.list_all(js, "POLKU_DEADLETTER")
    assert letter.deliveries == 1 and letter.error.startswith("ValidationError")
    assert await processed_ids(runtime.engine) == []
