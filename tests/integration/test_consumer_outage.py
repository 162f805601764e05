"""An outage of the consumer's database is no fault of the messages: none is dead-lettered, no
delivery is used up, and the consumer goes on by itself when the database is back."""
import asyncio
import sqlite3
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy.engine import make_url

from services.platform import dead_letters
from services.platform.config import Settings
from tests.integration.probe import Probe, create_probe_table, enrolled_envelope, processed_ids, publish
from tests.support import BOTH_DATABASES, eventually


async def _lock(writer: sqlite3.Connection) -> None:
    """BEGIN EXCLUSIVE once a write of the service's own under way is done, waiting on the loop (the
    service runs in this process: a blocking wait would hold up the write it waits for)."""
    for _ in range(500):
        try:
            writer.execute("BEGIN EXCLUSIVE")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error):
                raise
            await asyncio.sleep(0.01)
    raise TimeoutError("the service's database stayed locked for 5 s")


@asynccontextmanager
async def database_outage(database_url: str):
    """PostgreSQL refuses connections and drops those it has (as in a failover); SQLite is locked by
    another writer for longer than the service waits for a lock."""
    url = make_url(database_url)
    if url.drivername.startswith("sqlite"):
        other_writer = sqlite3.connect(url.database, timeout=0, isolation_level=None)
        await _lock(other_writer)
        try:
            yield
        finally:
            other_writer.execute("ROLLBACK")
            other_writer.close()
        return
    admin = await asyncpg.connect(url.set(drivername="postgresql", database="postgres")
                                  .render_as_string(hide_password=False))
    try:
        await admin.execute(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS false')
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                            url.database)
        yield
    finally:
        await admin.execute(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS true')
        await admin.close()


@BOTH_DATABASES
async def test_an_outage_of_the_database_uses_up_no_delivery_and_the_consumer_resumes_by_itself(start_service, nc):
    probe = Probe()
    # Two deliveries and a short ack wait: before, the outage dead-lettered every message within ~2 s.
    runtime = await start_service(probe.definition(), max_deliver=2, ack_wait_s=1.0, sqlite_busy_timeout_s=0.3)
    await create_probe_table(runtime.engine)
    js = nc.jetstream()
    envelopes = [enrolled_envelope() for _ in range(5)]
    async with database_outage(runtime.settings.database_url):
        for envelope in envelopes:
            await publish(js, envelope)
        await asyncio.sleep(4)  # four ack waits, far more than the two deliveries allowed
        assert await dead_letters.list_all(js, "POLKU_DEADLETTER") == []
        info = await js.consumer_info("POLKU", "probe")
        assert info.num_redelivered == 0, "the held messages were kept alive, not redelivered"
    await eventually(lambda: _processed(runtime.engine, len(envelopes)), timeout_s=20,
                     what="every message applied once the database is back")
    assert sorted(await processed_ids(runtime.engine)) == sorted(str(envelope.id) for envelope in envelopes)
    assert await dead_letters.list_all(js, "POLKU_DEADLETTER") == []
    info = await js.consumer_info("POLKU", "probe")
    assert info.num_ack_pending == 0 and info.num_redelivered == 0


async def _processed(engine, count: int) -> bool:
    try:
        return len(await processed_ids(engine)) == count
    except Exception:
        return False


def test_the_default_retry_budget_outlasts_a_redelivery():
    settings = Settings(service="probe")
    assert settings.retry_budget_s > settings.ack_wait_s
