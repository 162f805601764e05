"""A rebuild in two processes, each replaying one part of the projections into the same new tables, ends
with the tables and waiting events the live consumer made; a part that fails fails the rebuild and leaves
the live tables as they were."""
import random

import pytest

from services.reporting import rebuild as rebuild_module
from services.reporting import waiting
from services.reporting.rebuild import Parallel, rebuild
from services.reporting.service import SERVICE as REPORTING
from tests.integration.follow_up_history import follow_up_histories
from tests.integration.histories import envelope_of, projections_of
from tests.integration.probe import publish
from tests.support import BOTH_DATABASES, caught_up, eventually

pytestmark = BOTH_DATABASES


def _histories(seed: int) -> list:
    """The follow-up histories (new ids each time), shuffled (versions out of order wait, and come in later),
    a duplicate, and in each part an event whose earlier versions never come (it waits for good): a
    client's, in the first process's part, and an invoice's, in the other's."""
    shuffle = random.Random(seed)
    envelopes = [envelope_of(event, version, area=area) for area, events in follow_up_histories()
                 for version, event in enumerate(events, start=1)]
    shuffle.shuffle(envelopes)
    others = follow_up_histories()  # new aggregates: their first versions are never published
    client = others[0]
    invoice = next(history for history in others if type(history[1][0]).__name__ == "EmployerInvoiced")
    waiting_for_good = [envelope_of(events[-1], len(events) + 1, area=area) for area, events in (client, invoice)]
    return envelopes + envelopes[:1] + waiting_for_good


async def _live_reporting(start_service, nc):
    reporting = await start_service(REPORTING)
    for envelope in _histories(seed=11):
        await publish(nc.jetstream(), envelope)
    await eventually(lambda: caught_up(reporting), what="reporting took every event")
    return reporting


@pytest.fixture
def workers_started(monkeypatch) -> list:
    """The parts handed to other processes."""
    started, worker = [], rebuild_module._worker

    async def counted(stream, batch_size, part, parallel, progress):
        started.append(part)
        return await worker(stream, batch_size, part, parallel, progress)

    monkeypatch.setattr(rebuild_module, "_worker", counted)
    return started


async def test_a_rebuild_in_two_processes_equals_live(start_service, nc, nats_server, workers_started):
    reporting = await _live_reporting(start_service, nc)
    live = await projections_of(reporting.engine)
    assert len(live["waiting"]) == 2, "an event waits live in each part"
    await reporting.stop()
    parallel = Parallel(reporting.engine.url.render_as_string(hide_password=False), nats_server.url)
    replayed = await rebuild(reporting.engine, nc, "POLKU", batch_size=3, show_progress=False, parallel=parallel)
    assert len(workers_started) == 1, "one part replayed in another process"
    assert replayed == (await nc.jetstream().stream_info("POLKU")).state.messages
    assert await projections_of(reporting.engine) == live


async def test_events_published_while_the_parts_replay_end_as_one_process_folds_them(start_service, nc, nats_server,
                                                                                    monkeypatch):
    """Events come after the stream's last sequence the parts start from: a part may read them, and the
    catch-up reads them again, asking the database for the other process's rows and waiting events."""
    reporting = await _live_reporting(start_service, nc)
    await reporting.stop()
    worker, js = rebuild_module._worker, nc.jetstream()

    async def publishing_first(stream, batch_size, part, parallel, progress):
        for envelope in _histories(seed=12):
            await publish(js, envelope)
        return await worker(stream, batch_size, part, parallel, progress)

    monkeypatch.setattr(rebuild_module, "_worker", publishing_first)
    parallel = Parallel(reporting.engine.url.render_as_string(hide_password=False), nats_server.url)
    await rebuild(reporting.engine, nc, "POLKU", batch_size=3, show_progress=False, parallel=parallel)
    in_two_processes = await projections_of(reporting.engine)
    assert len(in_two_processes["waiting"]) == 4, "two events wait for good in each part, of each publishing"
    await rebuild(reporting.engine, nc, "POLKU", batch_size=3, show_progress=False)
    assert await projections_of(reporting.engine) == in_two_processes


async def test_a_part_that_fails_fails_the_rebuild_and_the_live_tables_stay(start_service, nc, nats_server,
                                                                         tmp_path, workers_started):
    reporting = await _live_reporting(start_service, nc)
    live = await projections_of(reporting.engine)
    await reporting.stop()
    # The other process's database has no new tables to write: its first batch fails.
    parallel = Parallel(f"sqlite+aiosqlite:///{tmp_path / 'elsewhere.db'}", nats_server.url)
    with pytest.raises(RuntimeError, match="rebuild process"):
        await rebuild(reporting.engine, nc, "POLKU", batch_size=3, show_progress=False, parallel=parallel)
    assert workers_started
    assert _live_only(await projections_of(reporting.engine)) == _live_only(live)


def _live_only(projections: dict) -> dict:
    """The live tables and waiting room: a failed rebuild's own room is emptied by the next one."""
    return projections | {"waiting": [entry for entry in projections["waiting"] if entry[0] == waiting.LIVE]}


async def test_one_process_asked_for_replays_everything_here(start_service, nc, nats_server, workers_started):
    """`polku rebuild --processes 1`: no other process, the same tables."""
    reporting = await _live_reporting(start_service, nc)
    live = await projections_of(reporting.engine)
    await reporting.stop()
    parallel = Parallel(reporting.engine.url.render_as_string(hide_password=False), nats_server.url, processes=1)
    await rebuild(reporting.engine, nc, "POLKU", batch_size=3, show_progress=False, parallel=parallel)
    assert workers_started == []
    assert await projections_of(reporting.engine) == live
