"""The audit log: every change and every read of personal data, append-only and hash-chained.

Each entry's hash covers its own fields and the previous entry's hash, so changing, removing or
reordering an entry breaks every link after it; `polku audit verify` finds the first broken one.
Entries are written in the transaction of what they record: no change without its entry.

Whoever can write the database could still write a whole new chain, head and all. So the head is
checkpointed outside it (`polku audit checkpoint`, one JSON line a run, to wherever the operators
keep what the database's owners cannot change), and `verify --checkpoints` checks that every
checkpointed entry is still in the chain with the hash it had.
"""
import hashlib
import json
from datetime import UTC, datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.platform.auth import Principal
from services.platform.http import RUNTIME, Route, principal_of
from services.platform.last_writes import last_write
from services.platform.tables import audit_head, audit_log
from services.platform.tracing import current_trace_id

GENESIS = "0" * 64
# SQLite: UPDATE … RETURNING takes the write lock first, so two transactions never chain onto the same
# previous entry (on PostgreSQL, APPEND_ON_POSTGRESQL's UPDATE takes the head's row lock the same way).
TAKE_SEQS = (update(audit_head).where(audit_head.c.id == 1).values(last_seq=audit_head.c.last_seq + bindparam("count"))
             .returning(audit_head.c.last_seq, audit_head.c.last_hash))
SET_LAST_HASH = update(audit_head).where(audit_head.c.id == 1).values(last_hash=bindparam("last_hash"))
FIELDS = ("seq", "at", "actor", "roles", "area", "action", "subject", "purpose", "trace_id")


class AuditEntry(BaseModel):
    seq: int
    at: str
    actor: str
    roles: str
    area: str
    action: str
    subject: str
    purpose: str
    trace_id: str | None
    previous_hash: str
    hash: str


def entry_hash(previous_hash: str, entry: dict) -> str:
    canonical = json.dumps([previous_hash, *(entry[field] for field in FIELDS)], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


# PostgreSQL: one statement advances the head, hashing the entry as entry_hash does (the canonical JSON
# is '["<previous hash>",<seq>,' and the rest of the entry's JSON array, `tail`), and writes the entry.
# The head's row lock is then held for this statement and the commit only: concurrent requests queued
# on it for three statements before (pg_stat_activity under `make load`).
APPEND_ON_POSTGRESQL = text("""
WITH head AS (
    UPDATE audit_head
    SET last_seq = last_seq + 1, previous_hash = last_hash,
        last_hash = encode(sha256(convert_to('["' || last_hash || '",' || (last_seq + 1) || ',' || :tail,
                                             'UTF8')), 'hex')
    WHERE id = 1
    RETURNING last_seq, previous_hash, last_hash)
INSERT INTO audit_log (seq, at, actor, roles, area, action, subject, purpose, trace_id, previous_hash, hash)
SELECT last_seq, :at, :actor, :roles, :area, :action, :subject, :purpose, :trace_id, previous_hash, last_hash
FROM head""")


def _tail(entry: dict) -> str:
    """The canonical JSON of entry_hash after the previous hash and the sequence number."""
    return json.dumps([entry[field] for field in FIELDS[1:]], separators=(",", ":"))[1:]


class ChainedAtCommit:
    """A transaction's entries, chained onto the head just before it commits (services/platform/last_writes.py)."""

    def __init__(self):
        self.entries: list[dict] = []

    async def write(self, connection: AsyncConnection) -> None:
        if connection.dialect.name == "postgresql":
            for entry in self.entries:
                await connection.execute(APPEND_ON_POSTGRESQL, entry | {"tail": _tail(entry)})
            return
        # SQLite has no SHA-256, and one writer at a time waits for no row lock.
        head = (await connection.execute(TAKE_SEQS, {"count": len(self.entries)})).one()
        previous_hash, rows = head.last_hash, []
        for seq, entry in enumerate(self.entries, head.last_seq - len(self.entries) + 1):
            digest = entry_hash(previous_hash, entry | {"seq": seq})
            rows.append(entry | {"seq": seq, "previous_hash": previous_hash, "hash": digest})
            previous_hash = digest
        await connection.execute(audit_log.insert(), rows)
        await connection.execute(SET_LAST_HASH, {"last_hash": previous_hash})


def record(connection: AsyncConnection, actor: Principal, action: str, subject: str, purpose: str) -> None:
    """Append one entry to the caller's transaction (written when it commits, or not at all)."""
    last_write(connection, "audit", ChainedAtCommit).entries.append({
        "at": datetime.now(UTC).isoformat(), "actor": actor.user_id, "roles": ",".join(sorted(actor.roles)),
        "area": actor.area, "action": action[:255], "subject": subject[:255], "purpose": purpose[:255],
        "trace_id": current_trace_id()})


async def head_of(engine: AsyncEngine) -> tuple[int, str]:
    """The last entry's sequence number and hash: what a checkpoint keeps."""
    async with engine.connect() as connection:
        head = (await connection.execute(select(audit_head))).one()
    return head.last_seq, head.last_hash


async def first_broken_link(engine: AsyncEngine, batch_size: int = 10_000,
                            checkpoints: dict[int, str] | None = None) -> int | None:
    """The sequence number of the first entry that does not verify, or None when the chain holds.
    `checkpoints`: {seq: hash} kept outside the database; each must still be in the chain."""
    checkpoints = checkpoints or {}
    previous_hash, expected_seq, last_seen = GENESIS, 1, 0
    async with engine.connect() as connection:
        while True:
            rows = (await connection.execute(select(audit_log).where(audit_log.c.seq > last_seen)
                                             .order_by(audit_log.c.seq).limit(batch_size))).mappings().all()
            for row in rows:
                if (row["seq"] != expected_seq or row["previous_hash"] != previous_hash
                        or row["hash"] != entry_hash(previous_hash, row)
                        or checkpoints.get(row["seq"], row["hash"]) != row["hash"]):
                    return expected_seq
                previous_hash, expected_seq, last_seen = row["hash"], expected_seq + 1, row["seq"]
            if len(rows) < batch_size:
                break
        head = (await connection.execute(select(audit_head))).one()
    # The head remembers the last entry: cutting entries off the end is a break too.
    if (head.last_seq, head.last_hash) != (expected_seq - 1, previous_hash):
        return expected_seq
    if checkpoints and max(checkpoints) >= expected_seq:  # checkpointed entries cut off the end
        return expected_seq
    return None


class AuditQuery(BaseModel):
    """The filters of GET /audit; every one optional."""

    model_config = ConfigDict(extra="forbid")

    actor: str | None = Field(default=None, max_length=128, description="the user id that acted")
    subject: str | None = Field(default=None, max_length=200, description="e.g. `Client <uuid>`")
    action: str | None = Field(default=None, max_length=200, description="the beginning of the action, e.g. `read`")
    since: datetime | None = Field(default=None, description="entries at or after this ISO 8601 time (UTC if "
                                                             "no offset)")
    until: datetime | None = Field(default=None, description="entries before this ISO 8601 time")
    limit: int = Field(default=100, ge=1, le=1000, description="at most this many, the oldest first")


async def query_audit(request: web.Request, asked: AuditQuery) -> list[AuditEntry]:
    """The entries of the auditor's own employment area, filtered, oldest first."""
    query = select(audit_log).where(audit_log.c.area == principal_of(request).area).order_by(audit_log.c.seq)
    if asked.actor is not None:
        query = query.where(audit_log.c.actor == asked.actor)
    if asked.subject is not None:
        query = query.where(audit_log.c.subject == asked.subject)
    if asked.action is not None:
        # Not LIKE (startswith): its _ and % would be wildcards, and SQLite's LIKE ignores case.
        query = query.where(func.substr(audit_log.c.action, 1, len(asked.action)) == asked.action)
    if asked.since is not None:
        query = query.where(audit_log.c.at >= _utc(asked.since))
    if asked.until is not None:
        query = query.where(audit_log.c.at < _utc(asked.until))
    async with request.app[RUNTIME].engine.connect() as connection:
        return [AuditEntry(**row) for row in (await connection.execute(query.limit(asked.limit))).mappings()]


def _utc(moment: datetime) -> str:
    """As the entries keep their times: ISO 8601 in UTC."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


AUDIT_ROUTES = [Route("GET", "/audit", query_audit, "The audit log of this service, oldest first",
                      response=list[AuditEntry], query=AuditQuery)]
