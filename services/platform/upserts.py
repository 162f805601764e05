"""Update a row by its key, or insert it where there is none: the statements built once a shape.

Building an UPDATE per call (and its cache key) cost more than its SQL: consumers run one per
event, intake one per referral (py-spy, 2026-11-30). A shape is the table, the key's columns and
the columns set; values are bound parameters. A dialect's own upsert (ON CONFLICT) is not used:
the tables differ in which unique key decides, and both databases take this pair.
"""
import functools
from typing import Any

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection


async def upsert(connection: AsyncConnection, table: Table, key: dict[str, Any], values: dict[str, Any],
                 on_insert: dict[str, Any] | None = None) -> None:
    """Set `values` on the row with `key`; without such a row, insert key, values and `on_insert` (columns
    only a new row gets, e.g. the area a client was first heard of in)."""
    change, add = _statements(table, tuple(key), tuple(values))
    changed = await connection.execute(change, {f"key_{name}": value for name, value in key.items()}
                                       | {f"new_{name}": value for name, value in values.items()})
    if changed.rowcount == 0:
        await connection.execute(add, key | values | (on_insert or {}))


@functools.cache
def _statements(table: Table, key: tuple[str, ...], columns: tuple[str, ...]):
    change = (update(table).where(*(table.c[name] == bindparam(f"key_{name}") for name in key))
              .values({name: bindparam(f"new_{name}") for name in columns}))
    return change, insert(table)
