"""Employer's client revisions (matching's cache asks for rows above the revision it holds): one bump
per transaction, and never a number handed out twice, also when a commit group's member rolls back."""
import asyncio
from uuid import uuid4

from sqlalchemy import select

from services.employer.lookups import clients_changed_since, note_client
from services.employer.service import SERVICE as EMPLOYER
from services.employer.tables import client_revisions, clients
from services.platform.commit_groups import transaction


async def revisions(engine) -> dict[str, int]:
    async with engine.connect() as connection:
        return {row.client_id: row.revision for row in await connection.execute(select(clients))}


async def counter(engine) -> int:
    async with engine.connect() as connection:
        return (await connection.execute(select(client_revisions.c.revision))).scalar_one()


async def test_a_transaction_takes_one_revision_for_all_the_clients_it_changes(engine_factory):
    engine = await engine_factory("employer", EMPLOYER.migrations)
    ids = [uuid4() for _ in range(3)]
    async with transaction(engine) as connection:
        for client_id in ids:
            await note_client(connection, client_id, "kemi", enrolled=True)
    assert set((await revisions(engine)).values()) == {await counter(engine)} == {1}
    async with engine.connect() as connection:
        assert {str(facts.client_id) for _, facts in await clients_changed_since(connection, "kemi", 0)} == \
            {str(client_id) for client_id in ids}


async def test_a_rolled_back_member_of_a_commit_group_takes_its_revision_with_it(engine_factory):
    engine = await engine_factory("employer", EMPLOYER.migrations)
    async with transaction(engine) as connection:
        await note_client(connection, uuid4(), "kemi", enrolled=True)  # the area's counter exists
    failing, last = uuid4(), uuid4()

    async def member(client_id=None, fail: bool = False) -> None:
        async with transaction(engine) as connection:
            if client_id:
                await note_client(connection, client_id, "kemi", enrolled=True)
            await asyncio.sleep(0)  # the others queue up: one group
            if fail:
                raise RuntimeError("this member rolls back")

    # The group's first member changes no client; the second bumps the revision and rolls back.
    results = await asyncio.gather(member(), member(failing, fail=True), member(last), return_exceptions=True)
    assert isinstance(results[1], RuntimeError) and results[0] is None and results[2] is None
    later = uuid4()
    async with transaction(engine) as connection:
        await note_client(connection, later, "kemi", enrolled=True)
    stored = await revisions(engine)
    assert str(failing) not in stored
    assert stored[str(later)] > stored[str(last)], f"a revision handed out twice: {stored}"
    assert stored[str(later)] == await counter(engine)
