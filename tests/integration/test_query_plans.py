"""The statements run for every commit or batch find their rows by a key on SQLite, whose services'
databases are never analysed: none scans a table that only grows (the relay's pending rows were once a
scan of the whole event log after every commit, and reporting's empty tally groups a scan of the tally
in every batch that moved a row out of one)."""
import sqlite3
from dataclasses import replace

import pytest
from sqlalchemy import event

from services.pathway import case_workers
from services.pathway.service import SERVICE as PATHWAY
from services.platform.database import create_engine, migrate
from services.platform.event_store import LOAD_HISTORIES, LOAD_HISTORY
from services.platform.relay import DELETE_SENT, PENDING
from services.platform.unit_of_work import PROCESSED_AMONG
from services.reporting import swap
from services.reporting.projections import PROJECTORS
from services.reporting.service import SERVICE as REPORTING

GROWING = ("events", "inbox")
STATEMENTS = {
    "relay: pending rows": (PENDING, {"batch_size": 1000}),
    "relay: delete sent": (DELETE_SENT, {"positions": [1, 2]}),
    "unit of work: an aggregate's history": (LOAD_HISTORY, {"aggregate_id": "a"}),
    "consumer: inbox lookup": (PROCESSED_AMONG, {"consumer": "c", "event_ids": ["a", "b"]}),
    "consumer batch: the histories it will read": (LOAD_HISTORIES, {"aggregate_ids": ["a", "b"]}),
}
PATHWAY_STATEMENTS = {
    "a batch's clients": (case_workers.OWNERS_AMONG, {"clients": ["a", "b"]}),
    "an event's client": (case_workers.OWNER, {"client": "a"}),
    "a case worker noted": (case_workers.NOTE, {"client": "a", "area": "kemi", "case_worker": "c", "period": 1}),
}


TALLIES = {tally.table.name: tally for projectors in PROJECTORS.values() for projector, _ in projectors
           for tally in projector.tallies}


async def plan_of(database, migrations, statement, parameters, twins=None) -> list[str]:
    """SQLite's plan of the statement as the platform's engine sends it, with these parameters (SQL
    text goes to the driver as it is; `twins`: a rebuild's tables, made first)."""
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    sent = []
    try:
        await migrate(engine, migrations)
        if twins:
            async with engine.begin() as connection:
                await swap.create(connection, twins)
        event.listen(engine.sync_engine, "before_cursor_execute", lambda *args: sent.append(args[2:4]))
        async with engine.begin() as connection:
            if isinstance(statement, str):
                await connection.exec_driver_sql(statement, parameters)
            else:
                await connection.execute(statement, parameters)
    finally:
        await engine.dispose()
    sql, bound = next((sql, bound) for sql, bound in sent if not sql.startswith(("BEGIN", "PRAGMA")))
    with sqlite3.connect(database) as connection:
        return [row[-1] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", bound)]


def scans(plan: list[str], tables) -> list[str]:
    return [step for step in plan if any(step.split(" ")[:2] == ["SCAN", table] for table in tables)]


@pytest.mark.parametrize("name", STATEMENTS)
async def test_no_statement_of_every_commit_scans_a_growing_table(name, tmp_path):
    plan = await plan_of(tmp_path / "plans.db", None, *STATEMENTS[name])
    assert not scans(plan, GROWING), f"{name}: {plan}"


@pytest.mark.parametrize("name", PATHWAY_STATEMENTS)
async def test_no_statement_of_pathways_batches_scans_its_clients_or_events(name, tmp_path):
    plan = await plan_of(tmp_path / "plans.db", PATHWAY.migrations, *PATHWAY_STATEMENTS[name])
    assert not scans(plan, ("case_workers", *GROWING)), f"{name}: {plan}"


@pytest.mark.parametrize("name", sorted(TALLIES))
async def test_a_tally_finds_its_empty_groups_without_a_scan(name, tmp_path):
    plan = await plan_of(tmp_path / "plans.db", REPORTING.migrations, TALLIES[name].delete_empty, {})
    assert not scans(plan, [name]), f"{name}: {plan}"


@pytest.mark.parametrize("name", sorted(TALLIES))
async def test_a_rebuilds_twin_tally_finds_its_empty_groups_without_a_scan(name, tmp_path):
    twins = swap.new_tables("sqlite")
    twin = replace(TALLIES[name], table=twins[TALLIES[name].table])
    plan = await plan_of(tmp_path / "plans.db", REPORTING.migrations, twin.delete_empty, {}, twins)
    assert not scans(plan, [twin.table.name]), f"{twin.table.name}: {plan}"
