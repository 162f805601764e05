"""A dead letter replayed and failing again keeps the event's own id, however often it is replayed."""
from services.platform import dead_letters
from tests.integration.probe import Probe, client_of, create_probe_table, enrolled_envelope, publish
from tests.support import eventually


async def test_a_replayed_dead_letter_keeps_its_event_id(start_service, nc):
    probe = Probe()
    runtime = await start_service(probe.definition(), max_deliver=1)
    await create_probe_table(runtime.engine)
    js = nc.jetstream()
    poison = enrolled_envelope()
    probe.failing.add(client_of(poison))
    await publish(js, poison)
    for replays in range(3):
        await eventually(lambda: _letters(js, 1), what=f"dead-lettered after {replays} replays")
        [letter] = await dead_letters.list_all(js, "POLKU_DEADLETTER")
        assert letter.event_id == str(poison.id), f"after {replays} replays: {letter.event_id}"
        await dead_letters.replay(js, "POLKU", "POLKU_DEADLETTER", letter)
    await eventually(lambda: _letters(js, 1), what="dead-lettered again")
    [letter] = await dead_letters.list_all(js, "POLKU_DEADLETTER")
    assert letter.event_id == str(poison.id)


async def _letters(js, count: int) -> bool:
    return len(await dead_letters.list_all(js, "POLKU_DEADLETTER")) == count
