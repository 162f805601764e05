"""Idempotent event consumers: inbox rows and state change in one transaction, ack after commit.

A consumer takes what has arrived, up to a batch, and applies it in one transaction: one commit
(and one fsync) for the batch instead of one per event. When nothing waits, a batch is the one
event that arrived, so an idle consumer adds no latency. An event whose handler fails is taken
out of its batch and retried or dead-lettered alone while the others go on; any other failure
applies the batch's events one at a time.

An outage of the database or the bus (services/platform/outages.py) is no fault of the events: the
consumer keeps the batch, tells the server it is still working on it (so nothing is redelivered and
no delivery is counted), waits until the database answers again and applies the same batch.
"""
import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from faststream.nats import ConsumerConfig
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from opentelemetry import trace
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.envelope import EventEnvelope, event_subject
from contracts.events.base import Event
from contracts.registry import decode, decode_json
from services.platform import dead_letters, metrics, parking
from services.platform.commit_groups import transaction
from services.platform.errors import REFUSALS, NeverApplies
from services.platform.config import Settings
from services.platform.event_store import Cause
from services.platform.outages import is_outage
from services.platform.pull import Pull
from services.platform.tracing import MAX_LINKS, remote_parent, span_context_of
from services.platform.unit_of_work import UnitOfWork

Handler = Callable[[UnitOfWork, Any, EventEnvelope], Awaitable[None]]
Item = tuple[EventEnvelope, Event]
# Reads, in a statement or two, what a batch's handlers will look up one event at a time (into uow.lookups).
Prefetch = Callable[[UnitOfWork, Sequence[Item]], Awaitable[None]]
# Applies a whole batch in one call; returns the items to offer again later, each with the reason.
BatchHandler = Callable[[UnitOfWork, Sequence[Item]], Awaitable[list[tuple[Item, Exception]]]]
log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

# A message that cannot be decoded will not decode on the next try either: pydantic's
# ValidationError, UnknownEventType and UnsupportedSchemaVersion are all ValueErrors.
UNDECODABLE = (ValueError,)
PARKED_PER_PASS = 200  # parked events are few; a flood of them is tried a slice at a time


@dataclass(frozen=True)
class Subscription:
    """What one service consumes: a durable consumer name and a handler per event type.

    `batch_handler`, where given, takes a whole batch in one call instead of the handlers one by one
    (reporting folds a batch as its rebuild does); the handlers still take events one at a time
    after a batch failed, and must come to the same result. `prefetch`, where given, runs before a
    batch's handlers: a lookup each event would make is then made once for the batch.
    """

    consumer: str
    handlers: Mapping[type[Event], Handler]
    batch_handler: BatchHandler | None = None
    prefetch: Prefetch | None = None

    @property
    def filter_subjects(self) -> list[str]:
        return [event_subject("*", cls.service, cls.__name__) for cls in self.handlers]


def _comparable(value: Any) -> Any:
    """ack_wait goes to the server in whole nanoseconds, so what comes back may differ in the last digits."""
    return round(value, 3) if isinstance(value, float) else value


def durable_consumer_config(subscription: Subscription, settings: Settings) -> ConsumerConfig:
    """The service's durable pull consumer on the events stream, as `polku bootstrap` creates it."""
    return ConsumerConfig(
        name=subscription.consumer,
        durable_name=subscription.consumer,
        filter_subjects=subscription.filter_subjects,
        # One more than ours: we dead-letter on the last try; the server's limit is a backstop.
        max_deliver=settings.max_deliver + 1,
        ack_wait=settings.ack_wait_s,
        # Room for messages waiting for a retry, so one failing message does not stop the rest.
        max_ack_pending=settings.max_ack_pending,
    )


async def create_durable_consumers(js: JetStreamContext, subscriptions: list[Subscription], settings: Settings,
                                   update_existing: bool = True) -> list[str]:
    """Create (or bring up to date) the services' durable consumers; run by bootstrap with the ops user.

    A service may only look up and pull from its consumer, not create it (NATS permissions,
    services/platform/nats_permissions.py): a consumer with several filter subjects is created
    with the filters only in the request body, where no permission can check them. A service
    that finds its consumer uses it as it is, so bootstrap also applies changed filters.
    """
    for subscription in subscriptions:
        if update_existing or not await _consumer_exists(js, settings.stream, subscription.consumer):
            # add_consumer creates, or updates a durable of the same name.
            await js.add_consumer(settings.stream, durable_consumer_config(subscription, settings))
            log.info("consumer ready", extra={"consumer": subscription.consumer})
    return [subscription.consumer for subscription in subscriptions]


async def _consumer_exists(js: JetStreamContext, stream: str, name: str) -> bool:
    try:
        await js.consumer_info(stream, name)
        return True
    except NotFoundError:
        return False


@dataclass(frozen=True)
class Delivery:
    msg: Msg
    envelope: EventEnvelope
    event: Event
    event_id: str  # the envelope's id as text, made once: the inbox and the acks look it up often


class Refused(Exception):
    """The domain refused an event for now (its prerequisite has not arrived): it waits for `waiting_for`."""

    def __init__(self, error: Exception, waiting_for: str):
        super().__init__(f"{type(error).__name__}: {error}")
        self.waiting_for = waiting_for


class HandlerFailed(Exception):
    """One event's handler failed in a batch: the whole transaction rolls back, and this says which."""

    def __init__(self, delivery: Delivery, error: Exception):
        super().__init__(str(error))
        self.delivery, self.error = delivery, error


class InboxConsumer:
    def __init__(self, subscription: Subscription, engine: AsyncEngine, js: Callable[[], JetStreamContext],
                 settings: Settings, on_commit: Callable[[], None] | None = None,
                 nc: Callable[[], Client] | None = None):
        """`js` and `nc`: the service's JetStream context and connection, once it is connected."""
        self.subscription, self.engine, self.js, self.settings, self.nc = subscription, engine, js, settings, nc
        self.on_commit = on_commit
        self.name = subscription.consumer
        self.held: list[Msg] = []  # the batch in hand: kept alive on the server while it is applied
        self.pull: Pull | None = None
        self.paused_since: float | None = None
        # Aggregates changed since parked events were last looked at; None: look at every parked event.
        self.progressed: set[str] | None = set()

    async def run(self) -> None:
        """Pull and apply until cancelled; a lost connection or server restart only pauses it."""
        # Pulled messages arrive on the connection's own inbox, the only one its NATS user may read.
        nc = self.nc()
        pull = self.pull = await Pull(nc, self.settings.stream, self.name, nc.new_inbox(),
                                      self.settings.consumer_batch_size, self.settings.pull_wait_s).start()
        self.progressed = None  # what changed while this consumer was stopped is not known
        keep_alive = asyncio.create_task(self._keep_held_alive(), name=f"{self.name}-keep-alive")
        try:
            while True:
                try:
                    batch = await pull.take()
                except (TimeoutError, ConnectionClosedError):
                    continue  # idle, or the server is away: ask again (nats-py resubscribes after a reconnect)
                except Exception:
                    log.exception("pulling failed; retrying", extra={"consumer": self.name})
                    await asyncio.sleep(1)
                    continue
                try:
                    await self.process_batch(batch)
                except Exception:  # what is not acked comes back after its ack wait
                    log.exception("a batch failed; its messages come back", extra={"consumer": self.name})
        finally:
            keep_alive.cancel()
            # A subscription left behind would hold up draining the connection when the service stops.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pull.stop(), 2)

    async def create_if_missing(self) -> None:
        """Bootstrap creates the consumer (create_durable_consumers); where nobody has and the user
        may create it (no NATS users, as in the tests), the service creates it with the same settings."""
        if not await _consumer_exists(self.js(), self.settings.stream, self.name):
            await self.js().add_consumer(self.settings.stream, durable_consumer_config(self.subscription, self.settings))

    async def settings_differing_on_server(self) -> dict[str, tuple[Any, Any]]:
        """The consumer settings the server has that this service's own would not have made, as
        {setting: (on the server, expected)}; logged as a warning at start.

        Bootstrap creates the consumer with the settings of wherever it runs; this service counts
        deliveries with its own. A server max_deliver at or below this service's would end the
        redeliveries before the last try dead-letters the message.
        """
        on_server = (await self.js().consumer_info(self.settings.stream, self.name)).config
        expected = durable_consumer_config(self.subscription, self.settings)
        differing = {
            setting: (getattr(on_server, setting), getattr(expected, setting))
            for setting in ("max_deliver", "ack_wait", "max_ack_pending")
            if _comparable(getattr(on_server, setting)) != _comparable(getattr(expected, setting))}
        # The server reports a consumer with one filter in filter_subject.
        filters_on_server = on_server.filter_subjects or [on_server.filter_subject]
        if sorted(filters_on_server) != sorted(expected.filter_subjects):
            differing["filter_subjects"] = (filters_on_server, expected.filter_subjects)
        if differing:
            log.warning("consumer on the server differs from this service's settings (on the server, expected): "
                        "run polku bootstrap with the same POLKU_* settings",
                        extra={"consumer": self.name, "differing": differing})
        return differing

    async def process_batch(self, msgs: Sequence[Msg]) -> None:
        """Apply a batch; through an outage of the database or the bus, hold it and apply it when it is over."""
        started = time.perf_counter()
        self.held = list(msgs)
        try:
            while True:
                try:
                    if pending := [msg for msg in msgs if not msg.is_acked]:
                        await self._process_pending(pending)
                    await self._apply_parked()
                    break
                except Exception as error:
                    if not is_outage(error):
                        raise
                    await self._wait_out_outage(error)
        finally:
            self.held = []
        metrics.batch_processed(self.name, msgs, started)

    async def _wait_out_outage(self, error: Exception) -> None:
        """Pause (no pulling, no tries counted) until the database answers and the bus is connected."""
        self.paused_since = self.paused_since or time.monotonic()
        log.warning("database or bus unreachable; consumer paused, the batch is kept", extra={
            "consumer": self.name, "error": f"{type(error).__name__}: {error}"})
        delay = 0.2
        while True:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            try:
                async with self.engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
            except Exception as still:
                if not is_outage(still):
                    raise
                continue
            if self.nc is None or self.nc().is_connected:
                break
        log.info("consumer resumed", extra={"consumer": self.name,
                                            "paused_s": round(time.monotonic() - self.paused_since, 3)})
        self.paused_since = None
        self.progressed = None  # what changed during the outage is not known: look at every parked event

    async def _keep_held_alive(self) -> None:
        """Every third of the ack wait, tell the server that held messages (the batch in hand and those
        pulled behind it) are still being worked on: a slow batch or an outage is then never redelivered."""
        while True:
            await asyncio.sleep(self.settings.ack_wait_s / 3)
            for msg in [*self.held, *(self.pull.arrived if self.pull else ())]:
                if not msg.is_acked:
                    with contextlib.suppress(Exception):  # the bus itself may be away
                        await msg.in_progress()

    async def _process_pending(self, msgs: Sequence[Msg]) -> None:
        deliveries = []
        for msg in msgs:
            try:
                envelope, event = decode_json(msg.data, (msg.headers or {}).get("ce-type"))
                deliveries.append(Delivery(msg, envelope, event, str(envelope.id)))
            except UNDECODABLE as error:
                await self._dead_letter(msg, error)
        if len(deliveries) == 1:
            await self._process_one(deliveries[0])
        elif deliveries:
            await self._process_together(deliveries)

    async def _process_together(self, deliveries: list[Delivery]) -> None:
        # Live, batches are small and each event's trace shows its own processing span; the batch's SQL
        # is under a batch span linked to them all. A consumer catching up takes large batches, where a
        # span per event cost reporting two fifths of its CPU and flooded the span store: there the batch
        # span alone is linked to the trace of every event (`polku trace` follows the links).
        if len(deliveries) <= self.settings.event_spans_up_to:
            spans = {delivery.event_id: self._span(delivery, current=False) for delivery in deliveries}
            links = [trace.Link(span.get_span_context()) for span in spans.values()]
        else:
            spans = {}
            links = [trace.Link(_publisher_of(delivery.msg)) for delivery in deliveries]
        try:
            with tracer.start_as_current_span(
                f"{self.name} process batch", kind=trace.SpanKind.CONSUMER, links=links[:MAX_LINKS],
                attributes={"messaging.system": "nats", "messaging.batch.message_count": len(deliveries),
                            "messaging.consumer.group.name": self.name},
            ):
                await self._apply_together(deliveries, spans)
        finally:
            for span in spans.values():
                span.end()

    async def _apply_together(self, deliveries: list[Delivery], spans: dict[str, trace.Span]) -> None:
        """The batch in one transaction (`spans`: each event's own span, if events have one). An event
        whose handler fails is taken out: those before it are applied together again, it is tried
        alone (and retried or dead-lettered), and the rest go on together. Any other failure applies
        every event alone."""
        while deliveries:
            try:
                retry = await self._apply(deliveries, spans)
            except HandlerFailed as failed:
                if is_outage(failed.error):
                    raise failed.error from None
                at = deliveries.index(failed.delivery)
                log.info("an event failed in a batch; it is tried alone", extra={
                    "consumer": self.name, "event_id": failed.delivery.event_id, "events": len(deliveries),
                    "error": f"{type(failed.error).__name__}: {failed.error}"})
                if at:
                    await self._apply_together(deliveries[:at], spans)
                await self._process_one(failed.delivery)
                deliveries = deliveries[at + 1:]
                continue
            except Exception as error:
                if is_outage(error):
                    raise
                log.info("batch failed; applying its events one at a time", extra={
                    "consumer": self.name, "events": len(deliveries), "error": f"{type(error).__name__}: {error}"})
                for delivery in deliveries:
                    await self._process_one(delivery)
                return
            await self._settle(deliveries, retry)
            return

    async def _process_one(self, delivery: Delivery) -> None:
        with self._span(delivery) as span:
            try:
                retry = await self._apply([delivery])
            except Refused as refused:
                await self._park(delivery, refused)
                retry = {}
            except NeverApplies as error:
                span.set_status(trace.StatusCode.ERROR, f"{type(error).__name__}: {error}")
                await self._dead_letter(delivery.msg, error)  # no later event can make it apply
                return
            except Exception as error:
                if is_outage(error):
                    span.set_status(trace.StatusCode.ERROR, f"outage: {type(error).__name__}: {error}")
                    raise
                retry = {delivery.event_id: error}
            if error := retry.get(delivery.event_id):  # `polku trace` and trace viewers show the failed try
                span.set_status(trace.StatusCode.ERROR, f"{type(error).__name__}: {error}")
        await self._settle([delivery], retry)

    def _span(self, delivery: Delivery, current: bool = True):
        """The span of processing one event, a child of the span that published it."""
        start = tracer.start_as_current_span if current else tracer.start_span
        return start(f"{self.name} process {delivery.envelope.type}", context=_context_of(delivery.msg),
                     kind=trace.SpanKind.CONSUMER,
                     attributes={"messaging.system": "nats", "messaging.message.id": delivery.event_id,
                                 "messaging.consumer.group.name": self.name, "messaging.operation.type": "process",
                                 "messaging.destination.name": self.settings.stream,
                                 "messaging.message.conversation_id": str(delivery.envelope.correlationid)})

    async def _apply(self, deliveries: list[Delivery], spans: dict[str, trace.Span] | None = None) -> dict[str, Exception]:
        """One transaction: the inbox says which events are new, the handlers apply those, the inbox
        records them. `spans`: each event's span, in a batch. Returns the events to retry later with the
        reason; raises when nothing may commit."""
        first = deliveries[0].envelope
        async with UnitOfWork(self.engine, self.settings.service, Cause.of(first), self.on_commit) as uow:
            seen = await uow.already_processed(self.name, [delivery.event_id for delivery in deliveries])
            fresh: dict[str, Delivery] = {}
            for delivery in deliveries:  # a copy within the batch counts once too
                if delivery.event_id in seen or delivery.event_id in fresh:
                    log.info("duplicate dropped", extra={"consumer": self.name, "event_id": delivery.event_id})
                else:
                    fresh[delivery.event_id] = delivery
            retry = await self._handle(uow, list(fresh.values()), spans)
            await uow.mark_processed(self.name, [event_id for event_id in fresh if event_id not in retry])
        self._note_progress(uow.changed_aggregates | {d.envelope.aggregateid for d in fresh.values()
                                                      if d.event_id not in retry})
        return retry

    async def _handle(self, uow: UnitOfWork, deliveries: list[Delivery],
                      spans: dict[str, trace.Span] | None) -> dict[str, Exception]:
        """A batch goes to the batch handler where there is one; one event alone, or a subscription
        without one, to the event's handler, in stream order."""
        batch_handler = self.subscription.batch_handler
        if batch_handler and spans is not None:
            deferred = await batch_handler(uow, [(d.envelope, d.event) for d in deliveries])
            return {str(envelope.id): reason for (envelope, _), reason in deferred}
        if self.subscription.prefetch and len(deliveries) > 1:
            await self.subscription.prefetch(uow, [(d.envelope, d.event) for d in deliveries])
        for delivery in deliveries:
            uow.cause = Cause.of(delivery.envelope)  # what the handler appends was caused by this event
            uow.event_area = delivery.envelope.employmentarea
            # Its SQL goes under its own span: alone, that span is already current; in a batch, make it so.
            with trace.use_span(spans[delivery.event_id]) if spans else contextlib.nullcontext():
                try:
                    try:
                        await self.subscription.handlers[type(delivery.event)](uow, delivery.event, delivery.envelope)
                    except REFUSALS as refusal:
                        # It waits for the aggregate it was refused on: the last one the handler read.
                        waiting_for = uow.touched[-1] if uow.touched else delivery.envelope.aggregateid
                        raise Refused(refusal, waiting_for) from refusal
                except Exception as error:
                    if spans is None:
                        raise
                    raise HandlerFailed(delivery, error) from error
        return {}

    def _note_progress(self, aggregates: set[str]) -> None:
        if self.progressed is not None:
            self.progressed |= aggregates

    async def _park(self, delivery: Delivery, refused: Refused) -> None:
        """Keep the event in this consumer's database until what it waits for changes; the inbox
        takes it in the same transaction, so a redelivery is a duplicate."""
        async with transaction(self.engine) as connection:
            await parking.park(connection, self.name, delivery.envelope, delivery.msg.metadata.sequence.stream,
                               refused.waiting_for, str(refused))
            await UnitOfWork.mark_in(connection, self.name, [delivery.event_id])
        log.info("event parked until its prerequisite arrives", extra={
            "consumer": self.name, "event_id": delivery.event_id, "event_type": delivery.envelope.type,
            "waiting_for": refused.waiting_for, "reason": str(refused)})
        metrics.parked_event(self.name)

    async def _apply_parked(self) -> None:
        """After a commit that changed something, try the parked events again, in stream order, until
        a pass applies none. Every parked event is tried, not only those waiting for an aggregate that
        changed: a handler may refuse before it reads the aggregate it needs (pathway checks the
        client's area first), so what an event waits for is not always known."""
        while self.progressed is None or self.progressed:
            self.progressed = set()
            async with self.engine.connect() as connection:
                ready = await parking.waiting(connection, self.name, limit=PARKED_PER_PASS)
            for parked in ready:
                await self._apply_one_parked(parked)

    async def _apply_one_parked(self, parked: parking.Parked) -> None:
        envelope = parked.envelope
        uow = UnitOfWork(self.engine, self.settings.service, Cause.of(envelope), self.on_commit)
        uow.event_area = envelope.employmentarea
        try:
            async with uow:
                try:
                    await self.subscription.handlers[type(decode(envelope))](uow, decode(envelope), envelope)
                except REFUSALS as refusal:
                    raise Refused(refusal, uow.touched[-1] if uow.touched else envelope.aggregateid) from refusal
                await parking.release(uow.connection, self.name, parked.event_id)
        except Refused as refused:
            if refused.waiting_for != parked.waiting_for or str(refused) != parked.reason:
                async with transaction(self.engine) as connection:
                    await parking.still_waiting(connection, self.name, parked.event_id, refused.waiting_for,
                                                str(refused))
            return
        except parking.NoLongerParked:
            return  # dead-lettered meanwhile for waiting too long (parking.dead_letter_overdue): rolled back
        except Exception as error:
            if is_outage(error):
                raise
            # A parked event is acked already: it stays parked, for the operators (polku status), not lost.
            log.error("a parked event failed; it stays parked", extra={
                "consumer": self.name, "event_id": parked.event_id, "error": f"{type(error).__name__}: {error}"})
            return
        log.info("parked event applied", extra={"consumer": self.name, "event_id": parked.event_id,
                                                 "parked_s": round((datetime.now(UTC) - parked.parked_at)
                                                                   .total_seconds(), 3)})
        self._note_progress(uow.changed_aggregates | {envelope.aggregateid})

    async def _settle(self, deliveries: list[Delivery], retry: dict[str, Exception]) -> None:
        """After the commit: ack what is done, and nak with back-off (or dead-letter) what is to retry."""
        for delivery in deliveries:
            error = retry.get(delivery.event_id)
            if error is None:
                await delivery.msg.ack()
            else:
                await self._retry_or_dead_letter(delivery, error)

    async def _retry_or_dead_letter(self, delivery: Delivery, error: Exception) -> None:
        msg, envelope = delivery.msg, delivery.envelope
        delivered = msg.metadata.num_delivered
        if delivered >= self.settings.max_deliver or isinstance(error, NeverApplies):
            await self._dead_letter(msg, error)
            return
        delays = self.settings.nak_delays_s
        delay = delays[min(delivered - 1, len(delays) - 1)]
        log.warning("handler failed; will retry", extra={
            "consumer": self.name, "event_id": str(envelope.id), "event_type": envelope.type,
            "delivery": delivered, "retry_in_s": delay, "error": f"{type(error).__name__}: {error}"})
        await msg.nak(delay=delay)

    async def _dead_letter(self, msg: Msg, error: BaseException) -> None:
        log.error("message dead-lettered", extra={
            "consumer": self.name, "subject": msg.subject, "delivery": msg.metadata.num_delivered,
            "error": f"{type(error).__name__}: {error}"})
        await dead_letters.send(self.js(), self.settings.dead_letter_stream, msg, self.name, error)
        await msg.term()
        metrics.dead_lettered(self.name)


def _context_of(msg: Msg):
    return remote_parent((msg.headers or {}).get("traceparent"))


def _publisher_of(msg: Msg) -> trace.SpanContext:
    """The span that published the message, from its `traceparent` header (through the propagator and a
    context it was 5 µs a message, a twentieth of reporting's CPU catching up)."""
    return span_context_of((msg.headers or {}).get("traceparent"))
