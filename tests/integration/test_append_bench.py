"""make bench's append layers write real rows: the sqlite3 floor and the platform's transaction each write
every command's events, and the trigger their outbox rows, so the layers compare like with like."""
import sqlite3

from tests.bench.append_per_command import EVENTS, layers


async def test_each_layer_writes_every_commands_events_and_their_outbox_rows(tmp_path):
    figures = await layers(tmp_path, 10)
    assert set(figures) == {"sqlite3_alone", "platform_transaction", "unit_of_work"}
    assert all(cpu_us > 0 for cpu_us in figures.values())
    with sqlite3.connect(tmp_path / "append-layers.db") as written:
        assert written.execute("SELECT count(*) FROM events").fetchone()[0] == 2 * 10 * len(EVENTS)
        assert written.execute("SELECT count(*) FROM outbox").fetchone()[0] == 2 * 10 * len(EVENTS)
    with sqlite3.connect(tmp_path / "append-layers-unit.db") as written:
        assert written.execute("SELECT count(*) FROM outbox").fetchone()[0] == 10 * len(EVENTS)
