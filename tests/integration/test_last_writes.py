"""Writes a transaction does last (services/platform/last_writes.py): the audit chain's head and
employer's revision counter are locked for the end of a transaction only, so on PostgreSQL a
transaction that is still running does not hold up one that has finished its work."""
import asyncio
from uuid import uuid4

import pytest
from sqlalchemy import select

from services.employer.lookups import note_client
from services.employer.service import SERVICE as EMPLOYER
from services.platform import audit
from services.platform.auth import Principal
from services.platform.commit_groups import transaction
from services.platform.last_writes import OutsideTransaction, last_write
from services.platform.tables import audit_log
from tests.support import BOTH_DATABASES

ACTOR = Principal(user_id="cw-1", roles=frozenset({"case_worker"}), area="kemi")


class Noted:
    def __init__(self, log: list[str], name: str):
        self.log, self.name = log, name

    async def write(self, connection) -> None:
        self.log.append(self.name)


@BOTH_DATABASES
async def test_last_writes_run_after_the_block_in_the_order_of_their_keys_and_once_each(engine_factory):
    engine = await engine_factory("store")
    log: list[str] = []
    async with transaction(engine) as connection:
        for key in ("b", "a", "b"):
            last_write(connection, key, lambda key=key: Noted(log, key))
        log.append("block")
    assert log == ["block", "a", "b"]


@BOTH_DATABASES
async def test_a_block_that_fails_writes_nothing_last(engine_factory):
    engine = await engine_factory("store")
    with pytest.raises(RuntimeError):
        async with transaction(engine) as connection:
            audit.record(connection, ACTOR, "change: Client", "Client 1", "tests")
            raise RuntimeError("the change fails")
    async with transaction(engine) as connection:
        audit.record(connection, ACTOR, "change: Client", "Client 2", "tests")
    async with engine.connect() as connection:
        assert (await connection.execute(select(audit_log.c.seq, audit_log.c.subject))).all() == [(1, "Client 2")]
    assert await audit.first_broken_link(engine) is None


@BOTH_DATABASES
async def test_a_last_write_outside_the_platforms_transaction_is_refused(engine_factory):
    engine = await engine_factory("store")
    async with engine.begin() as connection:
        with pytest.raises(OutsideTransaction, match="audit"):
            audit.record(connection, ACTOR, "change: Client", "Client 1", "tests")


@BOTH_DATABASES
async def test_a_transactions_audit_entries_chain_in_the_order_they_were_recorded(engine_factory):
    # On PostgreSQL the database hashes them: quotes, a backslash and ä must hash as entry_hash does.
    engine = await engine_factory("store")
    async with transaction(engine) as connection:
        audit.record(connection, ACTOR, "change: Client", "Client 1", "tests")
    async with transaction(engine) as connection:
        for number in (2, 3, 4):
            audit.record(connection, ACTOR, "change: Client", f"Client {number}", 'työllistymisen "seuranta" \\')
    async with engine.connect() as connection:
        rows = (await connection.execute(select(audit_log.c.seq, audit_log.c.subject).order_by(audit_log.c.seq))).all()
    assert rows == [(number, f"Client {number}") for number in (1, 2, 3, 4)]
    assert await audit.first_broken_link(engine) is None


@BOTH_DATABASES
async def test_concurrent_transactions_chain_their_entries_without_a_gap_or_a_fork(engine_factory):
    engine = await engine_factory("store")

    async def entries(number: int) -> None:
        async with transaction(engine) as connection:
            for part in range(number % 3 + 1):
                audit.record(connection, ACTOR, "change: Client", f"Client {number}.{part}", "tests")
                await asyncio.sleep(0)  # the others start meanwhile

    await asyncio.gather(*(entries(number) for number in range(20)))
    async with engine.connect() as connection:
        seqs = (await connection.execute(select(audit_log.c.seq).order_by(audit_log.c.seq))).scalars().all()
    assert seqs == list(range(1, sum(number % 3 + 1 for number in range(20)) + 1))
    assert await audit.first_broken_link(engine) is None


@pytest.mark.postgres
@pytest.mark.parametrize("database_url_factory", ["postgres"], indirect=True)
@pytest.mark.parametrize("hot_row", ["audit head", "revision counter"])
async def test_a_running_transaction_does_not_hold_the_hot_row_for_a_finished_one(engine_factory, hot_row):
    engine = await engine_factory("employer", EMPLOYER.migrations)

    async def change(connection) -> None:
        if hot_row == "audit head":
            audit.record(connection, ACTOR, "change: Client", f"Client {uuid4()}", "tests")
        else:
            await note_client(connection, uuid4(), "kemi", enrolled=True)

    async with transaction(engine) as connection:
        await change(connection)  # the counter's row exists from here on
    release = asyncio.Event()
    changed = asyncio.Event()

    async def long_running() -> None:
        async with transaction(engine) as connection:
            await change(connection)
            changed.set()
            await release.wait()  # e.g. the rest of a consumer batch

    running = asyncio.create_task(long_running())
    await changed.wait()
    try:
        async with asyncio.timeout(5):  # before: waits for the running transaction's commit
            async with transaction(engine) as connection:
                await change(connection)
    finally:
        release.set()
        await running
