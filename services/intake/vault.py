"""Intake's personal-data vault: encrypted at rest with a key per client, erased by deleting the key.

- Each client with personal data gets a random 256-bit key. The personal data (one JSON document)
  is encrypted with it by AES-256-GCM; the client key itself is stored wrapped (AES-256-GCM) by the
  master key from configuration (POLKU_MASTER_KEY, or var/keys/vault-master.key created on first
  run). Both encryptions bind the client id as associated data, so a row copied onto another client
  does not decrypt.
- Rows are written and deleted in the caller's transaction, with the client's events.
- Erasure (crypto-shredding) deletes the row: the wrapped key and the ciphertext. SQLite runs with
  `secure_delete`, and `scrub` checkpoints and truncates the write-ahead log afterwards, so no freed
  page or old log frame keeps either.

Nothing here logs or raises with a value of personal data; errors name the client id only.
"""
import base64
import hashlib
import logging
import os
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import ValidationError
from sqlalchemy import delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.intake.domain.personal_data import PersonalData
from services.intake.tables import vault
from services.platform.config import Settings, master_key_bytes
from services.platform.key_files import create_once

log = logging.getLogger(__name__)
NONCE_BYTES = 12


class VaultUnreadable(Exception):
    """A vault row does not decrypt: the master key is not the one that wrapped it, or the row was altered."""


class Vault:
    def __init__(self, master_key: bytes):
        if len(master_key) != 32:
            raise ValueError("the vault's master key must be 32 bytes")
        self._master = AESGCM(master_key)
        # Names the master key without revealing it: stored with each row it wrapped.
        self.master_key_id = hashlib.sha256(b"polku vault master key\x00" + master_key).hexdigest()[:16]

    def seal(self, client_id: str, person: PersonalData) -> dict:
        """The vault row of a client: a new client key, wrapped, and the data encrypted with it."""
        client_key = AESGCM.generate_key(bit_length=256)
        return {
            "client_id": client_id,
            "master_key_id": self.master_key_id,
            "wrapped_key": _encrypt(self._master, client_key, _bound(b"key", client_id)),
            "ciphertext": _encrypt(AESGCM(client_key), person.model_dump_json().encode(), _bound(b"data", client_id)),
            "stored_at": datetime.now(UTC),
        }

    def unseal(self, row) -> PersonalData:
        client_id = row.client_id
        if row.master_key_id != self.master_key_id:
            raise VaultUnreadable(f"the vault row of client {client_id} was wrapped by master key {row.master_key_id}, "
                                  f"this service has {self.master_key_id}: configure POLKU_MASTER_KEY")
        try:
            client_key = _decrypt(self._master, row.wrapped_key, _bound(b"key", client_id))
            plaintext = _decrypt(AESGCM(client_key), row.ciphertext, _bound(b"data", client_id))
        except InvalidTag:
            raise VaultUnreadable(f"the vault row of client {client_id} does not decrypt: it was altered "
                                  "or belongs to another client") from None
        try:
            return PersonalData.model_validate_json(plaintext)
        except ValidationError:  # hides its input (PersonalData's config); still, say only where
            raise VaultUnreadable(f"the vault row of client {client_id} holds data that is no longer valid") from None

    async def store(self, connection: AsyncConnection, client_id: str, person: PersonalData) -> None:
        """The client's personal data, replacing what was kept (sealed again under a new client key)."""
        await connection.execute(delete(vault).where(vault.c.client_id == client_id))
        await connection.execute(insert(vault).values(**self.seal(client_id, person)))

    async def load(self, connection: AsyncConnection, client_id: str) -> PersonalData | None:
        row = (await connection.execute(select(vault).where(vault.c.client_id == client_id))).first()
        return self.unseal(row) if row is not None else None


async def shred(connection: AsyncConnection, client_id: str) -> bool:
    """Delete the client's key and data in the caller's transaction; False when there was none."""
    result = await connection.execute(delete(vault).where(vault.c.client_id == client_id))
    return result.rowcount > 0


async def scrub(engine: AsyncEngine) -> None:
    """After an erasure committed: move the write-ahead log into the database file (where secure_delete
    zeroed the deleted row) and truncate it, so no earlier log frame keeps the row.

    SQLite only. A reader holding an old snapshot makes the checkpoint stop short; the next erasure (or
    SQLite's own checkpoints, which overwrite the log from its start) finishes it. PostgreSQL keeps
    deleted rows until VACUUM and in its WAL archive: there only the deleted key protects the data.
    """
    if engine.dialect.name != "sqlite":
        return
    async with engine.connect() as connection:
        busy, _, _ = (await connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))).one()
    if busy:
        log.warning("vault scrub: the write-ahead log could not be truncated now (readers are active)")


def vault_for(settings: Settings) -> Vault:
    """The vault with the configured master key; the embedded default creates its key file once."""
    if settings.master_key is not None:
        return _vault(master_key_bytes(settings.master_key.get_secret_value()))
    return _vault(_key_from_file(settings.resolved_master_key_file))


@cache
def _vault(master_key: bytes) -> Vault:
    return Vault(master_key)


@cache
def _key_from_file(path: Path) -> bytes:
    if not path.exists():
        # Every instance of intake must use the same master key: a key file of its own is for one machine.
        log.warning("no POLKU_MASTER_KEY: the vault's master key is the file %s (created once); "
                    "configure POLKU_MASTER_KEY wherever intake runs on more than one machine", path)
    content = create_once(path, lambda: base64.b64encode(os.urandom(32)) + b"\n")
    key = master_key_bytes(content.decode("ascii", "replace"))
    if key is None:
        raise VaultUnreadable(f"{path} is not a vault master key (the base64 of 32 bytes)")
    return key


def _bound(purpose: bytes, client_id: str) -> bytes:
    return b"polku vault " + purpose + b"\x00" + client_id.encode()


def _encrypt(cipher: AESGCM, plaintext: bytes, associated_data: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + cipher.encrypt(nonce, plaintext, associated_data)


def _decrypt(cipher: AESGCM, sealed: bytes, associated_data: bytes) -> bytes:
    return cipher.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated_data)
