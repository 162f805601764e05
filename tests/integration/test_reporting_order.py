"""Reporting applies each aggregate's events in version order, whatever order they arrive in."""
from uuid import uuid4

from sqlalchemy import select

from contracts.registry import EVENT_TYPES
from services.platform import dead_letters
from services.reporting.projections import PROJECTORS
from services.reporting.rebuild import rebuild
from services.reporting.service import SERVICE as REPORTING
from services.reporting.tables import clients
from tests.integration.histories import client_history, envelope_of
from tests.integration.probe import publish
from tests.support import eventually


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


async def test_an_event_that_overtook_an_earlier_one_waits_for_it_live_and_in_rebuild(start_service, nc):
    reporting = await start_service(REPORTING)
    client_id = uuid4()
    referred, assessed, enrolled = (envelope_of(event, version) for version, event in
                                    enumerate(client_history(client_id), start=1))
    for envelope in (referred, enrolled, assessed):  # version 3 before version 2
        await publish(nc.jetstream(), envelope)

    await eventually(lambda: row_at_version(reporting.engine, client_id, 3), what="the client row at version 3")
    live = await client_row(reporting.engine, client_id)
    assert (live["status"], live["eligibility_criterion"]) == ("enrolled", "long_term_unemployed")

    await reporting.stop()
    assert await rebuild(reporting.engine, nc, "POLKU", batch_size=2, show_progress=False) == 3
    assert await client_row(reporting.engine, client_id) == live


async def test_a_replayed_dead_letter_fills_its_gap(start_service, nc):
    reporting = await start_service(REPORTING, max_deliver=2)
    client_id = uuid4()
    referred, assessed, _ = (envelope_of(event, version) for version, event in
                             enumerate(client_history(client_id), start=1))
    js = nc.jetstream()
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    await js.publish(assessed.nats_subject, assessed.model_dump_json().encode(), stream="POLKU", headers={
        "Nats-Msg-Id": str(assessed.id), "ce-type": assessed.type, "traceparent": traceparent})
    # Its ClientReferred comes late, after every retry.

    async def dead_lettered() -> bool:
        return len(await dead_letters.list_all(js, "POLKU_DEADLETTER")) == 1

    await eventually(dead_lettered, what="the early event dead-lettered")
    [letter] = await dead_letters.list_all(js, "POLKU_DEADLETTER")
    assert "EarlierVersionMissing" in letter.error and "version 2" in letter.error
    await publish(js, referred)
    await eventually(lambda: row_at_version(reporting.engine, client_id, 1), what="the late first event")

    assert letter.traceparent == traceparent
    await dead_letters.replay(js, "POLKU", "POLKU_DEADLETTER", letter)
    await eventually(lambda: row_at_version(reporting.engine, client_id, 2), what="the replayed event projected")
    assert (await client_row(reporting.engine, client_id))["eligibility_criterion"] == "long_term_unemployed"
    replayed = await js.get_msg("POLKU", (await js.stream_info("POLKU")).state.last_seq)
    assert replayed.headers["traceparent"] == traceparent, "the replay continues the original trace"
