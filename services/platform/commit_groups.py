"""Group commit on SQLite: the concurrent write transactions of one process share one SQLite
transaction, and so one fsync.

SQLite has one writer at a time and, with synchronous=FULL, an fsync per commit; concurrent units
of work of a process used to wait for each other's lock by polling it, and each paid its own fsync
(3-7 ms on this machine under load). Here they take turns (FIFO) on one connection instead: each
after the first runs inside a SAVEPOINT of the group's transaction, so a failing one rolls back
alone (a failing first one rolls back the transaction, which holds nothing else yet), and the one
that finds nobody waiting behind it (or the group full) commits the group. Every member's `async
with` ends only after that commit, so nothing is answered or acknowledged before it is durable;
if the commit fails, every member of the group fails with it.

A member that arrives while nobody else is writing commits at once: an idle system waits for
nothing. PostgreSQL groups concurrent commits' WAL flushes itself, so there each transaction is
its own (`engine.begin()`).
"""
import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from contextvars import ContextVar

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.platform.last_writes import written_last

MAX_MEMBERS = 64
_GROUPS: "weakref.WeakKeyDictionary[object, CommitGroups]" = weakref.WeakKeyDictionary()
_inside: ContextVar[object | None] = ContextVar("polku_commit_group", default=None)


class NestedTransaction(RuntimeError):
    """A write transaction opened inside another of the same database would wait for itself."""


@contextlib.asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A write transaction on `engine`: committed when the block ends, rolled back on an error."""
    if engine.dialect.name != "sqlite":
        async with engine.begin() as connection, written_last(connection):
            yield connection
        return
    groups = _GROUPS.get(engine.sync_engine)
    if groups is None:
        groups = _GROUPS[engine.sync_engine] = CommitGroups(engine)
    async with groups.member() as connection:
        yield connection


# Each a single hand-over to SQLAlchemy's greenlet: one costs ~15 µs of CPU, a third of an empty group's.
def _begin_immediate(connection: Connection) -> None:
    """SQLAlchemy's transaction, and SQLite's with the write lock from the start: reads and writes of
    the group see one snapshot, and no other process's commit in between can make a later write fail
    (SQLITE_BUSY_SNAPSHOT)."""
    connection.begin()
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _commit_and_close(connection: Connection) -> None:
    try:
        connection.commit()
    except BaseException:
        # A COMMIT that fails (a deferred constraint, a full disk) can leave SQLite's transaction
        # open: the connection goes, and with it whatever the group wrote.
        connection.invalidate()
        raise
    finally:
        connection.close()


class _Group:
    def __init__(self, connection: AsyncConnection):
        self.connection = connection
        self.members = 0  # members whose changes are in the transaction
        self.committed: asyncio.Future = asyncio.get_running_loop().create_future()
        self.broken: BaseException | None = None  # a failure that spoils the whole transaction
        # (with members, they fail with it; the first member's own failure only rolls it back)


class CommitGroups:
    def __init__(self, engine: AsyncEngine, max_members: int = MAX_MEMBERS):
        # Weakly: _GROUPS is keyed by the engine, which a strong reference here would keep forever.
        self.engine, self.max_members = weakref.proxy(engine), max_members
        self._turn = asyncio.Lock()  # FIFO: whoever waits longest writes next
        self._waiting = 0
        self._group: _Group | None = None

    @contextlib.asynccontextmanager
    async def member(self) -> AsyncIterator[AsyncConnection]:
        if _inside.get() is self:
            raise NestedTransaction("a write transaction inside another on the same SQLite database")
        self._waiting += 1
        try:
            await self._turn.acquire()
        finally:
            self._waiting -= 1
        token = _inside.set(self)
        group: _Group | None = None
        try:
            group = self._group or await self._open()
            # The first member needs no savepoint: if it fails, the whole transaction is rolled back.
            savepoint = await group.connection.begin_nested() if group.members else None
            try:
                async with written_last(group.connection):
                    yield group.connection
            except BaseException as failure:
                if savepoint is None:
                    group.broken = failure
                else:
                    try:
                        await savepoint.rollback()
                    except BaseException as error:
                        group.broken = error
                raise
            else:
                try:
                    if savepoint is not None:
                        await savepoint.commit()
                    group.members += 1
                except BaseException as error:
                    group.broken = error
                    raise
        finally:
            _inside.reset(token)
            if group is None:
                self._turn.release()
            else:
                await self._pass_turn(group)
        await asyncio.shield(group.committed)

    async def _open(self) -> _Group:
        connection = await self.engine.connect()
        try:
            await connection.run_sync(_begin_immediate)
        except BaseException:
            await connection.close()
            raise
        self._group = _Group(connection)
        return self._group

    async def _pass_turn(self, group: _Group) -> None:
        """Let the next one join the group, or, with nobody waiting (or the group full), end it."""
        if self._waiting and group.members < self.max_members and group.broken is None:
            self._turn.release()
            return
        self._group = None
        try:
            if group.broken is not None:
                await group.connection.rollback()
                raise group.broken
            await group.connection.run_sync(_commit_and_close)
            group.committed.set_result(None)
        except BaseException as error:
            if not group.connection.closed:  # a broken group's: its connection goes too, as a failed COMMIT's
                await group.connection.invalidate()
            if group.members:
                group.committed.set_exception(error)
            else:
                group.committed.set_result(None)  # nobody's changes were in it
        finally:
            try:
                if not group.connection.closed:  # (after a commit, or a failed one, it is)
                    await group.connection.close()
            finally:
                self._turn.release()
