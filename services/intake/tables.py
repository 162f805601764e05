"""Intake's own tables besides the event log: the personal-data vault and the caseload.

One row per client who has personal data: the client's own key, wrapped (encrypted) with the
master key, and the personal data encrypted with the client's key. Erasure deletes the row; with
the key gone, no copy of the ciphertext anywhere (a backup, an old page) can be read again.
"""
from sqlalchemy import Column, Date, DateTime, Index, Integer, LargeBinary, MetaData, String, Table

metadata = MetaData()

vault = Table(
    "vault",
    metadata,
    Column("client_id", String(36), primary_key=True),
    # Which master key wrapped the client key: a row wrapped by another key is a clear error, not garbage.
    Column("master_key_id", String(16), nullable=False),
    Column("wrapped_key", LargeBinary, nullable=False),  # nonce + AES-256-GCM(master key, client key)
    Column("ciphertext", LargeBinary, nullable=False),  # nonce + AES-256-GCM(client key, personal data JSON)
    Column("stored_at", DateTime(timezone=True), nullable=False),
)

# The caseload: one row per client, kept in the transaction of the client's events (and, for the
# current step, of the pathway events intake takes), so a case worker's list and the follow-ups due
# are one indexed query. Anonymous facts only.
caseload = Table(
    "caseload",
    metadata,
    Column("client_id", String(36), primary_key=True),
    Column("employment_area", String(40), nullable=False),
    Column("case_worker_id", String(64)),
    Column("status", String(16), nullable=False),
    Column("period", Integer, nullable=False),
    Column("programme", String(32), nullable=False),
    Column("referred_on", Date, nullable=False),
    Column("current_step_kind", String(32)),
    Column("current_step_id", String(36)),
    Column("exited_on", Date),
    Index("caseload_by_case_worker", "employment_area", "case_worker_id", "status"),
)

# One row per exited enrolment period: the six-month follow-up, due until it is recorded. A period's
# row stays when the client returns, so an earlier period's follow-up is not lost.
follow_ups = Table(
    "follow_ups",
    metadata,
    Column("client_id", String(36), primary_key=True),
    Column("period", Integer, primary_key=True),
    Column("employment_area", String(40), nullable=False),
    Column("case_worker_id", String(64)),
    Column("exited_on", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("recorded_on", Date),
    Index("follow_ups_due", "employment_area", "recorded_on", "due_on"),
)

# The sending system's own referral ids (sender_referrals.py): a referral sent again is the first one.
sender_referrals = Table(
    "sender_referrals",
    metadata,
    Column("employment_area", String(40), primary_key=True),
    Column("referred_by", String(16), primary_key=True),
    Column("sender_referral_id", String(64), primary_key=True),
    Column("client_id", String(36), nullable=False),
    Column("referral_id", String(36), nullable=False),
    Column("taken_at", DateTime(timezone=True), nullable=False),
)
