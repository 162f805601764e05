"""`project` stores each projection row with its values and types intact, on both databases (a rebuild
that fails: test_rebuild_swap.py).

On SQLite the rows travel as one JSON document that SQLite unpacks (projections.py); dates, missing
values, integers and text must read back as what was folded.
"""
from datetime import date
from decimal import Decimal
from uuid import uuid4

from sqlalchemy import select

from contracts.events.employer import (OpeningFilled, OpeningRegistered, PlacementEnded, PlacementExtended,
                                      PlacementStarted)
from contracts.events.intake import ClientReferred, EligibilityAssessed
from contracts.events.payroll_billing import (EmployerInvoiced, InvoiceOverdue, MunicipalSupplementClaimed,
                                              PaymentReceived, PayrollRunClosed)
from contracts.registry import decode
from services.payroll_billing.domain.money import finnish_reference, reference_base, rf_reference
from services.platform.stream_reader import REPLAY_BATCH
from services.reporting import swap, waiting
from services.reporting.projections import CLIENT_PERIODS, LIVE, PERIOD_FACTS_UNKNOWN, fold, project
from services.reporting.service import SERVICE as REPORTING
from services.reporting.tables import (client_periods, client_tally, clients, enrolment_tally, first_placements,
                                       invoices, openings, payroll_runs, placements, subsidy_claims)
from tests.integration.histories import client_history, envelope_of
from tests.support import BOTH_DATABASES

pytestmark = BOTH_DATABASES


async def rows_of(engine, table) -> list[dict]:
    async with engine.connect() as connection:
        return [dict(row) for row in (await connection.execute(select(table))).mappings()]


async def test_projected_rows_read_back_as_they_were_folded(engine_factory):
    engine = await engine_factory("reporting", REPORTING.migrations)
    client_id, placement_id, employer_id, invoice_id, opening_id = uuid4(), uuid4(), uuid4(), uuid4(), uuid4()
    run_id, claim_id, employment_id = uuid4(), uuid4(), uuid4()
    reference = finnish_reference(reference_base(invoice_id))
    events = [
        (ClientReferred(client_id=client_id, referral_id=uuid4(), period=1, programme="kemi_model",
                        referred_by="city", employment_area="tornio", municipality="Tornio", age_band="18_24",
                        gender="unknown", referred_on=date(2026, 3, 2)), 1),
        (EligibilityAssessed(client_id=client_id, eligible=False, programme="kemi_model",
                             rule_set_version="kemi_model/2015-01-01", criterion=None, rule_source=None,
                             failed_criteria=(), target_groups=()), 2),
        (PlacementStarted(placement_id=placement_id, client_id=client_id, employer_id=employer_id,
                          employer_type="association", kind="work_trial", starts_on=date(2026, 12, 31),
                          hourly_billing_rate=Decimal("21.50")), 1),
        (PlacementExtended(placement_id=placement_id, client_id=client_id, planned_end_on=date(2027, 5, 31)), 2),
        (PlacementEnded(placement_id=placement_id, client_id=client_id, employer_id=employer_id,
                        employer_type="association", kind="work_trial", ended_on=date(2027, 4, 30),
                        ending="hired_by_employer"), 3),
        (OpeningRegistered(opening_id=opening_id, employer_id=employer_id, title="Kitchen help", occupation="9412",
                           hours_per_week=Decimal("30"), starts_on=date(2026, 12, 31), duration_months=None,
                           requirement_tags=(), source="hidden", registered_on=date(2026, 11, 2)), 1),
        (OpeningFilled(opening_id=opening_id, placement_id=placement_id, filled_on=date(2026, 12, 30)), 2),
        (EmployerInvoiced(invoice_id=invoice_id, employer_id=employer_id, period_start=date(2027, 1, 1),
                          period_end=date(2027, 1, 31), hours=Decimal("37.25"), amount=Decimal("800.88"),
                          vat_amount=Decimal("204.22"), total=Decimal("1005.10"), vat_rules=("vat_25_5",),
                          reference=reference, rf_reference=rf_reference(reference), issued_on=date(2027, 1, 31),
                          due_on=date(2027, 2, 14), lines=()), 1),
        (PaymentReceived(invoice_id=invoice_id, payment_id=uuid4(), bank_reference="B-1", amount=Decimal("500.00"),
                         booked_on=date(2027, 2, 10), paid_total=Decimal("500.00"), status="part_paid"), 2),
        (InvoiceOverdue(invoice_id=invoice_id, employer_id=employer_id, due_on=date(2027, 2, 14),
                        open_amount=Decimal("505.10"), noted_on=date(2027, 2, 15)), 3),
        (PayrollRunClosed(run_id=run_id, pay_period="two_weeks", period_start=date(2027, 1, 4),
                          period_end=date(2027, 1, 17), corrects_run_id=None, employments=3,
                          gross_wages=Decimal("2345.67"), holiday_compensation=Decimal("0.01"),
                          expense_allowances=Decimal("-9.00"), employer_contributions=Decimal("512.30"),
                          rules=("payroll",)), 1),
        (MunicipalSupplementClaimed(claim_id=claim_id, employment_id=employment_id, period_start=date(2027, 1, 1),
                                    period_end=date(2027, 1, 31), amount=Decimal("499.99"), rules=("kemi",),
                                    employer_id=employer_id), 1),
    ]
    async with engine.begin() as connection:
        envelopes = [envelope_of(event, version, area="tornio") for event, version in events]
        folded = await project(connection, [(envelope, decode(envelope)) for envelope in envelopes])
        assert (folded.park, folded.refused) == ([], [])

    assert await rows_of(engine, clients) == [{
        "client_id": str(client_id), "employment_area": "tornio", "municipality": "Tornio", "age_band": "18_24",
        "gender": "unknown", "status": "not_eligible", "eligibility_criterion": None,
        "referred_on": date(2026, 3, 2), "enrolled_on": None, **PERIOD_FACTS_UNKNOWN, "programme": "kemi_model",
        "period": 1, "version": 2}]
    assert await rows_of(engine, placements) == [{
        "placement_id": str(placement_id), "employment_area": "tornio", "client_id": str(client_id),
        "employer_id": str(employer_id), "employer_type": "association", "kind": "work_trial", "starts_on": date(2026, 12, 31),
        "planned_end_on": date(2027, 5, 31), "ended_on": date(2027, 4, 30), "ending": "hired_by_employer",
        "gig_hundredths_of_hours": None, "version": 3}]
    assert await rows_of(engine, openings) == [{
        "opening_id": str(opening_id), "employment_area": "tornio", "source": "hidden",
        "registered_on": date(2026, 11, 2), "state": "filled", "closed_on": date(2026, 12, 30), "version": 2}]
    assert await rows_of(engine, invoices) == [{
        "invoice_id": str(invoice_id), "employment_area": "tornio", "employer_id": str(employer_id),
        "hundredths_of_hours": 3725, "amount_cents": 80088, "issued_on": date(2027, 1, 31), "total_cents": 100510,
        "due_on": date(2027, 2, 14), "credited_cents": 0, "credited_total_cents": 0, "paid_cents": 50000,
        # 500.00 paid of 1005.10 payable, less its VAT share: 500.00 x 800.88 / 1005.10 = 398.408 -> 398.41
        "paid_net_cents": 39841, "open_cents": 50510, "overdue_on": date(2027, 2, 15), "reminders": 0,
        "version": 3}]
    assert await rows_of(engine, payroll_runs) == [{
        "run_id": str(run_id), "employment_area": "tornio", "pay_period": "two_weeks",
        "period_start": date(2027, 1, 4), "period_end": date(2027, 1, 17), "corrects_run_id": None,
        "employments": 3, "gross_wages_cents": 234567, "holiday_compensation_cents": 1,
        "expense_allowances_cents": -900, "employer_contributions_cents": 51230, "version": 1}]
    assert await rows_of(engine, subsidy_claims) == [{
        "claim_id": str(claim_id), "employment_area": "tornio", "kind": "municipal_supplement",
        "employment_id": str(employment_id), "period_start": date(2027, 1, 1), "period_end": date(2027, 1, 31),
        "amount_cents": 49999, "version": 1}]


async def test_an_early_event_waits_once_however_often_it_comes_and_is_folded_with_the_version_it_waits_for(
        engine_factory):
    engine = await engine_factory("reporting", REPORTING.migrations)
    client_id = uuid4()
    referred, assessed, enrolled = (envelope_of(event, version) for version, event in
                                    enumerate(client_history(client_id), start=1))

    async def projected(*envelopes) -> tuple[int, int, int]:
        """(events parked now, events released now, the row's version) after projecting `envelopes`."""
        async with engine.begin() as connection:
            folded = await project(connection, [(envelope, decode(envelope)) for envelope in envelopes])
        [row] = await rows_of(engine, clients)
        return len(folded.park), len(folded.release), row["version"]

    assert await projected(referred, enrolled, enrolled) == (1, 0, 1), "a copy in the batch waits once"
    assert await projected(enrolled) == (0, 0, 1), "a copy of a waiting event: it waits already"
    assert await projected(assessed) == (0, 1, 3), "folded with the version it waited for"
    assert await projected(enrolled, assessed) == (0, 0, 3), "duplicates"
    async with engine.connect() as connection:
        assert await waiting.count(connection) == 0


async def test_a_waiting_event_is_counted_once_when_its_row_takes_it(engine_factory):
    """Enrolled (version 3) comes before the assessment: the client's row and its tally wait for it, while
    the order-free period row takes it at once; when it is folded, it is counted there once."""
    engine = await engine_factory("reporting", REPORTING.migrations)
    referred, assessed, enrolled = (envelope_of(event, version) for version, event in
                                    enumerate(client_history(uuid4()), start=1))

    async def tallies(*envelopes) -> tuple[list, list]:
        async with engine.begin() as connection:
            await project(connection, [(envelope, decode(envelope)) for envelope in envelopes])
        return ([(row["status"], row["clients"], row["enrolled"]) for row in await rows_of(engine, client_tally)],
                [row["periods"] for row in await rows_of(engine, enrolment_tally)])

    assert await tallies(referred, enrolled) == ([("referred", 1, 0)], [1]), "the waiting event is not counted"
    assert await tallies(assessed) == ([("enrolled", 1, 1)], [1]), "counted once it is folded, the period once"
    assert await tallies(enrolled) == ([("enrolled", 1, 1)], [1]), "a copy counts nothing"


async def test_an_event_its_aggregates_row_refuses_changes_no_order_free_row_and_is_refused_once(engine_factory):
    engine = await engine_factory("reporting", REPORTING.migrations)
    client_id = uuid4()
    referred, _, enrolled = client_history(client_id)
    elsewhere = envelope_of(enrolled, 2, area="tornio")  # the client is Kemi's
    async with engine.begin() as connection:
        folded = await project(connection, [(envelope_of(referred, 1), referred), (elsewhere, enrolled)])
    [(item, reason)] = folded.refused
    assert item[0] is elsewhere and reason.startswith("ValueError: an event of area tornio touches report_clients")
    assert await rows_of(engine, first_placements) == [], "no first-placement row from the refused enrolment"
    assert [row["enrolled_on"] for row in await rows_of(engine, client_periods)] == [None]
    assert await rows_of(engine, enrolment_tally) == []


async def test_a_rebuild_folds_a_whole_batch_of_new_order_free_rows_without_a_lock_each(engine_factory):
    """The live consumer locks each order-free row's key on PostgreSQL (another instance may insert it); a
    rebuild writes its new tables alone, and 20,000 such locks in one transaction are more than
    PostgreSQL's lock table holds (out of shared memory)."""
    engine = await engine_factory("reporting", REPORTING.migrations)
    twins = swap.new_tables(engine.dialect.name)
    into = LIVE.into(twins, waiting.WaitingRoom(waiting.REBUILD, keys=set()))
    referred = client_history(uuid4())[0]
    items = []
    for _ in range(REPLAY_BATCH):
        event = referred.model_copy(update={"client_id": uuid4()})
        items.append((envelope_of(event, 1), event))
    async with engine.begin() as connection:
        await swap.create(connection, twins)
        folded = await fold(connection, items, into)
    [periods] = [rows for projector, rows in folded.rows.items() if projector.table is twins[CLIENT_PERIODS.table]]
    assert len(periods) == REPLAY_BATCH
