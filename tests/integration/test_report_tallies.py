"""The tallies the outcome report reads equal counting the projection rows themselves, whatever order the
events came in, live and after a rebuild."""
import random
from collections import Counter
from uuid import uuid4

import pytest
from sqlalchemy import select

from contracts.registry import decode
from services.reporting.projections import project
from services.reporting import rebuild as rebuild_module
from services.reporting.rebuild import rebuild
from services.reporting.service import SERVICE as REPORTING
from services.reporting.tables import (client_periods, client_tally, clients, enrolment_tally, invoice_tally, invoices,
                                       leaving_tally, first_placement_tally, first_placements, hire_tally,
                                       opening_tally, openings, placement_tally, placements)
from tests.integration.follow_up_history import follow_up_histories
from tests.integration.histories import client_history, envelope_of, projections_of
from tests.integration.probe import publish
from tests.support import BOTH_DATABASES, caught_up, eventually, rebuild_engine

pytestmark = BOTH_DATABASES


async def _rows(connection, table) -> list[dict]:
    return [dict(row) for row in (await connection.execute(select(table))).mappings()]


def _counted(rows: list[dict], group, amounts) -> dict[tuple, tuple]:
    """What each tally should hold, counted from the rows in Python."""
    sums: dict[tuple, Counter] = {}
    for row in rows:
        if (key := group(row)) is not None:
            for position, amount in enumerate(amounts(row)):
                sums.setdefault(key, Counter())[position] += amount
    return {key: tuple(counter[position] for position in range(len(counter))) for key, counter in sums.items()}


def _tallied(rows: list[dict], keys: list[str]) -> dict[tuple, tuple]:
    """What each tally holds: no group without rows may be left behind."""
    return {tuple(row[name] for name in keys): tuple(value for name, value in row.items() if name not in keys)
            for row in rows}


async def tallies_and_counts(engine) -> list[tuple[dict, dict]]:
    async with engine.connect() as connection:
        client_rows, placement_rows = await _rows(connection, clients), await _rows(connection, placements)
        opening_rows, first_rows = await _rows(connection, openings), await _rows(connection, first_placements)
        period_rows, invoice_rows = await _rows(connection, client_periods), await _rows(connection, invoices)
        pairs = [
            (invoice_tally, _counted(invoice_rows, lambda r: (r["employment_area"], r["issued_on"]), lambda r: (
                1, r["hundredths_of_hours"], r["amount_cents"], r["total_cents"], r["credited_total_cents"],
                r["paid_cents"], r["paid_net_cents"], r["open_cents"], r["open_cents"] if r["overdue_on"] else 0,
                r["reminders"]))),
            (enrolment_tally, _counted(period_rows, lambda r: (r["employment_area"], r["enrolled_on"])
                                       if r["enrolled_on"] else None, lambda r: (1,))),
            (leaving_tally, _counted(period_rows, lambda r: (r["employment_area"], r["exited_on"])
                                     if r["enrolled_on"] and r["exited_on"] else None, lambda r: (1,))),
            (client_tally, _counted(client_rows, lambda r: (r["employment_area"], r["referred_on"], r["municipality"],
                                                            r["status"]),
                                    lambda r: (1, int(r["enrolled_on"] is not None)))),
            (placement_tally, _counted(placement_rows, lambda r: (r["employment_area"], r["starts_on"], r["kind"],
                                                                  r["ending"] or "ongoing"),
                                       lambda r: (1, int(r["gig_hundredths_of_hours"] is not None),
                                                  r["gig_hundredths_of_hours"] or 0))),
            (hire_tally, _counted(placement_rows, lambda r: (r["employment_area"], r["ended_on"], r["employer_type"])
                                  if r["ending"] == "hired_by_employer" else None, lambda r: (1,))),
            (opening_tally, _counted(opening_rows, lambda r: (r["employment_area"], r["registered_on"], r["source"],
                                                              r["state"]), lambda r: (1,))),
            (first_placement_tally, _counted(
                first_rows, lambda r: (r["employment_area"], r["enrolled_on"],
                                       (r["first_placement_on"] - r["enrolled_on"]).days)
                if r["enrolled_on"] and r["first_placement_on"] and r["first_placement_on"] >= r["enrolled_on"]
                else None, lambda r: (1,))),
        ]
        return [(_tallied(await _rows(connection, table), [c.name for c in table.primary_key.columns]), counted)
                for table, counted in pairs]


async def test_tallies_count_the_rows_live_and_after_a_rebuild(start_service, nc):
    reporting = await start_service(REPORTING)
    js, shuffle = nc.jetstream(), random.Random(7)
    for area, events in follow_up_histories():
        envelopes = [envelope_of(event, version, area=area) for version, event in enumerate(events, start=1)]
        shuffle.shuffle(envelopes)  # versions out of order: some are held back, and come in later
        for envelope in envelopes + envelopes[:1]:  # and one duplicate
            await publish(js, envelope)
    await eventually(lambda: caught_up(reporting), what="reporting took every event")

    async def counts_match() -> bool:
        return all(tallied == counted for tallied, counted in await tallies_and_counts(reporting.engine))

    await eventually(counts_match, what="the tallies equal the rows counted")
    live = await tallies_and_counts(reporting.engine)
    assert all(counted for _, counted in live), "every tally has something to count"
    await reporting.stop()
    await rebuild(reporting.engine, nc, "POLKU", batch_size=5, show_progress=False)
    assert await tallies_and_counts(reporting.engine) == live
    async with rebuild_engine(reporting.engine) as engine:  # its writes in one hand-over to SQLite's thread
        await rebuild(engine, nc, "POLKU", batch_size=5, show_progress=False)
    assert await tallies_and_counts(reporting.engine) == live, "and so does `polku rebuild`'s engine"


@pytest.mark.parametrize("held_groups", [1, 12])
async def test_a_rebuild_writes_its_tallies_added_up_over_batches_as_live_counted_them(start_service, nc, monkeypatch,
                                                                                      held_groups):
    """A rebuild adds the tallies' changes up over batches and writes them once they reach HELD_TALLY_GROUPS
    groups, and at its end: after every batch (1) or every few (12), the tables end as live wrote them."""
    reporting = await start_service(REPORTING)
    js = nc.jetstream()
    for area, events in follow_up_histories():
        for version, event in enumerate(events, start=1):
            await publish(js, envelope_of(event, version, area=area))
    await eventually(lambda: caught_up(reporting), what="reporting took every event")
    live = await projections_of(reporting.engine)
    await reporting.stop()
    written = rebuild_module._write_and_commit
    tally_writes = []

    async def write_and_commit(connection, folded):
        tally_writes.append(sum(map(len, folded.tallies.values())))
        await written(connection, folded)

    monkeypatch.setattr(rebuild_module, "HELD_TALLY_GROUPS", held_groups)
    monkeypatch.setattr(rebuild_module, "_write_and_commit", write_and_commit)
    await rebuild(reporting.engine, nc, "POLKU", batch_size=4, show_progress=False)
    assert await projections_of(reporting.engine) == live
    assert sum(1 for count in tally_writes if count) > 2, f"tallies written during the replay: {tally_writes}"
    if held_groups > 1:
        assert 0 in tally_writes, f"some batches' tallies held for later ones: {tally_writes}"


async def test_a_group_a_row_left_is_gone_as_if_it_had_never_been_counted(engine_factory):
    """Live, a client is counted as referred and then moves on; a rebuild folds both events at once and
    never writes the referred group: both must end with the same tally rows."""
    engine = await engine_factory("reporting", REPORTING.migrations)
    client_id = uuid4()
    envelopes = [envelope_of(event, version) for version, event in enumerate(client_history(client_id), start=1)]
    async with engine.begin() as connection:
        await project(connection, [(envelopes[0], decode(envelopes[0]))])
    async with engine.connect() as connection:
        assert [row["status"] for row in await _rows(connection, client_tally)] == ["referred"]
    async with engine.begin() as connection:
        await project(connection, [(envelope, decode(envelope)) for envelope in envelopes[1:]])
    async with engine.connect() as connection:
        assert [(row["status"], row["clients"]) for row in await _rows(connection, client_tally)] == [("enrolled", 1)]
