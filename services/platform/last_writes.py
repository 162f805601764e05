"""Writes a transaction does last, just before its commit.

A row that every transaction of a service updates (the audit chain's head, employer's revision
counter of an area) is locked from that UPDATE until the commit: on PostgreSQL the service's other
transactions queue behind it. Taken in the middle of a request, or at a consumer batch's first
event, the lock was held across every statement after it; written last, it is held for a statement
or two and the commit.

A write transaction (services/platform/commit_groups.py `transaction`) collects its last writes here
by key, and runs them, in the order of their keys (so two transactions never take two such locks in
opposite orders), when its block ends without an error; an error drops them with the rest.
"""
import contextlib
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection


class LastWrite(Protocol):
    async def write(self, connection: AsyncConnection) -> None: ...


Write = TypeVar("Write", bound=LastWrite)
# Keyed by the root transaction: a commit group's members share it, one after the other.
_PENDING: "weakref.WeakKeyDictionary[object, dict[str, LastWrite]]" = weakref.WeakKeyDictionary()


class OutsideTransaction(RuntimeError):
    """A last write asked for on a connection whose transaction would never run it."""


def _root(connection: AsyncConnection) -> object:
    return connection.sync_connection.get_transaction()


def last_write(connection: AsyncConnection, key: str, new: Callable[[], Write]) -> Write:
    """This transaction's last write under `key`, made by `new` the first time it is asked for."""
    writes = _PENDING.get(_root(connection))
    if writes is None:
        raise OutsideTransaction(f"{key} is written just before the commit: open the transaction with "
                                 "services.platform.commit_groups.transaction")
    if (write := writes.get(key)) is None:
        write = writes[key] = new()
    return write


@contextlib.asynccontextmanager
async def written_last(connection: AsyncConnection) -> AsyncIterator[None]:
    """Around a write transaction's block: its last writes run when the block ends without an error."""
    root = _root(connection)
    _PENDING[root] = {}
    try:
        yield
        writes = _PENDING.get(root, {})
        for key in sorted(writes):
            await writes[key].write(connection)
    finally:
        _PENDING.pop(root, None)
