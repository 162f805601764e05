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


async def _live_reporting(start_service, nc):
    """Reporting after the follow-up histories, shuffled (versions out of order wait, and come in later),
    with a duplicate and one event whose earlier version never comes (it waits for good)."""
    reporting = await start_service(REPORTING)
    js, shuffle = nc.jetstream(), random.Random(11)
    envelopes = [envelope_of(event, version, area=area) for area, events in follow_up_histories()
                 for version, event in enumerate(events, start=1)]
    shuffle.shuffle(envelopes)
    for envelope in envelopes + envelopes[:1]:
        await publish(js, envelope)
    area, events = follow_up_histories()[0]
    await publish(js, envelope_of(events[-1], len(events) + 1, area=area))  # version 1 of its aggregate never comes
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
    assert live["waiting"], "an event waits live"
    await reporting.stop()
    parallel = Parallel(reporting.engine.url.render_as_string(hide_password=False), nats_server.url)
    replayed = await rebuild(reporting.engine, nc, "POLKU", batch_size=3, show_progress=False, parallel=parallel)
    assert len(workers_started) == 1, "one part replayed in another process"
    assert replayed == (await nc.jetstream().stream_info("POLKU")).state.messages
    assert await projections_of(reporting.engine) == live


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
