"""Which errors are an outage of the database or the bus rather than a fault of the message at hand.

An outage passes by itself: a consumer waits and tries the same messages again, and never counts it
against a message's deliveries (a PostgreSQL failover or a long SQLite lock is not a poison message).
"""
import sqlite3

from nats.errors import ConnectionClosedError, NoServersError, OutboundBufferLimitError, StaleConnectionError
from nats.errors import TimeoutError as NatsTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError

# SQLSTATE classes of PostgreSQL that a retry can outlive: 08 connection exception, 53 insufficient
# resources, 57 operator intervention (admin shutdown, crash, cannot connect now), 40 serialization
# failure and deadlock; 55000 is a database that is not accepting connections for now.
TRANSIENT_SQLSTATE_CLASSES = ("08", "53", "57", "40")
TRANSIENT_SQLSTATES = ("55000",)
# SQLite: another writer holds the lock, or the file could not be read or written for the moment.
TRANSIENT_SQLITE = ("database is locked", "database table is locked", "disk i/o error", "unable to open database")
BUS_ERRORS = (ConnectionClosedError, NoServersError, OutboundBufferLimitError, StaleConnectionError, NatsTimeoutError)


def is_outage(error: BaseException) -> bool:
    """True for an error of the database or the bus that trying again later can outlive."""
    for cause in _chain(error):
        if isinstance(cause, (ConnectionError, TimeoutError, *BUS_ERRORS)):
            return True
        if isinstance(cause, DBAPIError) and (cause.connection_invalidated or isinstance(cause, InterfaceError)):
            return True
        if isinstance(cause, sqlite3.OperationalError):
            return any(text in str(cause).lower() for text in TRANSIENT_SQLITE)
        sqlstate = getattr(cause, "sqlstate", None)
        if isinstance(sqlstate, str):
            return sqlstate.startswith(TRANSIENT_SQLSTATE_CLASSES) or sqlstate in TRANSIENT_SQLSTATES
        if isinstance(cause, OSError) and not isinstance(cause, FileNotFoundError):
            return True
    return False


def _chain(error: BaseException):
    """The error and what it wraps: SQLAlchemy keeps the driver's error in `orig`, asyncpg's adapter in `__cause__`."""
    seen: set[int] = set()
    stack = [error]
    while stack:
        current = stack.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack += [getattr(current, "orig", None), current.__cause__, current.__context__]
