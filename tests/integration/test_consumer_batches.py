"""A consumer with a backlog applies it in batches, one transaction each, against a real nats-server."""
import logging
import secrets

from services.platform import dead_letters
from services.platform.database import create_engine
from tests.integration.probe import Probe, client_of, create_probe_table, enrolled_envelope, processed_ids, publish
from tests.integration.test_consumer_delivery import consumer_idle
from tests.support import BOTH_DATABASES, eventually


async def start_probe(start_service, database_url_factory, probe: Probe, **settings):
    """The probe with its table made first: its consumer starts on a backlog at once."""
    url = await database_url_factory("probe")
    engine = create_engine(url)
    try:
        await create_probe_table(engine)
    finally:
        await engine.dispose()
    return await start_service(probe.definition(), database_url=url, **settings)


def batch_sizes(span_exporter) -> list[int]:
    return [span.attributes["messaging.batch.message_count"] for span in span_exporter.get_finished_spans()
            if span.name == "probe process batch"]


@BOTH_DATABASES
async def test_a_backlog_is_applied_in_batches_and_each_event_once(start_service, database_url_factory, nc,
                                                                   span_exporter):
    envelopes = [enrolled_envelope() for _ in range(60)]
    for envelope in envelopes:
        await publish(nc.jetstream(), envelope)
    span_exporter.clear()
    runtime = await start_probe(start_service, database_url_factory, Probe(), consumer_batch_size=25)

    await eventually(lambda: consumer_idle(nc.jetstream(), deliveries=60), what="the backlog processed")
    assert sorted(await processed_ids(runtime.engine)) == sorted(str(envelope.id) for envelope in envelopes)
    sizes = batch_sizes(span_exporter)
    assert sizes and 1 < max(sizes) <= 25, f"a backlog is taken in batches of at most 25, not one by one: {sizes}"
    traced = {span.attributes["messaging.message.id"] for span in span_exporter.get_finished_spans()
              if span.name == "probe process ClientEnrolled"}
    assert traced == {str(envelope.id) for envelope in envelopes}, "every event has its own span in its trace"


async def test_a_batch_larger_than_event_spans_up_to_has_one_span_linked_to_every_events_trace(
        start_service, database_url_factory, nc, span_exporter):
    traces = {}  # each event published from a trace of its own, as the relay does
    for _ in range(60):
        envelope = enrolled_envelope()
        traces[str(envelope.id)] = secrets.token_hex(16)
        await nc.jetstream().publish(envelope.nats_subject, envelope.model_dump_json().encode(), stream="POLKU", headers={
            "Nats-Msg-Id": str(envelope.id), "ce-type": envelope.type,
            "traceparent": f"00-{traces[str(envelope.id)]}-{secrets.token_hex(8)}-01"})
    span_exporter.clear()
    await start_probe(start_service, database_url_factory, Probe(), consumer_batch_size=30, event_spans_up_to=10)

    await eventually(lambda: consumer_idle(nc.jetstream(), deliveries=60), what="the backlog processed")
    spans = span_exporter.get_finished_spans()
    batches = [span for span in spans if span.name == "probe process batch"]
    large = [span for span in batches if span.attributes["messaging.batch.message_count"] > 10]
    assert large, f"the backlog came in batches larger than 10: {[len(b.links) for b in batches]}"
    for batch in large:
        assert len(batch.links) == batch.attributes["messaging.batch.message_count"]
    per_event = {span.attributes["messaging.message.id"] for span in spans if span.name == "probe process ClientEnrolled"}
    in_large = sum(span.attributes["messaging.batch.message_count"] for span in large)
    assert len(per_event) == 60 - in_large, "only events of small batches have a span of their own"
    linked_traces = {format(link.context.trace_id, "032x") for batch in large for link in batch.links}
    own_traces = {format(span.context.trace_id, "032x") for span in spans if span.name == "probe process ClientEnrolled"}
    assert set(traces.values()) == linked_traces | own_traces, "every event's trace has its span or a batch's link"
    assert not linked_traces & own_traces


@BOTH_DATABASES
async def test_a_failing_event_is_taken_out_of_its_batch_and_the_others_are_applied_once(
        start_service, database_url_factory, nc, caplog):
    caplog.set_level(logging.INFO, logger="services.platform.consumer")
    probe = Probe()
    envelopes = [enrolled_envelope() for _ in range(10)]
    poison = envelopes[4]
    probe.failing.add(client_of(poison))
    for envelope in envelopes:
        await publish(nc.jetstream(), envelope)
    runtime = await start_probe(start_service, database_url_factory, probe, max_deliver=2)
    js = nc.jetstream()

    async def dead_lettered() -> bool:
        return len(await dead_letters.list_all(js, "POLKU_DEADLETTER")) == 1

    await eventually(dead_lettered, what="the failing event dead-lettered")
    await eventually(lambda: consumer_idle(js, deliveries=11), what="every other event processed")
    # The probe writes a row each time it handles an event, also when it then fails: a row of the
    # failed event, or a second row of another, would be a rolled-back batch that left something.
    assert sorted(await processed_ids(runtime.engine)) == sorted(
        str(envelope.id) for envelope in envelopes if envelope is not poison)
    [letter] = await dead_letters.list_all(js, "POLKU_DEADLETTER")
    assert (letter.event_id, letter.deliveries) == (str(poison.id), 2)
    assert letter.error.startswith("RuntimeError: probe refuses client")
    taken_out = [record for record in caplog.records if record.getMessage().startswith("an event failed in a batch")]
    assert [record.event_id for record in taken_out] == [str(poison.id)], "it failed within a batch, and it alone"
