"""Publishes outbox rows to JetStream in log order and deletes each row only after its ack."""
import asyncio
import json
import logging
import time

from nats.js import JetStreamContext
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.platform import metrics
from services.platform.among import among
from services.platform.commit_groups import transaction
from services.platform.relay_lease import RelayLease
from services.platform.tables import events, outbox
from services.platform.tracing import remote_parent

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

# By position list, not "<= last": on PostgreSQL a lower position can commit later.
DELETE_SENT = delete(outbox).where(among(outbox.c.position, "positions"))


async def all_acks(acks: list, timeout_s: float) -> list:
    """Every ack or its error, in order; TimeoutError after `timeout_s`. Not wait_for: on Python 3.11 a
    relay stopped while it waited left the cancelled gather's exception unretrieved ("_GatheringFuture
    exception was never retrieved" at the end of the test run)."""
    async with asyncio.timeout(timeout_s):
        return await asyncio.gather(*acks, return_exceptions=True)


class OutboxRelay:
    """Pipelined: a batch is published with publish_async and its acks awaited together.

    A crash between publish and delete republishes the same Nats-Msg-Id: the stream's
    duplicate window drops it, and a later duplicate is dropped by the consumers' inboxes.
    A restarted relay resumes from the oldest row still in the outbox.

    With a `lease`, only the instance holding it publishes (several instances of one service share
    the outbox). Its own statements start no trace (an idle poll is no part of any flow); each row's
    publish is a span in the trace of the request that wrote the event. A batch of more than
    `spans_up_to` rows (a consumer catching up writes thousands) is one span, and each message carries
    the trace of the span that wrote its event: a span a row cost the relay half its CPU there.
    """

    def __init__(self, engine: AsyncEngine, js: JetStreamContext, stream: str, batch_size: int = 1000,
                 idle_poll_s: float = 1.0, publish_timeout_s: float = 10.0, lease: RelayLease | None = None,
                 service: str = "", spans_up_to: int = 50):
        self.engine, self.js, self.stream = engine, js, stream
        self.batch_size, self.idle_poll_s, self.publish_timeout_s = batch_size, idle_poll_s, publish_timeout_s
        self.lease, self.service, self.spans_up_to = lease, service, spans_up_to
        self._wakeup = asyncio.Event()

    @property
    def active(self) -> bool:
        return self.lease.held if self.lease else True

    def wake(self) -> None:
        """Called after a commit that wrote events, so they go out at once rather than at the next poll."""
        self._wakeup.set()

    async def run(self) -> None:
        while True:
            try:
                published = await self.publish_pending() if await self._may_publish() else 0
            except Exception:
                log.exception("outbox relay failed; retrying")
                published = 0
                await asyncio.sleep(self.idle_poll_s)
            if published < self.batch_size:
                try:
                    await asyncio.wait_for(self._wakeup.wait(), self.idle_poll_s)
                except TimeoutError:
                    pass
                self._wakeup.clear()

    async def _may_publish(self) -> bool:
        return await self.lease.hold() if self.lease else True

    async def release(self) -> None:
        if self.lease:
            await self.lease.release()

    async def publish_pending(self) -> int:
        """Publish one batch; returns how many rows were acknowledged and removed."""
        with suppress_instrumentation():
            async with self.engine.connect() as connection:
                rows = (await connection.execute(PENDING, {"batch_size": self.batch_size})).all()
        if not rows:
            return 0
        started = time.perf_counter()
        results = await (self._publish(rows) if len(rows) <= self.spans_up_to else self._publish_batch(rows))
        acked = 0
        for result in results:  # only the in-order prefix of acks counts: order is kept on the stream
            if isinstance(result, BaseException):
                log.warning("publish not acknowledged; will retry", extra={"error": repr(result)})
                break
            acked += 1
        if acked:
            await self.mark_sent([row.position for row in rows[:acked]])
            metrics.relay_published(self.service, self.stream, acked, started)
        return acked

    async def _publish(self, rows) -> list:
        """Each row published with a span of its own, ended at its ack; the acks (or errors) in row order."""
        spans, acks, results = [], [], []
        try:
            for row in rows:
                envelope = json.loads(row.envelope)
                span = tracer.start_span(f"publish {self.stream}", context=remote_parent(envelope.get("traceparent")),
                                         kind=trace.SpanKind.PRODUCER,
                                         attributes=_span_attributes(row, envelope, self.stream))
                spans.append(span)
                acks.append(await self.js.publish_async(row.subject, row.envelope.encode(), stream=self.stream,
                                                        headers=_headers(row, span)))
            results = await all_acks(acks, self.publish_timeout_s)
        except BaseException as error:
            results = [error] * len(spans)
            raise
        finally:
            for span, result in zip(spans, results):
                if isinstance(result, BaseException):
                    span.set_status(trace.StatusCode.ERROR, f"{type(result).__name__}: {result}")
                span.end()
        return results

    async def _publish_batch(self, rows) -> list:
        """The rows under one span; each message's headers carry its event's own trace."""
        with tracer.start_as_current_span(f"publish {self.stream} batch", kind=trace.SpanKind.PRODUCER, attributes={
                "messaging.system": "nats", "messaging.operation.type": "send", "messaging.destination.name": self.stream,
                "messaging.batch.message_count": len(rows)}) as span:
            acks = [await self.js.publish_async(row.subject, row.envelope.encode(), stream=self.stream,
                                                headers=_headers(row))
                    for row in rows]
            results = await all_acks(acks, self.publish_timeout_s)
            if failed := next((result for result in results if isinstance(result, BaseException)), None):
                span.set_status(trace.StatusCode.ERROR, f"{type(failed).__name__}: {failed}")
        return results

    async def mark_sent(self, positions: list[int]) -> None:
        with suppress_instrumentation():
            async with transaction(self.engine) as connection:
                await connection.execute(DELETE_SENT, {"positions": positions})


def _span_attributes(row, envelope: dict, stream: str) -> dict[str, str]:
    """The messaging conventions' publish attributes; the correlation id finds the flow (`polku trace`)."""
    return {"messaging.system": "nats", "messaging.operation.type": "send", "messaging.operation.name": "publish",
            "messaging.destination.name": stream, "messaging.message.id": row.event_id,
            "messaging.message.conversation_id": str(envelope.get("correlationid", "")),
            "polku.event.type": row.event_type}


# Built once: the relay asks after every commit. From the outbox (a few rows) to the events by their key:
# the same join from the events' side ordered by events.position was, to SQLite without statistics (a
# service's database is never analysed), a scan of the whole event log for every batch: 12 ms at 200,000
# events in memory, growing with the log, after every commit.
PENDING = (select(events.c.position, events.c.event_id, events.c.event_type, events.c.subject, events.c.envelope)
           .select_from(outbox).join(events, events.c.position == outbox.c.position).order_by(outbox.c.position)
           .limit(bindparam("batch_size")))


def _headers(row, span: trace.Span | None = None) -> dict[str, str]:
    """The consumers' spans continue from the publish span; without one recording, from the envelope's."""
    headers = {"Nats-Msg-Id": row.event_id, "ce-type": row.event_type}
    carrier: dict[str, str] = {}
    if span is not None:
        propagate.inject(carrier, context=trace.set_span_in_context(span))
    traceparent = carrier.get("traceparent") or json.loads(row.envelope).get("traceparent")
    if traceparent:
        headers["traceparent"] = traceparent
    return headers
