"""upsert: the row by its key is updated where it exists, inserted where not; `on_insert` only on insert."""
from sqlalchemy import Column, Integer, MetaData, String, Table, select

from services.platform.upserts import upsert
from tests.support import BOTH_DATABASES

pytestmark = BOTH_DATABASES

metadata = MetaData()
rows = Table("upsert_rows", metadata, Column("area", String(20), primary_key=True),
             Column("client", String(40), primary_key=True), Column("status", String(20)),
             Column("hours", Integer), Column("first_area", String(20)))


async def test_an_upsert_inserts_once_then_updates_that_row_by_its_whole_key(engine_factory):
    engine = await engine_factory()
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
        await upsert(connection, rows, {"area": "kemi", "client": "a"}, {"status": "referred", "hours": 0},
                     on_insert={"first_area": "kemi"})
        await upsert(connection, rows, {"area": "tornio", "client": "a"}, {"status": "enrolled", "hours": 5},
                     on_insert={"first_area": "tornio"})
        await upsert(connection, rows, {"area": "kemi", "client": "a"}, {"status": "exited"},
                     on_insert={"first_area": "elsewhere"})
        found = (await connection.execute(select(rows).order_by(rows.c.area))).all()
    assert [tuple(row) for row in found] == [("kemi", "a", "exited", 0, "kemi"),
                                             ("tornio", "a", "enrolled", 5, "tornio")]
