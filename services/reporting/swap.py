"""A rebuild's new tables, and the swap that puts them in place of the live ones in one transaction.

Every table of `PROJECTION_TABLES` gets a new twin (`<name>_rebuild`: the same columns and keys, no
secondary indexes but a tally's index of its empty groups, which each batch deletes by) that the
rebuild fills while the live tables go on serving reports and taking the live consumer's events. The swap, in one transaction: each live table is dropped (its indexes with it),
its twin takes its name, and the live table's indexes are built on it under their own names. Index
and constraint names are unique in the whole database on both SQLite and PostgreSQL, so the twin
cannot carry them while the live table exists: SQLite renames a table's automatic key index with the
table, and on PostgreSQL the twin's key index and any other relation named after it are renamed here.

`hold` and `take` are the projection lock, one writer of the projections at a time: the live consumer
holds it from before it reads the rows it will replace until its commit, and the swap from before it
reads how far the stream goes until its own commit, so no live transaction commits in between. Live
instances take turns too, as they must on SQLite anyway: folding the same aggregate at once, one could
leave an event waiting for a version the other was applying, and nothing would wake it.
"""
from sqlalchemy import MetaData, Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.tables import PROJECTION_TABLES, TALLY_TABLES, empty_groups

SUFFIX = "_rebuild"
PROJECTION_LOCK = int.from_bytes(b"reports")  # the key of the advisory lock on PostgreSQL


def new_tables(dialect: str, tables: tuple[Table, ...] = PROJECTION_TABLES) -> dict[Table, Table]:
    """Per live projection table, its twin for a rebuild on a database of `dialect`."""
    metadata = MetaData()
    twins = {}
    for table in tables:
        twin = table.to_metadata(metadata, name=table.name + SUFFIX)
        twin.indexes.clear()  # built at the swap under the live table's index names; cheaper after the rows, too
        if table in TALLY_TABLES:  # but a batch of the rebuild deletes a twin tally's empty groups by this one
            empty_groups(twin)
        if dialect == "postgresql":  # where a constraint's name is an index's, unique in the schema
            for constraint in twin.constraints:
                if isinstance(constraint.name, str):  # a name given in tables.py: renamed back at the swap
                    constraint.name = constraint.name + SUFFIX
        twins[table] = twin
    return twins


async def create(connection: AsyncConnection, twins: dict[Table, Table]) -> None:
    """Empty twins: what a rebuild that failed or was killed left is dropped first."""
    def create_all(sync_connection) -> None:
        for twin in twins.values():
            twin.drop(sync_connection, checkfirst=True)
            twin.create(sync_connection)

    await connection.run_sync(create_all)


async def hold(connection: AsyncConnection) -> None:
    """The projection lock for the live consumer's transaction, until it ends. On SQLite the unit of
    work's transaction holds the database's one write lock from its start (`BEGIN IMMEDIATE`,
    services/platform/commit_groups.py), which is the lock the swap takes."""
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PROJECTION_LOCK})


async def take(connection: AsyncConnection) -> None:
    """The projection lock, as the first statement of the swap's transaction."""
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PROJECTION_LOCK})
    else:
        await connection.exec_driver_sql("BEGIN IMMEDIATE")


async def swap_in(connection: AsyncConnection, twins: dict[Table, Table]) -> None:
    """In the caller's transaction, which holds the projection lock: each twin replaces its live table."""
    quote = connection.dialect.identifier_preparer.quote
    for table, twin in twins.items():
        await connection.run_sync(lambda sync_connection, table=table: table.drop(sync_connection, checkfirst=True))
        await connection.exec_driver_sql(f"ALTER TABLE {quote(twin.name)} RENAME TO {quote(table.name)}")
        if connection.dialect.name == "postgresql":
            await _rename_relations_named_after(connection, twin.name, table.name)
            # SQLite keeps constraint names in the table's text only, where they need not be unique.
            for constraint in twin.constraints:
                if isinstance(constraint.name, str):
                    await connection.exec_driver_sql(
                        f"ALTER TABLE {quote(table.name)} RENAME CONSTRAINT {quote(constraint.name)} "
                        f"TO {quote(constraint.name.removesuffix(SUFFIX))}")
        for index in twin.indexes:  # the twin's own (a tally's empty groups), under the twin's name
            await connection.exec_driver_sql(f"DROP INDEX IF EXISTS {quote(index.name)}")
        for index in table.indexes:
            await connection.run_sync(index.create)


async def _rename_relations_named_after(connection: AsyncConnection, old: str, new: str) -> None:
    """PostgreSQL names a table's key index (and its unique constraints' indexes, its serial sequences)
    after the table, and keeps those names when the table is renamed."""
    quote = connection.dialect.identifier_preparer.quote
    found = await connection.execute(text(
        "SELECT c.relname, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('i', 'S') AND starts_with(c.relname, :prefix)"),
        {"prefix": old + "_"})
    for name, kind in found.all():
        renamed = new + name[len(old):]
        await connection.exec_driver_sql(
            f"ALTER {'INDEX' if kind == 'i' else 'SEQUENCE'} {quote(name)} RENAME TO {quote(renamed)}")
