"""Group commit on a real SQLite file: concurrent write transactions share one commit, each still
rolls back alone, and none ends before the commit that makes it durable."""
import asyncio

import pytest
from sqlalchemy import event, text

from services.platform.commit_groups import NestedTransaction, transaction
from services.platform.database import create_engine


@pytest.fixture
async def engine(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'groups.db'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        await connection.execute(text(
            "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL "
            "REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"))
        await connection.execute(text("INSERT INTO parent (id) VALUES (1)"))
    yield engine
    await engine.dispose()


@pytest.fixture
def commits(engine) -> list[int]:
    """One entry per COMMIT the engine sends to SQLite."""
    made: list[int] = []
    event.listen(engine.sync_engine, "commit", lambda _connection: made.append(1))
    return made


async def stored(engine) -> set[int]:
    async with engine.connect() as connection:
        return {row.id for row in await connection.execute(text("SELECT id FROM child"))}


async def write(engine, child_id: int, parent_id: int = 1, fail: bool = False, ended: list | None = None) -> None:
    async with transaction(engine) as connection:
        await connection.execute(text("INSERT INTO child (id, parent_id) VALUES (:id, :parent)"),
                                 {"id": child_id, "parent": parent_id})
        await asyncio.sleep(0)  # let the others queue up behind this one
        if fail:
            raise RuntimeError(f"writer {child_id} fails")
    if ended is not None:  # the block ended: what it wrote must be durable by now
        ended.append((child_id, child_id in await stored(engine)))


async def test_concurrent_writers_share_commits_and_each_ends_after_its_commit(engine, commits):
    ended: list[tuple[int, bool]] = []
    await asyncio.gather(*(write(engine, child_id, ended=ended) for child_id in range(1, 41)))
    assert await stored(engine) == set(range(1, 41))
    assert all(durable for _, durable in ended), "a writer ended before its commit"
    assert len(commits) < 40 / 4, f"40 concurrent writers took {len(commits)} commits"


async def test_a_lone_writer_commits_at_once(engine, commits):
    await write(engine, 1)
    assert len(commits) == 1 and await stored(engine) == {1}


@pytest.mark.parametrize("failing", [1, 3], ids=["the group's first", "one in the middle"])
async def test_a_failing_writer_rolls_back_alone(engine, failing):
    results = await asyncio.gather(*(write(engine, child_id, fail=child_id == failing) for child_id in range(1, 6)),
                                   return_exceptions=True)
    assert [isinstance(result, RuntimeError) for result in results] == [child == failing for child in range(1, 6)]
    assert await stored(engine) == set(range(1, 6)) - {failing}


async def test_a_failed_commit_fails_every_writer_of_the_group(engine):
    # The foreign key is checked at COMMIT (deferred): writer 2's row spoils the group's commit.
    results = await asyncio.gather(write(engine, 1), write(engine, 2, parent_id=99), write(engine, 3),
                                   return_exceptions=True)
    assert all(isinstance(result, Exception) for result in results), results
    assert await stored(engine) == set(), "nothing of a failed group is stored"
    await write(engine, 4)  # the next group starts clean
    assert await stored(engine) == {4}


async def test_a_write_transaction_inside_another_is_refused_not_left_waiting(engine):
    with pytest.raises(NestedTransaction):
        async with transaction(engine):
            async with transaction(engine):
                pass
    await write(engine, 1)
    assert await stored(engine) == {1}
