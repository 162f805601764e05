"""Many rows into a SQLite table in a few statements: INSERT ... VALUES (...), (...), … with as many rows
as SQLite's limit of bound parameters allows.

The sqlite3 module binds each row of an executemany holding Python's GIL and steps it without, so a
row costs two hand-overs of the GIL: while rebuild decodes the next batch on the main thread, each
hand-over waits for Python's switch interval and the writes crawl. A statement of a thousand rows
costs two hand-overs for all of them. (Rows as one JSON parameter unpacked by SQLite's json_each
avoided the hand-overs too, but json_extract took twice SQLite's own insert time, in every column.)

Row counts per statement are powers of two, so a table has a dozen distinct statements, which the
driver's cache of prepared statements keeps, rather than one per batch length.
"""
import sqlite3
from collections.abc import Sequence
from datetime import date
from functools import cache
from itertools import chain

import aiosqlite
from sqlalchemy import Date, Table
from sqlalchemy.ext.asyncio import AsyncConnection

MAX_PARAMETERS = 32766  # SQLite's SQLITE_MAX_VARIABLE_NUMBER since 3.32


Statement = tuple[str, tuple]


def inserts(table: Table, columns: Sequence[str], rows: Sequence[tuple], add_on_conflict: Sequence[str] = (),
            replace: bool = False) -> list[Statement]:
    """The statements that insert `rows`, values in the order of `columns`, for `run`. `add_on_conflict`:
    columns whose values are added to those of the row already stored under the same primary key (a
    tally), instead of failing. `replace`: a row stored under the same primary key is replaced (deleted
    first, as SQLite's REPLACE does)."""
    columns, add_on_conflict = tuple(columns), tuple(add_on_conflict)
    width, dates = len(columns), _date_positions(table, columns)
    most = 1 << (MAX_PARAMETERS // width).bit_length() - 1
    statements, start = [], 0
    while start < len(rows):
        count = min(most, 1 << (len(rows) - start).bit_length() - 1)
        values = list(chain.from_iterable(rows[start:start + count]))
        start += count
        # Only the Date columns' values are looked at: a check of every value cost more than the rest here.
        for position in dates:
            values[position::width] = [value.isoformat() if value.__class__ is date else value
                                       for value in values[position::width]]
        statements.append((_statement(table, columns, add_on_conflict, replace, count), tuple(values)))
    return statements


async def run(connection: AsyncConnection, statements: list[Statement]) -> None:
    """In order, in the caller's transaction. On aiosqlite's own thread (a rebuild's engine) all of them in
    one hand-over: a batch's write is ~100 statements (a power of two of rows each), and one at a time
    each waited for the event loop, busy decoding the next batch, to hand the thread the next one."""
    driver = (await connection.get_raw_connection()).driver_connection
    if type(driver) is aiosqlite.Connection:
        await driver._execute(_run, driver._conn, statements)  # aiosqlite's thread, as its own execute uses it
    else:  # statements on the event loop (services/platform/sqlite_on_loop.py): no hand-over to save
        for statement, values in statements:
            await connection.exec_driver_sql(statement, values)


def _run(sqlite_connection: sqlite3.Connection, statements: list[Statement]) -> None:
    for statement, values in statements:
        sqlite_connection.execute(statement, values)


@cache
def _date_positions(table: Table, columns: tuple[str, ...]) -> tuple[int, ...]:
    """Where the Date columns are among `columns`: sqlite3 binds a date as text only with an adapter, which
    Python 3.12 deprecates, so they go as ISO text, as SQLAlchemy writes them."""
    return tuple(position for position, name in enumerate(columns) if isinstance(table.c[name].type, Date))


@cache
def _statement(table: Table, columns: tuple[str, ...], add_on_conflict: tuple[str, ...], replace: bool,
               count: int) -> str:
    quote = _quote
    row = "(" + ", ".join("?" * len(columns)) + ")"
    text = (f"INSERT {'OR REPLACE ' if replace else ''}INTO {quote(table.name)} ({', '.join(map(quote, columns))}) "
            "VALUES " + ", ".join([row] * count))
    if add_on_conflict:
        keys = ", ".join(quote(column.name) for column in table.primary_key.columns)
        text += f" ON CONFLICT ({keys}) DO UPDATE SET " + ", ".join(
            f"{quote(name)} = {quote(table.name)}.{quote(name)} + excluded.{quote(name)}" for name in add_on_conflict)
    return text


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
