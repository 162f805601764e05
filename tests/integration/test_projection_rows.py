"""`project` stores each projection row with its values and types intact, on both databases.

On SQLite the rows travel as one JSON document that SQLite unpacks (projections.py); dates, missing
values, integers and text must read back as what was folded.
"""
from datetime import date
from decimal import Decimal
from uuid import uuid4

from sqlalchemy import select

from contracts.events.employer import PlacementStarted
from contracts.events.intake import ClientReferred, EligibilityAssessed
from contracts.events.payroll_billing import EmployerInvoiced
from contracts.registry import decode
from services.payroll_billing.domain import finnish_reference, reference_base
from services.reporting.projections import project
from services.reporting.service import SERVICE as REPORTING
from services.reporting.tables import clients, invoices, placements
from tests.integration.histories import envelope_of
from tests.support import BOTH_DATABASES

pytestmark = BOTH_DATABASES


async def rows_of(engine, table) -> list[dict]:
    async with engine.connect() as connection:
        return [dict(row) for row in (await connection.execute(select(table))).mappings()]


async def test_projected_rows_read_back_as_they_were_folded(engine_factory):
    engine = await engine_factory("reporting", REPORTING.migrations)
    client_id, placement_id, employer_id, invoice_id = uuid4(), uuid4(), uuid4(), uuid4()
    events = [
        (ClientReferred(client_id=client_id, referred_by="city", employment_area="tornio", municipality="Tornio",
                        age_band="under_25", gender="unknown", referred_on=date(2026, 3, 2)), 1),
        (EligibilityAssessed(client_id=client_id, eligible=False, criterion=None, rule_source=None,
                             target_groups=()), 2),
        (PlacementStarted(placement_id=placement_id, client_id=client_id, employer_id=employer_id,
                          employer_type="association", kind="work_trial", starts_on=date(2026, 12, 31),
                          hourly_billing_rate=Decimal("21.50")), 1),
        (EmployerInvoiced(employment_id=uuid4(), invoice_id=invoice_id, employer_id=employer_id,
                          hours=Decimal("37.25"), amount=Decimal("800.88"), reference=finnish_reference(reference_base(invoice_id)),
                          issued_on=date(2027, 1, 31), due_on=date(2027, 2, 14)), 1),
    ]
    async with engine.begin() as connection:
        envelopes = [envelope_of(event, version, area="tornio") for event, version in events]
        assert await project(connection, [(envelope, decode(envelope)) for envelope in envelopes]) == []

    assert await rows_of(engine, clients) == [{
        "client_id": str(client_id), "employment_area": "tornio", "municipality": "Tornio", "age_band": "under_25",
        "gender": "unknown", "status": "not_eligible", "eligibility_criterion": None, "version": 2}]
    assert await rows_of(engine, placements) == [{
        "placement_id": str(placement_id), "employment_area": "tornio", "employer_type": "association",
        "kind": "work_trial", "starts_on": date(2026, 12, 31), "version": 1}]
    assert await rows_of(engine, invoices) == [{
        "invoice_id": str(invoice_id), "employment_area": "tornio", "employer_id": str(employer_id),
        "hundredths_of_hours": 3725, "amount_cents": 80088, "issued_on": date(2027, 1, 31), "version": 1}]
