"""One SQL database per service: SQLite by default, PostgreSQL (asyncpg) in production."""
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.platform import sqlite_on_loop

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x706F6C6B75  # "polku": the advisory lock a migration holds on PostgreSQL


def create_engine(url: str, statements_on_loop: bool = True, sqlite_busy_timeout_s: float = 30.0) -> AsyncEngine:
    """`statements_on_loop`: SQLite statements run on the event loop's thread (sqlite_on_loop.py);
    rebuild turns it off, to let its big inserts run beside the decoding of the next batch.
    `sqlite_busy_timeout_s`: how long a statement waits for another writer's lock before it fails."""
    # A statement's parameters never reach a log or an error text: payroll's hold wages.
    options = {"hide_parameters": True}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        if statements_on_loop:
            engine = create_async_engine(url, module=sqlite_on_loop.DBAPI,
                                         async_creator=lambda: sqlite_on_loop.connect(path, sqlite_busy_timeout_s),
                                         **options)
        else:
            engine = create_async_engine(url, connect_args={"timeout": sqlite_busy_timeout_s}, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, **options)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL, not NORMAL: a command we answered must survive a power loss (see DESIGN.md).
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Deleted content is overwritten with zeros, not left in free pages: intake's vault deletes a
    # client's key and ciphertext on erasure (crypto-shredding), and no copy may stay in the file.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


async def migrate(engine: AsyncEngine, service_migrations: Path | None = None) -> None:
    """Bring the database to the newest schema: the platform's tables, then the service's own."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    locations = [str(MIGRATIONS / "versions")]
    if service_migrations is not None:
        locations.append(str(service_migrations))
    config.set_main_option("version_locations", " ".join(locations))
    config.set_main_option("path_separator", "space")

    def upgrade(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")

    async with engine.begin() as connection:
        # Instances starting at once take turns: the first migrates, the others then find nothing to do.
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        else:  # SQLite: the write lock before the schema is read
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
        await connection.run_sync(upgrade)
