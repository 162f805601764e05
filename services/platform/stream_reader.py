"""Reads a whole stream in large batches, for replay.

A hand-driven pull: one request asks the server for a whole batch, and the requests for the
next REQUESTS_AHEAD batches are out while the caller works on the current one, so the server
streams while the caller works. nats-py's fetch() makes a task and a uuid per message and tops
out near 20k msg/s here (DESIGN.md); `make bench` prints what this reader reaches.

Two more per-message costs of nats-py are avoided here, each about as large as all the rest:
- iterating `subscription.messages` makes a task and an asyncio.wait per message; a callback
  subscription only appends each message to a list;
- nats-py parses every message's headers with the standard library's email parser (~11 µs a
  message, more than the rest of the pull); every Polku event carries headers (Nats-Msg-Id,
  ce-type), so while reading, the connection uses a plain parser of NATS's `Name: value` lines.
"""
import asyncio
from bisect import bisect_right
from collections.abc import AsyncIterator, Awaitable, Callable

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from services.platform.bus import plain_header_parsing
from services.platform.pull import request_batch, status_of

REQUEST_EXPIRES_S = 30
REQUESTS_AHEAD = 2
# Rebuild writes a batch per transaction: on SQLite, a batch of 20k events dirties most pages of the
# projections' key indexes once per commit instead of a quarter of them four times (`make bench`:
# 1M events rebuilt in ~50 s instead of ~65 s at 5k); a replay holds about two batches in memory.
REPLAY_BATCH = 20_000


async def read_batches(nc: Client, stream: str, subject: str, batch_size: int = REPLAY_BATCH,
                       start_sequence: int = 1) -> AsyncIterator[list[Msg]]:
    """Every message on `subject` present when called, from stream sequence `start_sequence`, in stream order."""
    js = nc.jetstream()
    start = {"deliver_policy": DeliverPolicy.ALL} if start_sequence <= 1 else {
        "deliver_policy": DeliverPolicy.BY_START_SEQUENCE, "opt_start_seq": start_sequence}
    consumer = await js.add_consumer(stream, ConsumerConfig(
        ack_policy=AckPolicy.NONE, **start, filter_subject=subject,
        inactive_threshold=60, mem_storage=True, num_replicas=1, max_waiting=4,
    ))
    remaining = consumer.num_pending  # not yet given to the caller
    unrequested = remaining  # not yet asked of the server
    inbox = nc.new_inbox()

    async def request() -> None:
        await request_batch(nc, stream, consumer.name, inbox, batch_size, REQUEST_EXPIRES_S)

    async def request_ahead() -> None:
        """Keep REQUESTS_AHEAD batches asked for, so the server streams the next ones while the caller works."""
        nonlocal unrequested
        while unrequested and remaining - unrequested < REQUESTS_AHEAD * batch_size:
            await request()
            unrequested -= min(batch_size, unrequested)

    received = _Received(request)
    with plain_header_parsing(nc):
        # Only requested messages arrive, so the subscription holds at most REQUESTS_AHEAD batches.
        subscription = await nc.subscribe(inbox, cb=received.add, pending_msgs_limit=4 * batch_size,
                                          pending_bytes_limit=-1)
        try:
            while remaining:
                await request_ahead()
                batch = await received.take(min(batch_size, remaining))
                remaining -= len(batch)
                await request_ahead()
                yield batch
        finally:
            if not nc.is_closed:  # a caller that gave up may close the connection first
                await subscription.unsubscribe()
                await js.delete_consumer(stream, consumer.name)


async def read_merged(nc: Client, stream: str, subjects: list[str], batch_size: int = REPLAY_BATCH,
                      start_sequence: int = 1) -> AsyncIterator[list[Msg]]:
    """Every message on any of `subjects` (at least those present when called: a subject's consumer is made
    when its reader is first asked), in batches in stream order: each message of a batch comes after every
    message of the batches before. Within a batch they are by subject, the stream's latest last.

    A consumer per subject, read at once: nats-server filters a consumer of one subject at about the cost of
    an unfiltered one, and one of several subjects at seven times that (2.15: 16.8 s of its CPU for 1M
    messages with two subjects, 3.4 with one). A batch is what every subject's reader holds up to the lowest
    stream sequence any reader that is not done holds last: nothing later can come before it.

    Each reader asks for batches of `batch_size` shared among the subjects: the messages asked for at once
    stay those of one reader. nats-server holds at most 64 MB on its way to a connection and closes one that
    falls further behind (a slow consumer); with 1 kB events, one reader's three batches of 20,000 are 60 MB.
    """
    if not subjects:
        return
    share = max(batch_size // len(subjects), 1)
    readers = [read_batches(nc, stream, subject, share, start_sequence) for subject in subjects]
    held: list[list[Msg]] = [[] for _ in readers]
    done = [False] * len(readers)
    try:
        while True:
            for number, reader in enumerate(readers):
                if not held[number] and not done[number]:
                    held[number] = await anext(reader, [])
                    done[number] = not held[number]
            if not any(held):
                return
            bound = min((_sequence(messages[-1]) for messages, ended in zip(held, done) if not ended),
                        default=None)
            taken = []
            for number, messages in enumerate(held):
                cut = len(messages) if bound is None else bisect_right(messages, bound, key=_sequence)
                if cut:
                    taken.append(messages[:cut])
                held[number] = messages[cut:]
            taken.sort(key=lambda messages: _sequence(messages[-1]))  # the batch's last is its latest
            yield [msg for messages in taken for msg in messages]
    finally:
        for reader in readers:
            await reader.aclose()


def _sequence(msg: Msg) -> int:
    return msg.metadata.sequence.stream


class _Received:
    """The messages the subscription's callback has received and the caller has not taken yet."""

    def __init__(self, request: Callable[[], Awaitable[None]]):
        self.request = request
        self.messages: list[Msg] = []
        self.wanted = 0
        self.enough = asyncio.Event()

    async def add(self, msg: Msg) -> None:
        status = status_of(msg)
        if status is not None:
            if status != "100":  # the request ended early (408 expired, 409): ask again
                await self.request()
            return
        self.messages.append(msg)
        if len(self.messages) >= self.wanted:
            self.enough.set()

    async def take(self, count: int) -> list[Msg]:
        self.wanted = count
        while len(self.messages) < count:
            self.enough.clear()
            await self.enough.wait()
        batch, self.messages = self.messages[:count], self.messages[count:]
        return batch
