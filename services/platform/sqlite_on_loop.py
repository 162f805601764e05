"""SQLite statements on the event loop's own thread, through SQLAlchemy's aiosqlite dialect.

aiosqlite runs every call (cursor, execute, fetch, close, commit) on a worker thread, and each
hand-over costs ~80 µs of CPU in thread switches and loop wake-ups: ~300 µs a statement, more than
the work itself. A statement on SQLite's page cache takes microseconds, so here it runs where it is
awaited; connecting, closing and committing still use aiosqlite's thread. A commit waits for its
fsync (synchronous=FULL), time in which the loop serves the requests of the next commit group
(commit_groups.py, docs/architecture.md 11).

The loop must never wait on SQLite's lock, which another transaction of this same process may hold:
SQLite's busy timeout is 0 here, and a statement that finds the database locked is tried again after
an asynchronous sleep, for up to `busy_timeout_s`.
"""
import asyncio
import logging
import sqlite3

import aiosqlite

log = logging.getLogger(__name__)
RETRY_S = 0.001


class SqliteOnLoop(aiosqlite.Connection):
    def __init__(self, database: str, busy_timeout_s: float):
        # check_same_thread=False: made on aiosqlite's thread, used on the loop's.
        super().__init__(lambda: sqlite3.connect(database, timeout=0, check_same_thread=False), iter_chunk_size=64)
        self.busy_timeout_s = busy_timeout_s

    async def _execute(self, fn, *args, **kwargs):
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        if log.isEnabledFor(logging.DEBUG):  # the call and its statement; never its parameters (wages, …)
            statement = args[0] if args and isinstance(args[0], str) else ""
            log.debug("executing %s %s", getattr(fn, "__name__", fn), statement)
        if fn.__name__ == "commit":
            # The fsync of a commit, on aiosqlite's thread: meanwhile the loop serves the requests that
            # form the next commit group (commit_groups.py), which takes its turn after this commit.
            return await super()._execute(fn, *args, **kwargs)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.busy_timeout_s
        while True:
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as error:
                # Only plain SQLITE_BUSY: a stale snapshot (BUSY_SNAPSHOT) cannot succeed by waiting.
                if error.sqlite_errorcode != sqlite3.SQLITE_BUSY or loop.time() > deadline:
                    raise
            await asyncio.sleep(RETRY_S)


async def connect(database: str, busy_timeout_s: float = 30.0) -> SqliteOnLoop:
    return await SqliteOnLoop(database, busy_timeout_s)
