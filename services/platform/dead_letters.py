"""Messages a consumer gave up on: kept on their own stream with the error, listed and replayed by ops."""
from dataclasses import dataclass

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

DEAD_LETTER_ROOT = "polku.deadletter"
MAX_ERROR_LENGTH = 1000
EVENT_ID_HEADER = "polku-event-id"


@dataclass(frozen=True)
class DeadLetter:
    sequence: int
    consumer: str
    event_type: str
    event_id: str
    original_subject: str
    deliveries: int
    error: str
    body: bytes
    traceparent: str | None = None


async def send(js: JetStreamContext, stream: str, msg: Msg, consumer: str, error: BaseException) -> None:
    """Publish the failed message with why it failed; waits for the ack before the caller acks."""
    headers = msg.headers or {}
    # A replayed event travels under a message id of its own (replay:…) and names its event id here.
    event_id = headers.get(EVENT_ID_HEADER) or headers.get("Nats-Msg-Id", "unknown")
    await js.publish(
        f"{DEAD_LETTER_ROOT}.{consumer}",
        msg.data,
        stream=stream,
        headers={
            # Unique per delivery that failed, so a replayed message that fails again is kept too.
            "Nats-Msg-Id": f"{consumer}:{event_id}:{msg.metadata.sequence.stream}",
            "polku-consumer": consumer,
            EVENT_ID_HEADER: event_id,
            "polku-event-type": headers.get("ce-type", "unknown"),
            "polku-original-subject": msg.subject,
            "polku-deliveries": str(msg.metadata.num_delivered),
            # Errors name ids and fields, never personal data (see the services' error messages).
            "polku-error": f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH],
            # Kept so that the replay continues the trace of the request that caused the event.
            **({"traceparent": headers["traceparent"]} if "traceparent" in headers else {}),
        },
    )


async def send_parked(js: JetStreamContext, stream: str, consumer: str, envelope, reason: str) -> None:
    """An event that waited in the consumer's database too long (services/platform/parking.py): it was
    acked when parked, so it is published from its envelope, under the subject it came on."""
    event_id = str(envelope.id)
    await js.publish(
        f"{DEAD_LETTER_ROOT}.{consumer}",
        envelope.model_dump_json().encode(),
        stream=stream,
        headers={
            "Nats-Msg-Id": f"{consumer}:{event_id}:parked",
            "polku-consumer": consumer,
            EVENT_ID_HEADER: event_id,
            "polku-event-type": envelope.type,
            "polku-original-subject": envelope.nats_subject,
            "polku-deliveries": "1",
            "polku-error": f"Parked too long: {reason}"[:MAX_ERROR_LENGTH],
            **({"traceparent": envelope.traceparent} if envelope.traceparent else {}),
        },
    )


async def list_all(js: JetStreamContext, stream: str) -> list[DeadLetter]:
    state = (await js.stream_info(stream)).state
    letters = []
    if state.messages == 0:
        return letters  # an empty stream reports sequence 0, which get_msg refuses
    for sequence in range(state.first_seq, state.last_seq + 1):
        try:
            raw = await js.get_msg(stream, sequence)
        except NotFoundError:  # deleted after a replay
            continue
        headers = raw.headers or {}
        letters.append(DeadLetter(
            sequence=sequence,
            consumer=headers.get("polku-consumer", ""),
            event_type=headers.get("polku-event-type", ""),
            event_id=headers.get(EVENT_ID_HEADER, ""),
            original_subject=headers.get("polku-original-subject", ""),
            deliveries=int(headers.get("polku-deliveries", "0")),
            error=headers.get("polku-error", ""),
            traceparent=headers.get("traceparent"),
            body=raw.data or b"",
        ))
    return letters


async def replay(js: JetStreamContext, events_stream: str, dead_letter_stream: str, letter: DeadLetter) -> None:
    """Put the event back on its original subject under a new message id, then forget the dead letter.

    Every consumer sees it again; those that processed it already drop it in their inbox.
    """
    await js.publish(
        letter.original_subject,
        letter.body,
        stream=events_stream,
        headers={"Nats-Msg-Id": f"replay:{letter.event_id}:{letter.sequence}", EVENT_ID_HEADER: letter.event_id,
                 "ce-type": letter.event_type,
                 **({"traceparent": letter.traceparent} if letter.traceparent else {})},
    )
    await js.delete_msg(dead_letter_stream, letter.sequence)
