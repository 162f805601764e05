"""The statements the platform runs for every commit or batch find their rows by a key on SQLite, whose
services' databases are never analysed: none scans the event log or the inbox, which only grow (the
relay's pending rows were once a scan of the whole event log after every commit)."""
import sqlite3

import pytest
from sqlalchemy import event

from services.platform.database import create_engine, migrate
from services.platform.event_store import LOAD_HISTORY, QUEUE_FOR_RELAY
from services.platform.relay import DELETE_SENT, PENDING
from services.platform.unit_of_work import PROCESSED_AMONG

GROWING = ("events", "inbox")
STATEMENTS = {
    "relay: pending rows": (PENDING, {"batch_size": 1000}),
    "relay: delete sent": (DELETE_SENT, {"positions": [1, 2]}),
    "unit of work: an aggregate's history": (LOAD_HISTORY, {"aggregate_id": "a"}),
    "unit of work: queue for the relay": (QUEUE_FOR_RELAY, {"event_ids": ["a", "b"]}),
    "consumer: inbox lookup": (PROCESSED_AMONG, {"consumer": "c", "event_ids": ["a", "b"]}),
}


@pytest.mark.parametrize("name", STATEMENTS)
async def test_no_statement_of_every_commit_scans_a_growing_table(name, tmp_path):
    database = tmp_path / "plans.db"
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    sent = []
    try:
        await migrate(engine)
        event.listen(engine.sync_engine, "before_cursor_execute", lambda *args: sent.append(args[2:4]))
        statement, parameters = STATEMENTS[name]
        async with engine.begin() as connection:
            await connection.execute(statement, parameters)
    finally:
        await engine.dispose()
    sql, bound = next((sql, bound) for sql, bound in sent if not sql.startswith(("BEGIN", "PRAGMA")))
    with sqlite3.connect(database) as connection:
        plan = [row[-1] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", bound)]
    scans = [step for step in plan if any(step.split(" ")[:2] == ["SCAN", table] for table in GROWING)]
    assert not scans, f"{name}: {plan}"
