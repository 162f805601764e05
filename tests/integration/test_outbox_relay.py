"""The outbox relay against a real nats-server: order, Nats-Msg-Id, resume, and a crash before marking."""
import pytest
from opentelemetry import trace

from contracts.envelope import ALL_EVENTS
from services.platform.relay import OutboxRelay
from services.platform.stream_reader import read_batches
from tests.integration.histories import append_clients, count_rows, outbox, stored_event_ids
from tests.integration.probe import CrashBeforeMarking
from tests.support import BOTH_DATABASES

pytestmark = BOTH_DATABASES


async def stream_messages(nc) -> list:
    return [msg async for batch in read_batches(nc, "POLKU", ALL_EVENTS, 100) for msg in batch]


async def test_relay_publishes_in_log_order_with_the_event_id_as_message_id(engine_factory, nc):
    engine = await engine_factory()
    await append_clients(engine, 4)
    relay = OutboxRelay(engine, nc.jetstream(), "POLKU", batch_size=5)

    while await relay.publish_pending():
        pass

    messages = await stream_messages(nc)
    assert [msg.headers["Nats-Msg-Id"] for msg in messages] == await stored_event_ids(engine)
    assert [msg.headers["ce-type"] for msg in messages[:3]] == ["ClientReferred", "EligibilityAssessed",
                                                                "ClientEnrolled"]
    assert messages[0].subject == "polku.events.kemi.intake.ClientReferred"
    assert await count_rows(engine, outbox) == 0


async def test_a_restarted_relay_resumes_where_the_last_one_stopped(engine_factory, nc):
    engine = await engine_factory()
    await append_clients(engine, 5)
    first = OutboxRelay(engine, nc.jetstream(), "POLKU", batch_size=4)
    assert await first.publish_pending() == 4  # then it stops

    second = OutboxRelay(engine, nc.jetstream(), "POLKU", batch_size=100)
    assert await second.publish_pending() == 11

    ids = [msg.headers["Nats-Msg-Id"] for msg in await stream_messages(nc)]
    assert ids == await stored_event_ids(engine), "every event once, in order"


async def test_relay_killed_between_publish_and_mark_publishes_again_and_the_stream_drops_the_copies(
        engine_factory, nc):
    engine = await engine_factory()
    await append_clients(engine, 3)
    with pytest.raises(ConnectionError):
        await CrashBeforeMarking(engine, nc.jetstream(), "POLKU").publish_pending()
    assert await count_rows(engine, outbox) == 9, "nothing was marked sent"

    assert await OutboxRelay(engine, nc.jetstream(), "POLKU").publish_pending() == 9
    ids = [msg.headers["Nats-Msg-Id"] for msg in await stream_messages(nc)]
    assert ids == await stored_event_ids(engine), "the duplicate window dropped the second copies"
    assert await count_rows(engine, outbox) == 0


async def test_a_batch_larger_than_spans_up_to_is_one_span_and_each_message_carries_its_events_trace(
        engine_factory, nc, span_exporter):
    engine = await engine_factory()
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("the request that wrote them") as request:
        await append_clients(engine, 4)  # 12 events
    span_exporter.clear()

    assert await OutboxRelay(engine, nc.jetstream(), "POLKU", spans_up_to=5).publish_pending() == 12

    published = [span for span in span_exporter.get_finished_spans() if span.name.startswith("publish POLKU")]
    assert [(span.name, span.attributes["messaging.batch.message_count"]) for span in published] == [
        ("publish POLKU batch", 12)]
    request_trace = format(request.get_span_context().trace_id, "032x")
    assert {msg.headers["traceparent"].split("-")[1] for msg in await stream_messages(nc)} == {request_trace}


async def test_a_batch_up_to_spans_up_to_has_a_publish_span_a_row(engine_factory, nc, span_exporter):
    engine = await engine_factory()
    await append_clients(engine, 2)  # 6 events
    span_exporter.clear()

    assert await OutboxRelay(engine, nc.jetstream(), "POLKU", spans_up_to=6).publish_pending() == 6

    published = [span for span in span_exporter.get_finished_spans() if span.name.startswith("publish POLKU")]
    assert [span.name for span in published] == ["publish POLKU"] * 6
    parents = {tuple(msg.headers["traceparent"].split("-")[1:3]) for msg in await stream_messages(nc)}
    assert parents == {(f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}") for span in published}
