"""Intake's own table besides the event log: the personal-data vault.

One row per client who has personal data: the client's own key, wrapped (encrypted) with the
master key, and the personal data encrypted with the client's key. Erasure deletes the row; with
the key gone, no copy of the ciphertext anywhere (a backup, an old page) can be read again.
"""
from sqlalchemy import Column, DateTime, LargeBinary, MetaData, String, Table

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
