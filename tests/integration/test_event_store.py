"""Optimistic concurrency on a real database: two writers of one aggregate, one wins."""
from uuid import uuid4

import pytest
from sqlalchemy import select

from contracts.envelope import EventEnvelope
from services.intake.domain.client import CLIENT
from services.platform.errors import ConcurrencyConflict
from services.platform.event_store import Cause, EventStore
from tests.support import BOTH_DATABASES
from tests.integration.histories import client_history, count_rows, events, outbox

pytestmark = BOTH_DATABASES


async def test_second_of_two_concurrent_writers_gets_the_conflict_and_nothing_is_lost(engine_factory):
    engine = await engine_factory()
    client_id = uuid4()
    first_writer, second_writer = await engine.connect(), await engine.connect()
    try:
        await first_writer.begin()
        await second_writer.begin()
        first, second = EventStore(first_writer, "intake"), EventStore(second_writer, "intake")
        # Both read the aggregate at the same version before either writes.
        assert await first.load(str(client_id)) == [] and await second.load(str(client_id)) == []
        referred, assessed, _ = client_history(client_id)
        await first.write(first.envelopes(CLIENT, str(client_id), 0, [referred], "kemi", Cause.new()))
        await first_writer.commit()

        with pytest.raises(ConcurrencyConflict) as conflict:
            await second.write(second.envelopes(CLIENT, str(client_id), 0, [assessed], "kemi", Cause.new()))
        await second_writer.rollback()
    finally:
        await first_writer.close()
        await second_writer.close()

    assert f"Client {client_id}" in str(conflict.value) and "expected version 0" in str(conflict.value)
    assert await count_rows(engine, events) == 1
    assert await count_rows(engine, outbox) == 1, "the winner's event waits in the outbox"


async def test_append_writes_events_and_outbox_in_one_transaction(engine_factory):
    engine = await engine_factory()
    client_id = uuid4()
    with pytest.raises(RuntimeError):
        async with engine.begin() as connection:
            store = EventStore(connection, "intake")
            await store.write(store.envelopes(CLIENT, str(client_id), 0, client_history(client_id), "kemi", Cause.new()))
            raise RuntimeError("the command failed after appending")
    assert await count_rows(engine, events) == 0
    assert await count_rows(engine, outbox) == 0


async def test_an_appended_row_holds_what_its_envelope_says_as_sqlalchemy_would_write_it(engine_factory):
    """The append's statements go to the driver as they are (event_store.py): each column still holds
    what SQLAlchemy's own insert wrote, so that a query bound by SQLAlchemy, by time too, finds the row."""
    engine = await engine_factory()
    client_id = uuid4()
    async with engine.begin() as connection:
        store = EventStore(connection, "intake")
        written = store.envelopes(CLIENT, str(client_id), 0, client_history(client_id), "kemi", Cause.new())
        await store.write(written)
    async with engine.connect() as connection:
        rows = (await connection.execute(select(events).order_by(events.c.position))).all()
        queued = (await connection.execute(select(outbox.c.position).order_by(outbox.c.position))).scalars().all()
        at_its_time = set((await connection.execute(select(events.c.event_id).where(  # (one time for all of them)
            events.c.occurred_at == written[0].time))).scalars())
    assert [(row.event_id, row.aggregate_type, row.aggregate_id, row.aggregate_version, row.event_type, row.subject)
            for row in rows] == [(str(envelope.id), envelope.aggregatetype, envelope.aggregateid,
                                  envelope.aggregateversion, envelope.type, envelope.nats_subject)
                                 for envelope in written]
    assert [EventEnvelope.model_validate_json(row.envelope) for row in rows] == written
    assert at_its_time == {str(envelope.id) for envelope in written}
    assert queued == [row.position for row in rows], "every appended event waits in the outbox"


async def test_no_insert_into_the_event_log_leaves_an_event_out_of_the_outbox(engine_factory):
    """The outbox row is the database's (migration platform_0008), whoever writes the event."""
    engine = await engine_factory()
    client_id = uuid4()
    async with engine.begin() as connection:
        envelope = EventStore(connection, "intake").envelopes(CLIENT, str(client_id), 0, client_history(client_id)[:1],
                                                              "kemi", Cause.new())[0]
        await connection.execute(events.insert().values(
            event_id=str(envelope.id), aggregate_type="Client", aggregate_id=str(client_id), aggregate_version=1,
            event_type=envelope.type, subject=envelope.nats_subject, occurred_at=envelope.time,
            envelope=envelope.model_dump_json()))
    async with engine.connect() as connection:
        positions = (await connection.execute(select(events.c.position))).scalars().all()
        queued = (await connection.execute(select(outbox.c.position))).scalars().all()
    assert len(positions) == 1 and queued == positions
