"""Reporting applies each aggregate's events in version order, whatever order they arrive in: an early
event waits in reporting's own database, live and in rebuild, and only one that can never apply is
dead-lettered."""
import asyncio
from uuid import uuid4

from sqlalchemy import select

from contracts.registry import EVENT_TYPES
from services.platform import dead_letters
from services.platform.tables import parked_events
from services.reporting import waiting as waiting_room
from services.reporting.projections import PROJECTORS
from services.reporting.rebuild import rebuild
from services.reporting.service import SERVICE as REPORTING
from services.reporting.tables import clients
from tests.integration.histories import client_history, envelope_of, projections_of
from tests.integration.probe import publish
from tests.support import BOTH_DATABASES, eventually


async def client_row(engine, client_id) -> dict | None:
    async with engine.connect() as connection:
        row = (await connection.execute(select(clients).where(clients.c.client_id == str(client_id)))).mappings()
        return next(iter(row), None)


async def row_at_version(engine, client_id, version: int) -> bool:
    row = await client_row(engine, client_id)
    return row is not None and row["version"] == version


def test_reporting_takes_every_event_of_the_aggregates_whose_rows_follow_them():
    followed = {projector.table.name: cls.aggregate_type for cls, (projector, _) in PROJECTORS.items()
                if projector.follows_aggregate}
    assert followed, "some projection rows follow their aggregate's versions"
    for cls in EVENT_TYPES.values():
        if cls.aggregate_type in followed.values():
            assert cls in PROJECTORS, f"{cls.__name__} would leave a gap in the versions reporting follows"


@BOTH_DATABASES
async def test_an_event_that_overtook_an_earlier_one_waits_in_reportings_database_live_and_in_rebuild(
        start_service, nc):
    # Two tries: before, the early event was nak'd and dead-lettered within a second.
    reporting = await start_service(REPORTING, max_deliver=2)
    js = nc.jetstream()
    client_id = uuid4()
    referred, assessed, enrolled = (envelope_of(event, version) for version, event in
                                    enumerate(client_history(client_id), start=1))
    for envelope in (referred, enrolled):  # version 3 before version 2
        await publish(js, envelope)
    await eventually(lambda: waiting_ids(reporting.engine, [str(enrolled.id)]), what="version 3 waiting")
    await asyncio.sleep(1)  # far longer than the two tries' back-off
    assert await dead_letters.list_all(js, "POLKU_DEADLETTER") == []
    assert (await client_row(reporting.engine, client_id))["version"] == 1
    live = await projections_of(reporting.engine)

    # A rebuild while version 3 waits, reporting running: the same row, the same event waiting.
    assert await rebuild(reporting.engine, nc, "POLKU", batch_size=1, show_progress=False) == 2
    assert await projections_of(reporting.engine) == live

    await publish(js, assessed)
    await eventually(lambda: row_at_version(reporting.engine, client_id, 3), what="the client row at version 3")
    assert await waiting_ids(reporting.engine, [])
    live = await projections_of(reporting.engine)
    assert (live["report_clients"][0][5], live["report_clients"][0][6]) == ("enrolled", "long_term_unemployed")
    assert await dead_letters.list_all(js, "POLKU_DEADLETTER") == []

    for batch_size in (1, 2, 3):  # the early event waits within a batch, or across batches
        await rebuild(reporting.engine, nc, "POLKU", batch_size=batch_size, show_progress=False)
        assert await projections_of(reporting.engine) == live, f"rebuilt in batches of {batch_size}"


@BOTH_DATABASES
async def test_an_event_that_can_never_apply_is_dead_lettered_at_once_with_the_reason(start_service, nc):
    """An event of another area than its row's: no later event can make it apply. The events after it
    wait for it, live and in rebuild alike; replayed, it is refused again."""
    reporting = await start_service(REPORTING)
    js = nc.jetstream()
    client_id = uuid4()
    history = client_history(client_id)
    referred, assessed, enrolled = (envelope_of(history[0], 1), envelope_of(history[1], 2, area="tornio"),
                                    envelope_of(history[2], 3))
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    await publish(js, referred)
    await js.publish(assessed.nats_subject, assessed.model_dump_json().encode(), stream="POLKU", headers={
        "Nats-Msg-Id": str(assessed.id), "ce-type": assessed.type, "traceparent": traceparent})
    await publish(js, enrolled)

    await eventually(lambda: dead_lettered(js, 1), what="the other area's event dead-lettered")
    [letter] = await dead_letters.list_all(js, "POLKU_DEADLETTER")
    assert letter.deliveries == 1, "it can never apply: no retries"
    assert letter.error.startswith("NeverApplies: ValueError: an event of area tornio touches report_clients row")
    await eventually(lambda: waiting_ids(reporting.engine, [str(enrolled.id)]), what="version 3 waiting for 2")
    live = await projections_of(reporting.engine)
    assert live["report_clients"][0][-1] == 1

    await rebuild(reporting.engine, nc, "POLKU", batch_size=2, show_progress=False)
    assert await projections_of(reporting.engine) == live

    await dead_letters.replay(js, "POLKU", "POLKU_DEADLETTER", letter)
    await eventually(lambda: dead_lettered(js, 1, replayed=True), what="the replayed event refused again")
    replayed = await js.get_msg("POLKU", (await js.stream_info("POLKU")).state.last_seq)
    assert replayed.headers["traceparent"] == traceparent, "the replay continues the original trace"
    assert await projections_of(reporting.engine) == live


async def dead_lettered(js, count: int, replayed: bool = False) -> bool:
    letters = await dead_letters.list_all(js, "POLKU_DEADLETTER")
    return len(letters) == count and (not replayed or letters[0].sequence > 1)


async def waiting_ids(engine, event_ids: list[str]) -> bool:
    """The events waiting in reporting's database are exactly these."""
    async with engine.connect() as connection:
        waiting = await connection.execute(select(parked_events.c.event_id).where(
            parked_events.c.consumer == waiting_room.LIVE))
        return sorted(event_id for (event_id,) in waiting) == sorted(event_ids)
