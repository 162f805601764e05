"""`polku vault rotate-master-key`: every client key is wrapped by the new master key in one
transaction; the personal data reads back under the new key only; a second run changes nothing."""
import asyncio
import base64
import os
from uuid import uuid4

import pytest
from sqlalchemy import select

from services import cli
from services.intake.domain.personal_data import PersonalData
from services.intake.service import SERVICE as INTAKE
from services.intake.tables import vault as vault_table
from services.intake.vault import Vault, VaultUnreadable, rotate_master_key, vault_for
from services.platform.config import Settings
from services.platform.database import create_engine, migrate
from tests.support import BOTH_DATABASES

PERSON = PersonalData(name="Maija Meikäläinen", personal_identity_code="131052-308T")


def new_key() -> bytes:
    return base64.b64encode(os.urandom(32)) + b"\n"


@BOTH_DATABASES
async def test_rotation_rewraps_every_key_at_once_and_can_run_again(engine_factory):
    engine = await engine_factory("intake", INTAKE.migrations)
    old, new = Vault(os.urandom(32)), Vault(os.urandom(32))
    clients = [str(uuid4()) for _ in range(3)]
    async with engine.begin() as connection:
        for client_id in clients:
            await old.store(connection, client_id, PERSON)
    async with engine.begin() as connection:
        assert await rotate_master_key(connection, old, new) == (3, 0)
    async with engine.connect() as connection:
        for client_id in clients:
            assert (await new.load(connection, client_id)).name == PERSON.name
            with pytest.raises(VaultUnreadable, match="configure POLKU_MASTER_KEY"):
                await old.load(connection, client_id)
    async with engine.begin() as connection:
        assert await rotate_master_key(connection, old, new) == (0, 3)


async def test_a_row_of_another_key_stops_the_rotation_and_nothing_changes(engine_factory):
    engine = await engine_factory("intake", INTAKE.migrations)
    old, new, stranger = (Vault(os.urandom(32)) for _ in range(3))
    async with engine.begin() as connection:
        await old.store(connection, str(uuid4()), PERSON)
        await stranger.store(connection, str(uuid4()), PERSON)
    with pytest.raises(VaultUnreadable, match="not by the current one"):
        async with engine.begin() as connection:
            await rotate_master_key(connection, old, new)
    async with engine.connect() as connection:
        ids = {row.master_key_id for row in await connection.execute(select(vault_table.c.master_key_id))}
    assert ids == {old.master_key_id, stranger.master_key_id}, "the rotation rolled back whole"


async def test_the_command_on_the_embedded_default_replaces_the_key_file(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("POLKU_MASTER_KEY", raising=False)
    monkeypatch.delenv("POLKU_DATABASE_URL", raising=False)
    monkeypatch.setenv("POLKU_VAR_DIR", str(tmp_path))
    settings = Settings(service="intake")
    engine = create_engine(settings.resolved_database_url)
    client_id = str(uuid4())
    try:
        await migrate(engine, INTAKE.migrations)
        async with engine.begin() as connection:
            await vault_for(settings).store(connection, client_id, PERSON)
    finally:
        await engine.dispose()
    key_file = tmp_path / "new.key"
    key_file.write_bytes(new_key())

    assert await asyncio.to_thread(cli.main, ["vault", "rotate-master-key", "--new-key-file", str(key_file)]) == 0
    assert "1 client keys wrapped" in capsys.readouterr().out
    assert settings.resolved_master_key_file.read_bytes() == key_file.read_bytes()
    assert oct(settings.resolved_master_key_file.stat().st_mode & 0o777) == "0o600"
    engine = create_engine(settings.resolved_database_url)
    try:
        async with engine.connect() as connection:
            key = base64.b64decode(key_file.read_bytes())
            assert (await Vault(key).load(connection, client_id)).name == PERSON.name
    finally:
        await engine.dispose()

    key_file.write_text("not a key")
    assert await asyncio.to_thread(cli.main, ["vault", "rotate-master-key", "--new-key-file", str(key_file)]) == 2
