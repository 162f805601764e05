"""`polku rebuild` fills new tables and swaps them in at the end, in one transaction: reports show the old
figures until then and the whole new ones after, a rebuild that fails or is killed leaves the old tables
serving, and what the live consumer applies meanwhile is in the swapped tables. On both databases."""
import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import (CheckConstraint, Column, Index, Integer, MetaData, String, Table, UniqueConstraint, func,
                        inspect, select, update)

from services.reporting import rebuild as rebuild_module
from services.reporting import swap
from services.reporting.rebuild import rebuild
from services.reporting.service import SERVICE as REPORTING
from services.reporting.tables import PROJECTION_TABLES, clients
from tests.integration.histories import client_history, envelope_of, projections_of
from tests.integration.probe import publish
from tests.support import BOTH_DATABASES, caught_up, eventually

pytestmark = BOTH_DATABASES


async def publish_clients(js, count: int, versions: tuple[int, ...] = (1, 2, 3)) -> list:
    """`count` clients' referral, assessment and enrolment (or the `versions` of them) on the stream."""
    client_ids = [uuid4() for _ in range(count)]
    for client_id in client_ids:
        await publish_versions(js, client_id, versions)
    return client_ids


async def publish_versions(js, client_id, versions: tuple[int, ...]) -> None:
    history = client_history(client_id)
    for version in versions:
        await publish(js, envelope_of(history[version - 1], version))


async def make_stale(engine) -> None:
    """The live tables as a projection bug left them: what a rebuild is run to put right."""
    async with engine.begin() as connection:
        await connection.execute(update(clients).values(status="stale"))


async def test_reports_show_the_old_figures_until_the_swap_and_all_the_new_ones_after(engine_factory, nc):
    engine = await engine_factory("reporting", REPORTING.migrations)
    await publish_clients(nc.jetstream(), 20)
    await rebuild(engine, nc, "POLKU", batch_size=7, show_progress=False)
    new = await projections_of(engine)
    await make_stale(engine)
    old = await projections_of(engine)
    assert old != new

    rebuilding = asyncio.create_task(rebuild(engine, nc, "POLKU", batch_size=4, show_progress=False))
    seen = []
    while not rebuilding.done():
        seen.append(await projections_of(engine))
    assert await rebuilding == 60
    assert await projections_of(engine) == new
    assert len(seen) > 5, "the reports were read while the rebuild ran"
    partial = [snapshot for snapshot in seen if snapshot not in (old, new)]
    assert not partial, f"a report saw {len(partial[0]['report_clients'])} of 20 clients during the rebuild"


async def test_a_rebuild_that_fails_leaves_the_old_tables_serving_and_a_rerun_completes(engine_factory, nc,
                                                                                         monkeypatch):
    engine = await engine_factory("reporting", REPORTING.migrations)
    await publish_clients(nc.jetstream(), 3)
    await rebuild(engine, nc, "POLKU", show_progress=False)
    new = await projections_of(engine)
    await make_stale(engine)
    old = await projections_of(engine)

    written, calls = rebuild_module.write, 0

    async def write_failing_on_the_second_batch(connection, folded):
        """Fails after its rows are written and before the commit."""
        nonlocal calls
        calls += 1
        await written(connection, folded)
        if calls == 2:
            raise RuntimeError("disk full")

    monkeypatch.setattr(rebuild_module, "write", write_failing_on_the_second_batch)
    with pytest.raises(RuntimeError, match="disk full"):
        await rebuild(engine, nc, "POLKU", batch_size=3, show_progress=False)
    assert await projections_of(engine) == old
    monkeypatch.setattr(rebuild_module, "write", written)

    swapped_in = swap.swap_in

    async def swap_failing_after_the_tables_were_renamed(connection, twins):
        await swapped_in(connection, twins)
        raise RuntimeError("killed in the middle of the swap")

    monkeypatch.setattr(swap, "swap_in", swap_failing_after_the_tables_were_renamed)
    with pytest.raises(RuntimeError, match="middle of the swap"):
        await rebuild(engine, nc, "POLKU", batch_size=3, show_progress=False)
    assert await projections_of(engine) == old, "the swap is one transaction"
    monkeypatch.setattr(swap, "swap_in", swapped_in)

    assert await rebuild(engine, nc, "POLKU", batch_size=3, show_progress=False) == 9
    assert await projections_of(engine) == new


async def test_a_killed_rebuild_leaves_the_old_tables_serving(engine_factory, nc, nats_server, tmp_path):
    engine = await engine_factory("reporting", REPORTING.migrations)
    js = nc.jetstream()
    await publish_clients(js, 5)
    await rebuild(engine, nc, "POLKU", show_progress=False)
    await make_stale(engine)
    old = await projections_of(engine)
    await publish_clients(js, 400, versions=(1,))  # enough batches of 2 to be killed in the middle of

    env = os.environ | {"POLKU_NATS_URL": nats_server.url, "POLKU_VAR_DIR": str(tmp_path),
                        "POLKU_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    process = subprocess.Popen([Path(sys.executable).parent / "polku", "rebuild", "--batch-size", "2"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    twin = swap.new_tables(engine.dialect.name)[clients]

    async def rebuilding_half_way() -> bool:
        async with engine.connect() as connection:
            if not await connection.run_sync(lambda sync: inspect(sync).has_table(twin.name)):
                return False
            return (await connection.execute(select(func.count()).select_from(twin))).scalar_one() > 20

    try:
        await eventually(rebuilding_half_way, timeout_s=30, what="the rebuild half-way")
    finally:
        process.send_signal(signal.SIGKILL)
        _, errors = process.communicate(timeout=10)
    assert process.returncode == -signal.SIGKILL, errors.decode()
    assert await projections_of(engine) == old

    assert await rebuild(engine, nc, "POLKU", batch_size=50, show_progress=False) == 415
    assert len((await projections_of(engine))["report_clients"]) == 405


async def test_what_the_live_consumer_applies_during_a_rebuild_is_in_the_swapped_tables(
        start_service, engine_factory, nc, monkeypatch):
    reporting = await start_service(REPORTING)
    js = nc.jetstream()
    enrolled_later = await publish_clients(js, 10, versions=(1, 2))
    await eventually(lambda: caught_up(reporting), what="reporting caught up")
    taken = swap.take

    async def live_events_before_the_lock(connection):
        """Between the replay's end and the swap's lock: events the live consumer applies to the old tables."""
        for client_id in enrolled_later:
            await publish_versions(js, client_id, (3,))
        await publish_clients(js, 3)

        async def applied() -> bool:
            async with reporting.engine.connect() as live:
                versions = [version for (version,) in await live.execute(select(clients.c.version))]
            return sorted(versions) == [3] * 13

        await eventually(applied, what="the live consumer applied the new events")
        await taken(connection)

    monkeypatch.setattr(swap, "take", live_events_before_the_lock)
    replayed = await rebuild(reporting.engine, nc, "POLKU", batch_size=5, show_progress=False)
    await eventually(lambda: caught_up(reporting), what="reporting caught up")
    swapped = await projections_of(reporting.engine)

    clean = await engine_factory("clean", REPORTING.migrations)
    monkeypatch.setattr(swap, "take", taken)
    await rebuild(clean, nc, "POLKU", show_progress=False)
    assert swapped == await projections_of(clean)
    assert [row[-1] for row in swapped["report_clients"]] == [3] * 13
    assert replayed == 39, "the replay, and under the lock what had come since"


async def test_the_swapped_tables_have_the_schema_the_migrations_make(engine_factory, nc):
    """Every projection table reporting's migrations make is rebuilt, with its keys and indexes under their
    own names: a second rebuild finds no name taken by the first."""
    rebuilt = await engine_factory("reporting", REPORTING.migrations)
    migrated = await engine_factory("migrated", REPORTING.migrations)
    assert {name for name in await schema_of(migrated) if name.startswith("report_")} == {
        table.name for table in PROJECTION_TABLES}, "a projection table the rebuild would leave as it was"
    await publish_clients(nc.jetstream(), 2)
    for _ in range(2):
        await rebuild(rebuilt, nc, "POLKU", show_progress=False)
    assert await schema_of(rebuilt) == await schema_of(migrated)


async def schema_of(engine) -> dict:
    def read(sync_connection) -> dict:
        inspector = inspect(sync_connection)
        return {name: {
            "columns": [(column["name"], str(column["type"]), column["nullable"])
                        for column in inspector.get_columns(name)],
            "primary_key": inspector.get_pk_constraint(name),
            "indexes": sorted((index["name"], tuple(index["column_names"]), bool(index["unique"]))
                              for index in inspector.get_indexes(name)),
            "unique": sorted(((constraint["name"], tuple(constraint["column_names"]))
                              for constraint in inspector.get_unique_constraints(name)), key=str),
            "checks": sorted(((constraint["name"], constraint["sqltext"])
                              for constraint in inspector.get_check_constraints(name)), key=str),
        } for name in inspector.get_table_names()}

    async with engine.connect() as connection:
        return await connection.run_sync(read)


async def test_the_live_consumer_waits_while_the_swap_holds_the_lock(start_service, engine_factory, nc, monkeypatch):
    """An event that arrives while the swap runs is applied after it, to the new tables: applied to the old
    ones during the swap, and acked, it would be lost with them."""
    reporting = await start_service(REPORTING)
    js = nc.jetstream()
    await publish_clients(js, 3)
    await eventually(lambda: caught_up(reporting), what="reporting caught up")
    swapped_in = swap.swap_in

    async def swap_in_after_a_live_event(connection, twins):
        [arrived] = await publish_clients(js, 1, versions=(1,))
        await asyncio.sleep(1.5)  # the live consumer takes an event in milliseconds when nothing holds it up
        async with reporting.engine.connect() as live:
            rows = await live.execute(select(clients.c.client_id).where(clients.c.client_id == str(arrived)))
            assert rows.first() is None, "the live consumer applied an event while the swap held the lock"
        await swapped_in(connection, twins)

    monkeypatch.setattr(swap, "swap_in", swap_in_after_a_live_event)
    await rebuild(reporting.engine, nc, "POLKU", batch_size=4, show_progress=False)
    await eventually(lambda: caught_up(reporting), what="reporting caught up")
    swapped = await projections_of(reporting.engine)

    monkeypatch.setattr(swap, "swap_in", swapped_in)
    clean = await engine_factory("clean", REPORTING.migrations)
    await rebuild(clean, nc, "POLKU", show_progress=False)
    assert swapped == await projections_of(clean)
    assert len(swapped["report_clients"]) == 4


async def test_a_table_with_named_constraints_and_indexes_swaps_in_under_its_own_names(engine_factory):
    """What a projection table may declare (a named unique constraint, an unnamed one, a check, an index)
    comes through the swap, twice, as the table itself would create it."""
    probe = Table("report_probe", MetaData(), Column("probe_id", String(36), primary_key=True),
                  Column("code", String(8), nullable=False, unique=True), Column("reference", String(8)),
                  Column("area", String(8)), Column("version", Integer, nullable=False),
                  UniqueConstraint("reference", name="uq_report_probe_reference"),
                  CheckConstraint("version > 0", name="ck_report_probe_version"))
    Index("ix_report_probe_area", probe.c.area)
    swapped, created = await engine_factory("swapped"), await engine_factory("created")
    async with created.begin() as connection:
        await connection.run_sync(probe.create)
    async with swapped.begin() as connection:
        await connection.run_sync(probe.create)
    for round_ in range(2):
        twins = swap.new_tables(swapped.dialect.name, (probe,))
        async with swapped.begin() as connection:
            await swap.create(connection, twins)
            await connection.execute(twins[probe].insert().values(
                probe_id=str(round_), code=f"c{round_}", reference=f"r{round_}", area="kemi", version=1))
        async with swapped.begin() as connection:
            await swap.swap_in(connection, twins)
    assert await schema_of(swapped) == await schema_of(created)
    async with swapped.connect() as connection:
        assert (await connection.execute(select(probe.c.probe_id))).scalars().all() == ["1"]
