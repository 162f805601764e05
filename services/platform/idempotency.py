"""Idempotency-Key on every POST: a retried request gets the first answer again and writes nothing.

The key is claimed in the transaction of the request's change (UnitOfWork writes the claim with its
events), so a request either changed something and holds its key, or changed nothing. Its response
is kept after it, and a request with the same key and the same method, path and body is answered
with it; the same key with another request is refused (422). Keys are per caller: two users'
keys never meet.

A key is kept for `POLKU_IDEMPOTENCY_KEYS_KEPT_H` hours (24): after that it is free again and the
service deletes it (`purge_expired`). The claim records what the change was (the aggregates and
their versions) in the commit, and the response replaces that record after it; a process that dies
in between leaves a claim without an answer. A retry within `POLKU_IDEMPOTENCY_OPEN_S` (30 s) of the
claim is told the first request may still be answering (409); after that it gets the recorded outcome
(410: the change was made, its answer was lost, and the request will not run again).
"""
import asyncio
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web
from opentelemetry.instrumentation.utils import suppress_instrumentation
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.envelope import EventEnvelope
from services.platform.commit_groups import transaction
from services.platform.dates import aware
from services.platform.tables import idempotency_keys

HEADER = "Idempotency-Key"
CLAIM: web.RequestKey["Claim"] = web.RequestKey("idempotency_claim", object)
MAX_KEY_LENGTH = 255
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeyTimes:
    """How long a key is kept, and how long a claim without an answer may still be answering."""

    kept: timedelta = timedelta(hours=24)
    open: timedelta = timedelta(seconds=30)

    @classmethod
    def of(cls, settings) -> "KeyTimes":
        """POLKU_IDEMPOTENCY_KEYS_KEPT_H and POLKU_IDEMPOTENCY_OPEN_S."""
        return cls(kept=timedelta(hours=settings.idempotency_keys_kept_h),
                   open=timedelta(seconds=settings.idempotency_open_s))


@dataclass
class Claim:
    caller: str
    key: str
    fingerprint: str
    times: KeyTimes = KeyTimes()
    written: bool = False  # the claim committed with the request's change

    async def write(self, connection: AsyncConnection, changes: Sequence[EventEnvelope] = ()) -> None:
        """In the transaction of the change: a concurrent request with the key fails here and rolls back.
        An expired claim of the key gives way; the outcome (what changed) stands until the answer is kept."""
        if not self.written:
            now = datetime.now(UTC)
            await connection.execute(delete(idempotency_keys).where(*_row_of(self.caller, self.key),
                                                                    idempotency_keys.c.created_at < now - self.times.kept))
            await connection.execute(insert(idempotency_keys).values(
                caller=self.caller, key=self.key, fingerprint=self.fingerprint, created_at=now,
                response=json.dumps({"changed": [_change(envelope) for envelope in _last_of_each(changes)]})))


def _row_of(caller: str, key: str) -> list:
    return [idempotency_keys.c.caller == caller, idempotency_keys.c.key == key]


def _last_of_each(changes: Sequence[EventEnvelope]) -> list[EventEnvelope]:
    return list({envelope.aggregateid: envelope for envelope in changes}.values())


def _change(envelope: EventEnvelope) -> dict:
    return {"aggregate_type": envelope.aggregatetype, "aggregate_id": envelope.aggregateid,
            "version": envelope.aggregateversion}


class KeyReused(Exception):
    """The key was used with another request (HTTP 422)."""


class FirstStillOpen(Exception):
    """The first request with the key holds it and has not answered yet (HTTP 409)."""


class AnswerLost(Exception):
    """The first request with the key made its change, and its process stopped before its answer was kept
    (HTTP 410): `changed` is the recorded outcome; the request does not run again."""

    def __init__(self, message: str, changed: list[dict]):
        super().__init__(message)
        self.changed = changed


def fingerprint_of(request: web.Request, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([request.method.encode(), request.path_qs.encode(), body])).hexdigest()


def key_of(request: web.Request) -> str | None:
    """The request's Idempotency-Key, or None; raises ValueError naming the rule a bad key breaks."""
    if request.method != "POST" or HEADER not in request.headers:
        return None
    key = request.headers[HEADER].strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValueError(f"1 to {MAX_KEY_LENGTH} printable characters")
    return key


async def first_answer(engine: AsyncEngine, claim: Claim) -> web.Response | None:
    """The kept response of an earlier request with the claim's key, None when there was none (or it
    expired)."""
    async with engine.connect() as connection:
        row = (await connection.execute(select(
            idempotency_keys.c.fingerprint, idempotency_keys.c.status, idempotency_keys.c.response,
            idempotency_keys.c.created_at).where(*_row_of(claim.caller, claim.key)))).first()
    if row is None or aware(row.created_at) < datetime.now(UTC) - claim.times.kept:
        return None
    if row.fingerprint != claim.fingerprint:
        raise KeyReused(f"{HEADER}: the key was used with another request (method, path or body); use a new key")
    if row.status is None:
        if aware(row.created_at) > datetime.now(UTC) - claim.times.open:
            raise FirstStillOpen(f"the first request with this {HEADER} changed data and its answer is not kept "
                                 "yet; try again shortly, or read the resource")
        changed = json.loads(row.response or "{}").get("changed", [])
        raise AnswerLost(f"the first request with this {HEADER} made its change ("
                         + (", ".join(f"{item['aggregate_type']} {item['aggregate_id']} to version {item['version']}"
                                      for item in changed) or "no events")
                         + ") but its answer was lost when its process stopped; it will not run again: read the "
                           "resource for the result", changed)
    return web.Response(status=row.status, body=row.response or b"", content_type="application/json",
                        headers={"Idempotent-Replayed": "true"})


async def keep_answer(engine: AsyncEngine, claim: Claim, response: web.StreamResponse) -> None:
    body = response.body if isinstance(response, web.Response) else None
    async with transaction(engine) as connection:
        await connection.execute(update(idempotency_keys).where(*_row_of(claim.caller, claim.key)).values(
            status=response.status, response=bytes(body).decode() if body else ""))


async def purge_expired(engine: AsyncEngine, kept: timedelta) -> int:
    """Delete the keys older than `kept`; returns how many. Housekeeping: no part of any trace."""
    with suppress_instrumentation():
        async with transaction(engine) as connection:
            result = await connection.execute(delete(idempotency_keys).where(
                idempotency_keys.c.created_at < datetime.now(UTC) - kept))
    return result.rowcount


async def answer_once(request: web.Request, handler, engine: AsyncEngine, caller: str, key: str,
                      times: KeyTimes = KeyTimes()) -> web.StreamResponse:
    """Run the handler at most once per caller and key; any later request gets the first answer."""
    claim = Claim(caller, key, fingerprint_of(request, await request.read()), times)
    replay = await first_answer(engine, claim)
    if replay is not None:
        return replay
    request[CLAIM] = claim
    try:
        response = await handler(request)
    except IntegrityError:
        # A concurrent request with the same key committed first: its change stands, this one rolled back.
        if (replay := await first_answer(engine, claim)) is not None:
            return replay
        raise
    if claim.written and 200 <= response.status < 300:
        await keep_answer(engine, claim, response)
    return response


async def purge_every(engine: AsyncEngine, kept: timedelta, interval_s: float = 3600.0) -> None:
    """Every service's task: delete expired keys at start and every `interval_s`; a failure is tried again."""
    while True:
        try:
            if purged := await purge_expired(engine, kept):
                log.info("expired idempotency keys deleted", extra={"keys": purged})
        except Exception:
            log.warning("expired idempotency keys not deleted; tried again later", exc_info=True)
        await asyncio.sleep(interval_s)
