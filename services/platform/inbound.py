"""Requests a service answers on core NATS subjects (request and reply), for systems that live on the
bus: a message in, one JSON answer back on the message's reply subject. The message's sender repeats
it when no answer comes, so a handler must make a repeated message harmless."""
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg

log = logging.getLogger(__name__)

# (subject the message came on, its body) -> the JSON answer; "status" says how it went, as in HTTP.
RequestHandler = Callable[[str, bytes], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Inbound:
    """One subject (wildcards allowed) a service answers, shared by its instances through a queue group."""

    subject: str
    queue: str
    handler: RequestHandler


async def answer(nc: Client, inbound: Inbound) -> None:
    async def reply(msg: Msg) -> None:
        try:
            answered = await inbound.handler(msg.subject, msg.data)
        except Exception:  # the body may hold anything: it never reaches the log
            log.exception("inbound request failed", extra={"subject": msg.subject})
            answered = {"status": 500, "errors": [{"field": "body", "rule": "could not be handled; send it again"}]}
        if msg.reply:
            await nc.publish(msg.reply, json.dumps(answered).encode())
        elif answered.get("status", 500) >= 400:
            log.warning("inbound request refused without a reply subject",
                        extra={"subject": msg.subject, "status": answered["status"]})

    await nc.subscribe(inbound.subject, queue=inbound.queue, cb=reply)
