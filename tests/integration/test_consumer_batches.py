"""A consumer with a backlog applies it in batches, one transaction each, against a real nats-server."""
from services.platform import dead_letters
from tests.integration.probe import Probe, client_of, enrolled_envelope, processed_ids, publish
from tests.integration.test_consumer_delivery import consumer_idle, start_probe
from tests.support import BOTH_DATABASES, eventually


def batch_sizes(span_exporter) -> list[int]:
    return [span.attributes["messaging.batch.message_count"] for span in span_exporter.get_finished_spans()
            if span.name == "probe process batch"]


@BOTH_DATABASES
async def test_a_backlog_is_applied_in_batches_and_each_event_once(start_service, nc, span_exporter):
    envelopes = [enrolled_envelope() for _ in range(60)]
    for envelope in envelopes:
        await publish(nc.jetstream(), envelope)
    span_exporter.clear()
    runtime = await start_probe(start_service, Probe(), consumer_batch_size=25)

    await eventually(lambda: consumer_idle(nc.jetstream(), deliveries=60), what="the backlog processed")
    assert sorted(await processed_ids(runtime.engine)) == sorted(str(envelope.id) for envelope in envelopes)
    sizes = batch_sizes(span_exporter)
    assert sizes and max(sizes) == 25, f"a backlog is taken in full batches, not one by one: {sizes}"
    traced = {span.attributes["messaging.message.id"] for span in span_exporter.get_finished_spans()
              if span.name == "probe process ClientEnrolled"}
    assert traced == {str(envelope.id) for envelope in envelopes}, "every event has its own span in its trace"


@BOTH_DATABASES
async def test_a_failing_event_is_taken_out_of_its_batch_and_the_others_are_applied_once(start_service, nc,
                                                                                       span_exporter):
    probe = Probe()
    envelopes = [enrolled_envelope() for _ in range(10)]
    poison = envelopes[4]
    probe.failing.add(client_of(poison))
    for envelope in envelopes:
        await publish(nc.jetstream(), envelope)
    span_exporter.clear()
    runtime = await start_probe(start_service, probe, max_deliver=2)
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
    assert batch_sizes(span_exporter)[0] == 10, "the ten were pulled as one batch"
