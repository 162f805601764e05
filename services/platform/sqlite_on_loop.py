"""SQLite statements on the event loop's own thread; only commits go to aiosqlite's worker thread.

aiosqlite runs every call (cursor, execute, fetch, close) on its worker thread, and each hand-over
costs ~80 µs of CPU in thread switches and loop wake-ups: ~300 µs a statement, more than the work
itself (measured here, 2026-11). A statement on SQLite's own page cache takes microseconds, so it
runs where it is awaited. A commit waits for fsync (synchronous=FULL), so it still goes to the
worker thread and the loop serves others meanwhile.

The loop must never wait on SQLite's lock, which another transaction of this same process may hold
while it waits for its commit: SQLite's busy timeout is 0 here, and a statement that finds the
database locked is tried again after an asynchronous sleep, for up to `busy_timeout_s`.
"""
import asyncio
import logging
import sqlite3
from functools import partial

import aiosqlite

log = logging.getLogger(__name__)

RETRY_S = 0.001
BUSY = sqlite3.SQLITE_BUSY


class SqliteOnLoop(aiosqlite.Connection):
    def __init__(self, database: str, busy_timeout_s: float):
        # check_same_thread=False: made on the worker thread, used on the loop's too.
        super().__init__(lambda: sqlite3.connect(database, timeout=0, check_same_thread=False), iter_chunk_size=64)
        self.busy_timeout_s = busy_timeout_s

    async def _execute(self, fn, *args, **kwargs):
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        on_worker = fn == self._connection.commit
        if log.isEnabledFor(logging.DEBUG):  # what aiosqlite logs of each call, statement and all
            log.debug("executing %s", partial(fn, *args, **kwargs))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.busy_timeout_s
        while True:
            try:
                return await super()._execute(fn, *args, **kwargs) if on_worker else fn(*args, **kwargs)
            except sqlite3.OperationalError as error:
                # Only plain SQLITE_BUSY: a stale snapshot (BUSY_SNAPSHOT) cannot succeed by waiting.
                if error.sqlite_errorcode != BUSY or loop.time() > deadline:
                    raise
            await asyncio.sleep(RETRY_S)


async def connect(database: str, busy_timeout_s: float = 30.0) -> SqliteOnLoop:
    return await SqliteOnLoop(database, busy_timeout_s)
