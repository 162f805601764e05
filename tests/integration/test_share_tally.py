"""The municipal share's inputs take a client's and their placements' events in any order, live and in
rebuild, and the report from its tally equals the per-client reference over the same database."""
import asyncio
import contextlib
import logging
from datetime import date
from uuid import uuid4

import sqlalchemy

from contracts.events.intake import EntryFacts, EntryFactsCorrected, EntryFactsRecorded
from services.platform.database import create_engine
from services.reporting.rebuild import rebuild
from services.reporting.reports.document import Scope
from services.reporting.reports.municipal_share import municipal_share_by_client, municipal_share_by_month
from services.reporting.service import SERVICE as REPORTING
from services.reporting import share_recount
from services.reporting.share_recount import recount_if_stale
from services.reporting.tables import share_inputs, share_tally
from tests.integration.follow_up_history import _placement, returning_client
from tests.integration.histories import envelope_of, projections_of
from tests.integration.probe import publish
from tests.support import BOTH_DATABASES, caught_up, eventually, rebuild_engine

pytestmark = BOTH_DATABASES


def facts(days: int) -> EntryFacts:
    return EntryFacts(labour_market_subsidy_days=days, unemployed_months=14, in_multisectoral_service=False,
                      in_employment_promoting_service=False, priority_groups=(), labour_market_status="unemployed",
                      education_level="isced_3", disability="no", migrant_or_minority="no", other_disadvantage="no")


def histories() -> list[list]:
    """Per aggregate, its events in version order."""
    returning, steady, corrected = uuid4(), uuid4(), uuid4()
    # Two periods: the first ends in studies, the second (its facts corrected) in work.
    first_period, second_period = (returning_client(returning, "kemi", [
        (date(2024, 11, 4), date(2025, 2, 3), "in_education_or_training"),
        (date(2025, 3, 3), date(2025, 9, 15), "employed_company")])[start:start + 4] for start in (0, 4))
    returning_events = [*first_period, EntryFactsRecorded(client_id=returning, period=1, facts=facts(280)),
                        *second_period, EntryFactsRecorded(client_id=returning, period=2, facts=facts(298)),
                        EntryFactsCorrected(client_id=returning, period=2, facts=facts(305),
                                            corrected_on=date(2025, 3, 10))]
    steady_events = [*returning_client(steady, "kemi", [(date(2024, 12, 9), date(2026, 1, 1), "unemployed")])[:3],
                     EntryFactsRecorded(client_id=steady, period=1, facts=facts(999))]
    corrected_events = [*returning_client(corrected, "kemi", [(date(2025, 1, 8), date(2025, 1, 9), "other")])[:3],
                        EntryFactsRecorded(client_id=corrected, period=1, facts=facts(1000))]
    placements = [
        _placement(steady, "pay_subsidised_work", "company", date(2025, 2, 12), (date(2025, 5, 3), "completed"))[1],
        _placement(steady, "work_trial", "company", date(2025, 6, 2), (date(2025, 7, 1), "completed"))[1],  # unpaid
        _placement(returning, "gig_work", "association", date(2025, 4, 5))[1],  # goes on until the exit to work
        _placement(corrected, "open_market", "company", date(2025, 1, 11), (date(2025, 1, 12), "other"))[1]]
    return [returning_events, steady_events, corrected_events, *placements]


async def share_rows(engine) -> list[dict]:
    async with engine.connect() as connection:
        return sorted((dict(row) for row in (await connection.execute(share_inputs.select())).mappings()),
                      key=lambda row: row["client_id"])


async def test_the_share_inputs_take_events_in_any_order_and_the_tally_equals_the_reference(start_service, nc):
    reporting = await start_service(REPORTING)
    js = nc.jetstream()
    envelopes = [[envelope_of(event, version) for version, event in enumerate(history, start=1)]
                 for history in histories()]
    for history in reversed(envelopes):  # placements before their clients, each aggregate's last event first
        for envelope in reversed(history):
            await publish(js, envelope)

    await eventually(lambda: caught_up(reporting), what="reporting took every event")
    live = await share_rows(reporting.engine)
    assert len(live) == 3 and sum(row["placements"].count(";") for row in live) == 4
    returning = next(row for row in live if row["period"] == 2)
    assert (returning["referred_on"], returning["subsidy_days_at_entry"], returning["exit_status"]) == (
        date(2025, 3, 3), 305, "employed_company"), "the latest period, its correction and its exit"

    async with reporting.engine.connect() as connection:
        for until in (date(2025, 1, 31), date(2025, 3, 30), date(2025, 6, 1), date(2025, 9, 20), date(2026, 12, 31)):
            for first_day in (None, date(2025, 4, 1)):
                from_tally = await municipal_share_by_month(connection, Scope("kemi", first_day, until), until)
                first_month = first_day.strftime("%Y-%m") if first_day else None
                assert from_tally == await municipal_share_by_client(connection, "kemi", until, first_month)
                assert from_tally or first_day is not None and until < first_day
        assert sum(figures[3] for figures in (await municipal_share_by_month(
            connection, Scope("kemi"), date(2026, 12, 31))).values()) > 0, "employment saved something"

    async with reporting.engine.begin() as connection:  # cells of other rules, and none of these: every client
        reference = await municipal_share_by_client(connection, "kemi", date(2026, 12, 31), None)
        await connection.execute(share_tally.update().where(share_tally.c.record == "first")
                                 .values(rules=share_tally.c.rules + 1))
        assert await municipal_share_by_month(connection, Scope("kemi"), date(2026, 12, 31)) == reference
        await connection.execute(share_tally.delete())
        assert await municipal_share_by_month(connection, Scope("kemi"), date(2026, 12, 31)) == reference
        await connection.rollback()

    everything = await projections_of(reporting.engine)
    await reporting.stop()
    await rebuild(reporting.engine, nc, "POLKU", batch_size=3, show_progress=False)
    assert await projections_of(reporting.engine) == everything, "rebuild equals live, the share's tally too"
    async with rebuild_engine(reporting.engine) as engine:  # its writes in one hand-over to SQLite's thread
        await rebuild(engine, nc, "POLKU", batch_size=3, show_progress=False)
    assert await projections_of(reporting.engine) == everything, "and so does `polku rebuild`'s engine"



async def tally_rows(engine) -> list[tuple]:
    async with engine.connect() as connection:
        return sorted(map(tuple, await connection.execute(share_tally.select())))


async def test_cells_of_other_rules_are_counted_anew_from_the_inputs_when_reporting_starts(start_service, nc,
                                                                                             caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger="services.reporting.share_recount")
    reporting = await start_service(REPORTING)
    js = nc.jetstream()
    for history in histories():
        for version, event in enumerate(history, start=1):
            await publish(js, envelope_of(event, version))
    await eventually(lambda: caught_up(reporting), what="reporting took every event")
    current, url = await tally_rows(reporting.engine), reporting.settings.database_url
    assert current, "the clients have cells"
    await reporting.stop()

    async with reporting.engine.begin() as connection:  # as an earlier rule file left them, amounts and all
        await connection.execute(share_tally.update().where(share_tally.c.record == "first")
                                 .values(rules=share_tally.c.rules + 1))
        await connection.execute(share_tally.update().values(cells=share_tally.c.cells * 3))
    reporting = await start_service(REPORTING, database_url=url)
    assert await tally_rows(reporting.engine) == current, "the cells the live projection made under these rules"
    assert "counted anew" in caplog.text

    caplog.clear()
    async with reporting.engine.connect() as connection:
        from_tally = await municipal_share_by_month(connection, Scope("kemi"), date(2026, 12, 31))
        assert from_tally == await municipal_share_by_client(connection, "kemi", date(2026, 12, 31), None)
    assert "does not follow the rule file" not in caplog.text, "the report reads the tally again"

    await reporting.stop()
    reporting = await start_service(REPORTING, database_url=url)  # cells current: nothing to count
    assert "counted anew" not in caplog.text and await tally_rows(reporting.engine) == current
    await reporting.stop()

    async with reporting.engine.begin() as connection:
        await connection.execute(share_tally.update().values(rules=share_tally.c.rules + 1))
    # Another instance starts while the first counts: it must wait for the first's cells, not count too.
    other, checked = create_engine(url), asyncio.Event()
    sqlalchemy.event.listen(other.sync_engine, "before_cursor_execute",
                            lambda _connection, _cursor, statement, *_: "rules !=" in statement and checked.set())
    counting = share_recount.recount

    async def recount_once_the_other_checked(connection):
        with contextlib.suppress(TimeoutError):  # it never does where it waits for the lock
            await asyncio.wait_for(checked.wait(), 1.0)
        return await counting(connection)

    monkeypatch.setattr(share_recount, "recount", recount_once_the_other_checked)
    try:
        first = asyncio.create_task(recount_if_stale(reporting.engine))
        await asyncio.sleep(0.2)
        await asyncio.gather(first, recount_if_stale(other))
    finally:
        await other.dispose()
    assert await tally_rows(reporting.engine) == current
