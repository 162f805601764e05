"""A hand-driven pull on a durable consumer, for a service's live consumer.

One request asks the server for up to a batch; the server sends each message as it becomes
available, until the batch is full or the request expires, to a subscription on the user's own
inbox. `take` returns what has arrived, at least one message, at once. Compared with nats-py's
`fetch`, no task, wait_for and uuid per message (DESIGN.md: fetch tops out near 20k msg/s here), and
no waiting for a full batch once the first message was waited for.

The subscription has no callback: what arrives waits in its queue, and `take` empties the queue in
one go. A callback costs a pass of nats-py's delivery task per message (a queue get, the callback's
coroutine, an event set): ~2 % of reporting's samples catching up (py-spy, 2026-11-30).
"""
import asyncio
import json

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

NANOSECONDS = 1_000_000_000


async def request_batch(nc: Client, stream: str, consumer: str, inbox: str, batch: int, expires_s: float) -> None:
    """Ask the server for up to `batch` messages of the consumer, sent to `inbox` until `expires_s` pass."""
    await nc.publish(f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}",
                     json.dumps({"batch": batch, "expires": int(expires_s * NANOSECONDS)}).encode(), reply=inbox)


def status_of(msg: Msg) -> str | None:
    """The status of a message the server sends about a pull request (100 heartbeat, 404 none left,
    408 expired, 409 refused), None for a message of the stream."""
    return msg.headers.get("Status") if msg.headers and not msg.data else None


def times_delivered(msg: Msg) -> int:
    """How often the server has delivered this message, read from its ack subject alone
    (`$JS.ACK.<stream>.<consumer>.<delivered>.…`, or with a domain and account hash before the
    stream: ADR-15). nats-py's `msg.metadata` builds the whole of it, dates and all: a twelfth of a
    catching-up consumer's time for a figure only the metrics ask of every message."""
    tokens = msg.reply.split(".")
    return int(tokens[4] if len(tokens) == 9 else tokens[6])


class Pull:
    def __init__(self, nc: Client, stream: str, consumer: str, inbox: str, batch_size: int, wait_s: float):
        self.nc, self.stream, self.consumer, self.inbox = nc, stream, consumer, inbox
        self.batch_size, self.wait_s = batch_size, wait_s
        self._arrived: list[Msg] = []
        self.outstanding = 0  # messages the open request may still bring
        self.refused = False  # the server ended the request at once (409: e.g. too many unacknowledged)
        self.subscription: Subscription | None = None

    async def start(self) -> "Pull":
        # The queue has room for four requests' messages; one is open at a time. No byte limit: nats-py's count
        # of the bytes pending, which only its delivery task (a callback's) lowers, is then never looked at.
        self.subscription = await self.nc.subscribe(self.inbox, pending_msgs_limit=4 * self.batch_size,
                                                    pending_bytes_limit=-1)
        return self

    async def stop(self) -> None:
        if self.subscription is not None and not self.nc.is_closed:
            await self.subscription.unsubscribe()

    @property
    def arrived(self) -> list[Msg]:
        """What has arrived and is not taken yet (the consumer keeps it alive while it applies a batch)."""
        self._empty_queue()
        return self._arrived

    def _empty_queue(self) -> None:
        # nats-py's own (pinned version): the queue its read loop puts the subscription's messages in.
        queue = self.subscription._pending_queue
        while not queue.empty():
            self._add(queue.get_nowait())
            queue.task_done()  # draining the connection waits for every message to be done

    def _add(self, msg: Msg) -> None:
        status = status_of(msg)
        if status is not None:
            if status != "100":  # not a heartbeat: the request ended (408 expired, 409, 404)
                self.outstanding = 0
                self.refused = status not in ("404", "408")
            return
        self._arrived.append(msg)
        if self.outstanding:
            self.outstanding -= 1

    async def take(self) -> list[Msg]:
        """What has arrived, up to a batch; waits for at least one message, asking again each time a
        request expires. Raises TimeoutError when a request neither brought anything nor expired
        (lost with a server restart); the next call asks again."""
        queue = self.subscription._pending_queue
        while not self.arrived:
            if self.refused:
                self.refused = False
                await asyncio.sleep(0.1)  # asking again at once would only be refused again
            if not self.outstanding:
                await self._request()
            try:
                # A request lost with a server restart never ends on its own: ask again after its expiry.
                msg = await asyncio.wait_for(queue.get(), self.wait_s + 1)
            except TimeoutError:
                self.outstanding = 0
                raise
            queue.task_done()
            self._add(msg)
        batch, self._arrived = self._arrived[:self.batch_size], self._arrived[self.batch_size:]
        if not self.outstanding:
            await self._request()  # the next batch streams in while this one is applied
        return batch

    async def _request(self) -> None:
        self.outstanding = self.batch_size
        await request_batch(self.nc, self.stream, self.consumer, self.inbox, self.batch_size, self.wait_s)
