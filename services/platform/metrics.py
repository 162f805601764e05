"""Metrics through the OpenTelemetry API: read by Prometheus at each service's /metrics, and exported
over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.

Names follow the OpenTelemetry semantic conventions where one exists (http.server.*, recorded by
the aiohttp instrumentation; messaging.*); the rest are polku.*. Their Prometheus names (units and
`_total` appended, dots to underscores) are what deploy/grafana/polku-dashboard.json queries.

Counters and histograms are recorded where things happen (consumer, relay). The gauges read the
database and the bus, which takes I/O: each runtime's `ServiceGauges` refreshes them before a
scrape (and every export interval when OTLP is on), and the observable gauges report what it last read.
"""
import asyncio
import logging
import os
import time
import weakref
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from aiohttp import web
from nats.aio.msg import Msg
from opentelemetry import metrics
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from sqlalchemy import func, select

from services.platform.pull import times_delivered
from services.platform.tables import events, outbox

log = logging.getLogger(__name__)
meter = metrics.get_meter("polku")
EXPORT_INTERVAL_S = 15.0

consumed = meter.create_counter(
    "messaging.client.consumed.messages", unit="{message}", description="events a consumer has handled")
process_duration = meter.create_histogram(
    "messaging.process.duration", unit="s", description="time a consumer took to apply a batch of events")
redeliveries = meter.create_counter(
    "polku.consumer.redeliveries", unit="{message}", description="events delivered again after a failure or timeout")
dead_letters = meter.create_counter(
    "polku.consumer.dead_letters", unit="{message}", description="events a consumer gave up on (dead-lettered)")
parked = meter.create_counter(
    "polku.consumer.parked", unit="{message}", description="events that waited in a consumer's database for a prerequisite")
publish_duration = meter.create_histogram(
    "messaging.client.operation.duration", unit="s",
    description="the relay's publish of a batch of outbox rows until JetStream acknowledged it")
published = meter.create_counter(
    "messaging.client.sent.messages", unit="{message}", description="outbox rows the relay published and JetStream acknowledged")


def setup_metrics(service: str) -> None:
    """Install the process's meter provider once: Prometheus always, OTLP when its endpoint is set."""
    if isinstance(metrics.get_meter_provider(), MeterProvider):
        return  # a process that hosts several services (a test) keeps the first provider
    from opentelemetry.exporter.prometheus import PrometheusMetricReader

    readers = [PrometheusMetricReader()]
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter(),
                                                     export_interval_millis=EXPORT_INTERVAL_S * 1000))
    metrics.set_meter_provider(MeterProvider(
        resource=Resource.create({"service.name": f"polku-{service}"}), metric_readers=readers))


def consumer_attributes(consumer: str) -> dict[str, str]:
    return {"messaging.system": "nats", "messaging.consumer.group.name": consumer}


def batch_processed(consumer: str, msgs: Sequence[Msg], started: float) -> None:
    """After a consumer's batch: how many, how long, and how many came again."""
    attributes = consumer_attributes(consumer)
    consumed.add(len(msgs), attributes)
    process_duration.record(time.perf_counter() - started, attributes)
    again = sum(1 for msg in msgs if times_delivered(msg) > 1)
    if again:
        redeliveries.add(again, attributes)


def dead_lettered(consumer: str) -> None:
    dead_letters.add(1, consumer_attributes(consumer))


def parked_event(consumer: str) -> None:
    parked.add(1, consumer_attributes(consumer))


def relay_published(service: str, stream: str, rows: int, started: float) -> None:
    attributes = {"messaging.system": "nats", "messaging.operation.name": "publish",
                  "messaging.destination.name": stream, "polku.service": service}
    publish_duration.record(time.perf_counter() - started, attributes)
    published.add(rows, attributes)


class ServiceGauges:
    """What one service's gauges last read: its outbox, its relay's lease, its consumer on the stream."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.values: dict[str, tuple[float, dict[str, str]]] = {}
        _GAUGED.add(self)
        if runtime.consumer:  # counters start at 0, so that the first event is an increase (rate() sees it)
            for counter in (consumed, redeliveries, dead_letters, parked):
                counter.add(0, consumer_attributes(runtime.consumer.name))

    async def refresh(self) -> None:
        runtime, service = self.runtime, self.runtime.settings.service
        own = {"polku.service": service}
        values: dict[str, tuple[float, dict[str, str]]] = {}
        with suppress_instrumentation():  # a scrape is no part of any trace
            backlog, oldest = await outbox_backlog(runtime.engine)
        values["polku.outbox.backlog"] = (backlog, own)
        values["polku.outbox.oldest_age"] = (oldest, own)
        relay = runtime.relay
        values["polku.relay.active"] = (1.0 if relay and relay.active else 0.0, own)
        js = runtime.jetstream()
        if runtime.consumer and js is not None:
            try:
                info = await asyncio.wait_for(js.consumer_info(runtime.settings.stream, runtime.consumer.name), 2)
                stream = await asyncio.wait_for(js.stream_info(runtime.settings.stream), 2)
            except Exception:
                log.warning("consumer metrics not read", exc_info=True)
            else:
                attributes = consumer_attributes(runtime.consumer.name)
                values["polku.consumer.lag"] = ((info.num_pending or 0) + (info.num_ack_pending or 0), attributes)
                values["polku.consumer.ack_pending"] = (info.num_ack_pending or 0, attributes)
                values["polku.consumer.stream_lag"] = (events_behind_stream(info, stream.state.last_seq), attributes)
        self.values = values

    def close(self) -> None:
        """A stopped runtime's last readings are no longer reported."""
        _GAUGED.discard(self)

    async def refresh_every(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.refresh()
            except Exception:
                log.warning("gauges not refreshed", exc_info=True)


_GAUGED: "weakref.WeakSet[ServiceGauges]" = weakref.WeakSet()


def events_behind_stream(info, last_seq: int) -> int:
    """Events between the consumer's acknowledged floor and the stream's last sequence; 0 when it has
    taken everything its filter matches (a filtered consumer's floor stays at its last own event)."""
    if not (info.num_pending or info.num_ack_pending):
        return 0
    return max(0, (last_seq or 0) - (info.ack_floor.stream_seq or 0))


async def outbox_backlog(engine) -> tuple[int, float]:
    """Rows waiting in the outbox, and the age in seconds of the oldest (0 when empty)."""
    async with engine.connect() as connection:
        row = (await connection.execute(
            select(func.count(), func.min(events.c.occurred_at))
            .select_from(outbox.join(events, outbox.c.position == events.c.position)))).one()
    count, oldest = row
    if not count or oldest is None:
        return 0, 0.0
    if isinstance(oldest, str):  # SQLite hands back what it stored
        oldest = datetime.fromisoformat(oldest)
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return count, max(0.0, (datetime.now(UTC) - oldest).total_seconds())


def _observe(name: str):
    def callback(_options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(value, attributes) for gauges in list(_GAUGED)
                if (found := gauges.values.get(name)) for value, attributes in [found]]

    return callback


for _name, _unit, _description in (
    ("polku.outbox.backlog", "{row}", "outbox rows not yet published"),
    ("polku.outbox.oldest_age", "s", "age of the oldest outbox row not yet published"),
    ("polku.relay.active", "", "1 where this instance holds the outbox relay's lease"),
    ("polku.consumer.lag", "{message}",
     "messages of the durable consumer not yet done: not yet delivered, or delivered and not yet acknowledged"),
    ("polku.consumer.ack_pending", "{message}", "messages delivered and not yet acknowledged"),
    ("polku.consumer.stream_lag", "{message}",
     "events behind the stream's last sequence (a projection's lag, for reporting)"),
):
    meter.create_observable_gauge(_name, [_observe(_name)], unit=_unit, description=_description)


def metrics_endpoint(gauges: ServiceGauges):
    """GET /metrics in the Prometheus text format, the gauges read just before."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

    async def serve_metrics(_request: web.Request) -> web.Response:
        try:
            await gauges.refresh()
        except Exception:
            log.warning("gauges not refreshed", exc_info=True)
        body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return serve_metrics

