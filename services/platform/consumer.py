"""Idempotent event consumers: inbox row and state change in one transaction, ack after commit."""
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from faststream import AckPolicy
from faststream.nats import ConsumerConfig, JStream, NatsBroker, NatsMessage, PullSub
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from opentelemetry import propagate, trace
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.envelope import EventEnvelope, event_subject
from contracts.events.base import Event
from contracts.registry import decode
from services.platform import dead_letters
from services.platform.bus import inbox_prefix
from services.platform.config import Settings
from services.platform.event_store import Cause
from services.platform.unit_of_work import UnitOfWork

Handler = Callable[[UnitOfWork, Any, EventEnvelope], Awaitable[None]]
log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

# A message that cannot be decoded will not decode on the next try either: pydantic's
# ValidationError, UnknownEventType and UnsupportedSchemaVersion are all ValueErrors.
UNDECODABLE = (ValueError,)


@dataclass(frozen=True)
class Subscription:
    """What one service consumes: a durable consumer name and a handler per event type."""

    consumer: str
    handlers: Mapping[type[Event], Handler]

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


class InboxConsumer:
    def __init__(self, subscription: Subscription, engine: AsyncEngine, js: Callable[[], JetStreamContext],
                 settings: Settings, on_commit: Callable[[], None] | None = None):
        self.subscription, self.engine, self.js, self.settings = subscription, engine, js, settings
        self.on_commit = on_commit
        self.name = subscription.consumer

    def attach(self, broker: NatsBroker) -> None:
        """Register on the FastStream broker as a durable pull consumer with manual acks.

        MANUAL, not FastStream's default REJECT_ON_ERROR: that terms a failed message, so it is
        never redelivered and max_deliver never counts (DESIGN.md, sharp edges).
        """
        @broker.subscriber(
            "",
            stream=JStream(self.settings.stream, declare=False),
            durable=self.name,
            # Used only where no consumer exists yet and the user may create one (no NATS users,
            # as in the tests); otherwise bootstrap created it (create_durable_consumers).
            config=durable_consumer_config(self.subscription, self.settings),
            # Pulled messages arrive on the user's own inbox, the only one it may subscribe to.
            inbox_prefix=f"{inbox_prefix(self.settings.nats_user)}.".encode(),
            # FastStream handles a fetched batch concurrently; one at a time keeps the stream's order,
            # and a message that overtook an earlier one is nak'd until that one has been handled.
            pull_sub=PullSub(batch_size=1, timeout=1.0),
            ack_policy=AckPolicy.MANUAL,
        )
        async def on_message(message: NatsMessage) -> None:
            await self.process(message.raw_message)

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

    async def process(self, msg: Msg) -> None:
        try:
            envelope = EventEnvelope.model_validate_json(msg.data)
            event = decode(envelope)
        except UNDECODABLE as error:
            await self._dead_letter(msg, error)
            return
        context = propagate.extract(msg.headers or {})
        with tracer.start_as_current_span(
            f"{self.name} process {envelope.type}", context=context, kind=trace.SpanKind.CONSUMER,
            attributes={"messaging.system": "nats", "messaging.message.id": str(envelope.id),
                        "messaging.consumer.group.name": self.name},
        ):
            try:
                await self._apply(envelope, event)
            except Exception as error:
                await self._retry_or_dead_letter(msg, envelope, error)
                return
        await msg.ack()

    async def _apply(self, envelope: EventEnvelope, event: Event) -> None:
        async with UnitOfWork(self.engine, self.settings.service, Cause.of(envelope), self.on_commit) as uow:
            if await uow.already_processed(self.name, str(envelope.id)):
                log.info("duplicate dropped", extra={"consumer": self.name, "event_id": str(envelope.id)})
                return
            await self.subscription.handlers[type(event)](uow, event, envelope)
            await uow.mark_processed(self.name, str(envelope.id))

    async def _retry_or_dead_letter(self, msg: Msg, envelope: EventEnvelope, error: Exception) -> None:
        delivered = msg.metadata.num_delivered
        if delivered >= self.settings.max_deliver:
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
