"""Idempotency-Key on every POST: a retried request gets the first answer again and writes nothing.

The key is claimed in the transaction of the request's change (UnitOfWork writes the claim with its
events), so a request either changed something and holds its key, or changed nothing. Its response
is kept after it, and a request with the same key and the same method, path and body is answered
with it; the same key with another request is refused (422). Keys are per caller: two users'
keys never meet.
"""
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.platform.commit_groups import transaction
from services.platform.tables import idempotency_keys

HEADER = "Idempotency-Key"
CLAIM: web.RequestKey["Claim"] = web.RequestKey("idempotency_claim", object)
MAX_KEY_LENGTH = 255
log = logging.getLogger(__name__)


@dataclass
class Claim:
    caller: str
    key: str
    fingerprint: str
    written: bool = False  # the claim committed with the request's change

    async def write(self, connection: AsyncConnection) -> None:
        """In the transaction of the change: a concurrent request with the key fails here and rolls back."""
        if not self.written:
            await connection.execute(insert(idempotency_keys).values(
                caller=self.caller, key=self.key, fingerprint=self.fingerprint, created_at=datetime.now(UTC)))


class KeyReused(Exception):
    """The key was used with another request (HTTP 422)."""


class FirstStillOpen(Exception):
    """The first request with the key holds it and has not answered yet (HTTP 409)."""


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
    """The kept response of an earlier request with the claim's key, None when there was none."""
    async with engine.connect() as connection:
        row = (await connection.execute(select(idempotency_keys.c.fingerprint, idempotency_keys.c.status,
                                               idempotency_keys.c.response).where(
            idempotency_keys.c.caller == claim.caller, idempotency_keys.c.key == claim.key))).first()
    if row is None:
        return None
    if row.fingerprint != claim.fingerprint:
        raise KeyReused(f"{HEADER}: the key was used with another request (method, path or body); use a new key")
    if row.status is None:
        raise FirstStillOpen(f"the first request with this {HEADER} changed data and its answer is not kept yet; "
                             "try again shortly, or read the resource")
    return web.Response(status=row.status, body=row.response or b"", content_type="application/json",
                        headers={"Idempotent-Replayed": "true"})


async def keep_answer(engine: AsyncEngine, claim: Claim, response: web.StreamResponse) -> None:
    body = response.body if isinstance(response, web.Response) else None
    async with transaction(engine) as connection:
        await connection.execute(update(idempotency_keys).where(
            idempotency_keys.c.caller == claim.caller, idempotency_keys.c.key == claim.key).values(
            status=response.status, response=bytes(body).decode() if body else ""))


async def answer_once(request: web.Request, handler, engine: AsyncEngine, caller: str, key: str) -> web.StreamResponse:
    """Run the handler at most once per caller and key; any later request gets the first answer."""
    claim = Claim(caller, key, fingerprint_of(request, await request.read()))
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
