"""Pathway's record of each client (case worker, area, latest enrolment period) and how an event about a
client finds the client's pathways from it: the period saves reading for a pathway after the last."""
from datetime import date
from types import SimpleNamespace
from uuid import uuid4

from sqlalchemy import event, update

from contracts.events.intake import ClientEnrolled, ClientExited
from services.pathway import case_workers, policies
from services.pathway.domain.pathway import PATHWAY, pathway_id_of, plan
from services.pathway.pathways import current_pathway_id, pathways_of
from services.pathway.service import SERVICE
from services.pathway.tables import case_workers as case_workers_table
from services.platform.event_store import Cause
from services.platform.unit_of_work import UnitOfWork
from tests.integration.histories import envelope_of
from tests.support import BOTH_DATABASES

pytestmark = BOTH_DATABASES


async def test_enrolments_keep_the_first_area_and_the_latest_period_whatever_their_order(engine_factory):
    engine = await engine_factory("pathway", SERVICE.migrations)
    client = uuid4()
    async with UnitOfWork(engine, "pathway", Cause.new()) as uow:
        await case_workers.note(uow, client, "kemi", "cw-1", period=2)
        await case_workers.note(uow, client, "tornio", "cw-2", period=1)  # period 1's, arriving late
        assert await case_workers.owner_of(uow, client) == case_workers.Owner("kemi", "cw-2", 2)
        await case_workers.note(uow, client, "kemi", "cw-3")  # a reassignment names no period
        assert await case_workers.owner_of(uow, client) == case_workers.Owner("kemi", "cw-3", 2)
        await case_workers.note(uow, client, "kemi", "cw-3", period=3)
        assert await case_workers.owner_of(uow, client) == case_workers.Owner("kemi", "cw-3", 3)
        assert await case_workers.owner_of(uow, uuid4()) is None


async def test_a_row_from_before_the_period_was_kept_goes_on_probing_whatever_enrolment_comes(engine_factory):
    """Its client may have had pathways 1 and 2 already: a late (or replayed) enrolment of period 1 must not
    make period 1 look like the last, or placements would go to its closed pathway."""
    engine = await engine_factory("pathway", SERVICE.migrations)
    client = uuid4()
    for period in (1, 2):
        async with UnitOfWork(engine, "pathway", Cause.new()) as uow:
            uow.event_area = "kemi"
            enrolment = ClientEnrolled(client_id=client, period=period, case_worker_id="cw-1",
                                       enrolled_on=date(2026, period, 1))
            await policies.plan_pathway(uow, enrolment, envelope_of(enrolment, 1))
    async with UnitOfWork(engine, "pathway", Cause.new()) as uow:  # as migration pathway_0002 found it
        await uow.connection.execute(update(case_workers_table).values(latest_period=None))
    for period in (1, None, 2):  # a late enrolment of period 1, a reassignment, period 2's again
        async with UnitOfWork(engine, "pathway", Cause.new()) as uow:
            await case_workers.note(uow, client, "kemi", "cw-2", period=period)
            owner = await case_workers.owner_of(uow, client)
            assert owner == case_workers.Owner("kemi", "cw-2", None)
            assert await current_pathway_id(uow, client, owner.latest_period) == pathway_id_of(client, 2)


async def test_a_batch_reads_its_clients_at_once_and_its_writes_answer_for_themselves(engine_factory):
    engine = await engine_factory("pathway", SERVICE.migrations)
    known, unknown = uuid4(), uuid4()
    async with UnitOfWork(engine, "pathway", Cause.new()) as uow:
        await case_workers.note(uow, known, "kemi", "cw-1", period=1)
    statements = []
    event.listen(engine.sync_engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]) if "case_workers" in args[2] else None)
    items = [(None, SimpleNamespace(client_id=client)) for client in (known, unknown, known)]  # all it reads
    async with UnitOfWork(engine, "pathway", Cause.new()) as uow:
        await case_workers.prefetch_owners(uow, items)
        assert len(statements) == 1
        assert await case_workers.owner_of(uow, known) == case_workers.Owner("kemi", "cw-1", 1)
        assert await case_workers.owner_of(uow, unknown) is None
        assert len(statements) == 1  # both answered from the batch's read
        await case_workers.note(uow, known, "tornio", "cw-2", period=2)
        await case_workers.note(uow, unknown, "kemi", "cw-3", period=1)
        assert await case_workers.owner_of(uow, known) == case_workers.Owner("kemi", "cw-2", 2)
        assert await case_workers.owner_of(uow, unknown) == case_workers.Owner("kemi", "cw-3", 1)
        assert len(statements) == 3  # the writes answer with the rows as they merged them


async def test_the_latest_period_saves_reading_for_a_pathway_after_it(engine_factory):
    engine = await engine_factory("pathway", SERVICE.migrations)
    client = uuid4()
    async with UnitOfWork(engine, "pathway", Cause.new()) as uow:
        for period in (1, 2):
            await uow.create(PATHWAY, str(pathway_id_of(client, period)),
                             lambda pathway, period=period: plan(pathway, client, period, date(2026, 3, period)),
                             area="kemi")
    first, second, third = (str(pathway_id_of(client, period)) for period in (1, 2, 3))

    async with UnitOfWork(engine, "pathway", Cause.new()) as uow:
        assert await current_pathway_id(uow, client, latest_period=2) == pathway_id_of(client, 2)
        assert uow.touched == [first, second]
    async with UnitOfWork(engine, "pathway", Cause.new()) as uow:  # unknown: probed until one is missing
        assert [pathway_id for pathway_id, _ in await pathways_of(uow, client)] == [
            pathway_id_of(client, 1), pathway_id_of(client, 2)]
        assert uow.touched == [first, second, third]


async def test_a_batch_reads_the_pathways_its_events_need_in_one_statement(engine_factory):
    engine = await engine_factory("pathway", SERVICE.migrations)
    returning, new = uuid4(), uuid4()
    enrolled = [ClientEnrolled(client_id=returning, period=period, case_worker_id="cw-1",
                               enrolled_on=date(2026, period, 1)) for period in (1, 2)]
    for enrolment in enrolled:
        async with UnitOfWork(engine, "pathway", Cause.new()) as uow:
            uow.event_area = "kemi"
            await policies.plan_pathway(uow, enrolment, envelope_of(enrolment, 1))
    batch = [ClientExited(client_id=returning, period=2, exited_on=date(2026, 4, 1), status_at_exit="in_education_or_training",
                          status_on=date(2026, 4, 1), qualification_gained=False),
             ClientEnrolled(client_id=new, period=1, case_worker_id="cw-2", enrolled_on=date(2026, 4, 2))]
    histories = []
    event.listen(engine.sync_engine, "before_cursor_execute",
                 lambda *args: histories.append(args[2]) if args[2].startswith("SELECT") and "FROM events" in args[2]
                 else None)
    async with UnitOfWork(engine, "pathway", Cause.new()) as uow:
        uow.event_area = "kemi"
        await policies.prefetch(uow, [(envelope_of(one, 1), one) for one in batch])
        await policies.close_pathway(uow, batch[0], envelope_of(batch[0], 1))
        await policies.plan_pathway(uow, batch[1], envelope_of(batch[1], 1))
        assert [envelope.type for envelope in uow.appended] == ["PathwayClosed", "PathwayPlanned"]
    assert len(histories) == 1, histories  # the returning client's two pathways and the new one's, at once
