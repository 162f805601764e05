"""The tables every service has: its event log, its outbox and its inbox."""
from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Integer, MetaData, String, Table, Text, UniqueConstraint

metadata = MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
Position = BigInteger().with_variant(Integer(), "sqlite")

events = Table(
    "events",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("aggregate_type", String(64), nullable=False),
    Column("aggregate_id", String(64), nullable=False),
    Column("aggregate_version", Integer, nullable=False),
    Column("event_type", String(128), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("envelope", Text, nullable=False),
    # Optimistic concurrency: two writers of one aggregate version cannot both commit.
    UniqueConstraint("aggregate_id", "aggregate_version", name="uq_events_aggregate_version"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("position", Position, ForeignKey("events.position"), primary_key=True),
)

inbox = Table(
    "inbox",
    metadata,
    Column("consumer", String(128), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("processed_at", DateTime(timezone=True), nullable=False),
)

# Who did or read what, hash-chained: each entry's hash covers its fields and the previous hash.
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", String(40), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("roles", String(255), nullable=False),
    Column("area", String(40), nullable=False),
    Column("action", String(255), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("purpose", String(255), nullable=False),
    Column("trace_id", String(32)),
    Column("previous_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# One row: the last entry's sequence and hash. Updating it first serialises appends to the chain.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
    Column("previous_hash", String(64)),  # the last entry's previous hash (PostgreSQL's one-statement append)
)

# One row: which instance's relay publishes the outbox, until when (services/platform/relay_lease.py).
relay_lease = Table(
    "relay_lease",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("expires_at_ms", BigInteger, nullable=False),
)

# The first answer to a POST with an Idempotency-Key, per caller and key (services/platform/idempotency.py).
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("caller", String(128), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status", Integer),  # NULL until the first request's response is kept
    Column("response", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Events whose prerequisite has not arrived, per consumer, until what they wait for changes
# (services/platform/parking.py). The inbox already holds them: a redelivery is a duplicate.
parked_events = Table(
    "parked_events",
    metadata,
    Column("consumer", String(128), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("waiting_for", String(64), nullable=False),
    Column("stream_sequence", BigInteger, nullable=False),  # applied in stream order once free
    Column("envelope", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("parked_at", DateTime(timezone=True), nullable=False),
)
