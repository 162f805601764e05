"""SQLite statements on the event loop's own thread, through SQLAlchemy's aiosqlite dialect.

aiosqlite runs every call (cursor, execute, fetch, close, commit) on a worker thread, and each
hand-over costs ~80 µs of CPU in thread switches and loop wake-ups: ~300 µs a statement, more than
the work itself. A statement on SQLite's page cache takes microseconds, so here it runs where it is
awaited; connecting, closing and committing still use aiosqlite's thread. A commit waits for its
fsync (synchronous=FULL), time in which the loop serves the requests of the next commit group
(commit_groups.py, docs/architecture.md 11).

SQLAlchemy's own adaptation of aiosqlite still awaits each cursor call (open, execute and fetch,
close), every await a greenlet switch and a few coroutines: measured 98 µs a one-row SELECT through
`AsyncConnection.execute`, against 27 µs through SQLAlchemy's synchronous pysqlite and 5 µs in
sqlite3 itself. So `DBAPI` here (which `database.create_engine` hands to SQLAlchemy's aiosqlite
dialect) gives SQLAlchemy a cursor that calls sqlite3 directly: only SQLAlchemy's one switch per
statement remains.

The loop must never wait on SQLite's lock, which another transaction of this same process may hold:
SQLite's busy timeout is 0 here, and a statement that finds the database locked is tried again after
an asynchronous sleep, for up to `busy_timeout_s`.
"""
import asyncio
import collections
import logging
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (AsyncAdapt_aiosqlite_connection, AsyncAdapt_aiosqlite_cursor,
                                                  AsyncAdapt_aiosqlite_dbapi)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

log = logging.getLogger(__name__)
RETRY_S = 0.001


class SqliteOnLoop(aiosqlite.Connection):
    def __init__(self, database: str, busy_timeout_s: float):
        # check_same_thread=False: made on aiosqlite's thread, used on the loop's.
        super().__init__(lambda: sqlite3.connect(database, timeout=0, check_same_thread=False), iter_chunk_size=64)
        self.busy_timeout_s = busy_timeout_s

    async def _execute(self, fn, *args, **kwargs):
        """aiosqlite's own calls (commit, rollback, close); statements go through OnLoopCursor below."""
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        if fn.__name__ == "commit":
            # The fsync of a commit, on aiosqlite's thread: meanwhile the loop serves the requests that
            # form the next commit group (commit_groups.py), which takes its turn after this commit.
            return await super()._execute(fn, *args, **kwargs)
        return fn(*args, **kwargs)


async def connect(database: str, busy_timeout_s: float = 30.0) -> SqliteOnLoop:
    return await SqliteOnLoop(database, busy_timeout_s)


async def _nothing() -> None:
    """Awaited once a statement: `AsyncConnection.execute` refuses one that awaited nothing (AwaitRequired)."""


def _until_not_busy(connection: SqliteOnLoop, fn, *args):
    """`fn(*args)` on the loop's thread, from inside SQLAlchemy's greenlet: a statement that finds the
    database locked by another process (or connection) waits asynchronously, for up to `busy_timeout_s`."""
    deadline = None
    while True:
        try:
            return fn(*args)
        except sqlite3.OperationalError as error:
            # Only plain SQLITE_BUSY: a stale snapshot (BUSY_SNAPSHOT) cannot succeed by waiting.
            if error.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                raise
            loop = asyncio.get_running_loop()
            deadline = deadline or loop.time() + connection.busy_timeout_s
            if loop.time() > deadline:
                raise
        await_(asyncio.sleep(RETRY_S))


class OnLoopCursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's cursor over sqlite3's own: no await between SQLAlchemy and SQLite."""

    __slots__ = ()
    _awaitable_cursor_close = False

    def __init__(self, adapt_connection: "OnLoopConnection"):
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = self._connection._conn.cursor()
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        if log.isEnabledFor(logging.DEBUG):  # the statement; never its parameters (wages, …)
            log.debug("executing %s", operation)
        try:
            _until_not_busy(self._connection, self._cursor.execute, operation, () if parameters is None else parameters)
            if self._cursor.description:
                self._rows = collections.deque(self._cursor.fetchall())
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        await_(_nothing())

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        try:
            _until_not_busy(self._connection, self._cursor.executemany, operation, seq_of_parameters)
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        await_(_nothing())

    def close(self) -> None:
        self._rows.clear()
        self._cursor.close()


class OnLoopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OnLoopCursor

    def commit(self) -> None:
        # Nothing written, nothing to wait for: a transaction that only read commits where it is,
        # not on aiosqlite's thread.
        if self._connection._connection and not self._connection._connection.in_transaction:
            return
        super().commit()

    def rollback(self) -> None:
        """Where it is, without an await: a rollback waits for no disk (and every connection going back
        to SQLAlchemy's pool rolls back)."""
        if self._connection._connection:
            try:
                self._connection._connection.rollback()
            except Exception as error:
                self._handle_exception(error)


class OnLoopDbapi(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *args: Any, **kwargs: Any) -> OnLoopConnection:
        creator = kwargs.pop("async_creator_fn")  # database.create_engine's: a SqliteOnLoop
        return OnLoopConnection(self, await_(creator(*args, **kwargs)))


DBAPI = OnLoopDbapi(aiosqlite, sqlite3)  # create_async_engine(module=…): the dialect stays aiosqlite's
