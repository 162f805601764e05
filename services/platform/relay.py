"""Publishes outbox rows to JetStream in log order and deletes each row only after its ack."""
import asyncio
import json
import logging

from nats.js import JetStreamContext
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.platform.tables import events, outbox

log = logging.getLogger(__name__)


class OutboxRelay:
    """Pipelined: a batch is published with publish_async and its acks awaited together.

    A crash between publish and delete republishes the same Nats-Msg-Id: the stream's
    duplicate window drops it, and a later duplicate is dropped by the consumers' inboxes.
    A restarted relay resumes from the oldest row still in the outbox.
    """

    def __init__(self, engine: AsyncEngine, js: JetStreamContext, stream: str, batch_size: int = 1000,
                 idle_poll_s: float = 1.0, publish_timeout_s: float = 10.0):
        self.engine, self.js, self.stream = engine, js, stream
        self.batch_size, self.idle_poll_s, self.publish_timeout_s = batch_size, idle_poll_s, publish_timeout_s
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        """Called after a commit that wrote events, so they go out at once rather than at the next poll."""
        self._wakeup.set()

    async def run(self) -> None:
        while True:
            try:
                published = await self.publish_pending()
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

    async def publish_pending(self) -> int:
        """Publish one batch; returns how many rows were acknowledged and removed."""
        async with self.engine.connect() as connection:
            rows = (await connection.execute(
                select(events.c.position, events.c.event_id, events.c.event_type, events.c.subject, events.c.envelope)
                .join(outbox, outbox.c.position == events.c.position)
                .order_by(events.c.position)
                .limit(self.batch_size)
            )).all()
        if not rows:
            return 0
        acks = [
            await self.js.publish_async(row.subject, row.envelope.encode(), stream=self.stream, headers=_headers(row))
            for row in rows
        ]
        results = await asyncio.wait_for(asyncio.gather(*acks, return_exceptions=True), self.publish_timeout_s)
        acked = 0
        for result in results:  # only the in-order prefix of acks counts: order is kept on the stream
            if isinstance(result, BaseException):
                log.warning("publish not acknowledged; will retry", extra={"error": repr(result)})
                break
            acked += 1
        if acked:
            await self.mark_sent([row.position for row in rows[:acked]])
        return acked

    async def mark_sent(self, positions: list[int]) -> None:
        async with self.engine.begin() as connection:
            # By position list, not "<= last": on PostgreSQL a lower position can commit later.
            await connection.execute(delete(outbox).where(outbox.c.position.in_(positions)))


def _headers(row) -> dict[str, str]:
    headers = {"Nats-Msg-Id": row.event_id, "ce-type": row.event_type}
    traceparent = json.loads(row.envelope).get("traceparent")
    if traceparent:
        headers["traceparent"] = traceparent
    return headers
