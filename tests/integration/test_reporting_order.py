"""Reporting applies each aggregate's events in version order, whatever order they arrive in: an early
event waits in reporting's own database, live and in rebuild, and only one that can never apply is
dead-lettered. Rows that take only some of an aggregate's events (a client's periods) take them in any
order and never wait."""
import asyncio
from datetime import date
from decimal import Decimal
from uuid import uuid4

from sqlalchemy import select

from contracts.envelope import dataschema_for, event_subject
from contracts.events.payroll_billing import EmployerInvoiced, PaymentReceived
from contracts.registry import EVENT_TYPES
from services.payroll_billing.domain.money import finnish_reference, reference_base, rf_reference
from services.platform import dead_letters
from services.platform.tables import parked_events
from services.reporting import waiting as waiting_room
from services.reporting.projections import PROJECTORS
from services.reporting.rebuild import rebuild
from services.reporting.service import SERVICE as REPORTING
from services.reporting.tables import client_periods, clients, invoices
from tests.integration.follow_up_history import returning_client
from tests.integration.histories import client_history, envelope_of, projections_of
from tests.integration.probe import publish
from tests.support import BOTH_DATABASES, eventually


async def client_row(engine, client_id) -> dict | None:
    async with engine.connect() as connection:
        row = (await connection.execute(select(clients).where(clients.c.client_id == str(client_id)))).mappings()
        return next(iter(row), None)


async def row_at_version(engine, client_id, version: int) -> bool:
    row = await client_row(engine, client_id)
    return row is not None and row["version"] == version


def test_reporting_takes_every_event_of_the_aggregates_whose_rows_follow_them():
    followed = {projector.table.name: cls.aggregate_type for cls, projectors in PROJECTORS.items()
                for projector, _ in projectors if projector.follows_aggregate}
    assert followed, "some projection rows follow their aggregate's versions"
    for cls in EVENT_TYPES.values():
        if cls.aggregate_type in followed.values():
            assert cls in PROJECTORS, f"{cls.__name__} would leave a gap in the versions reporting follows"


@BOTH_DATABASES
async def test_an_event_that_overtook_an_earlier_one_waits_in_reportings_database_live_and_in_rebuild(
        start_service, nc):
    # Two tries: before, the early event was nak'd and dead-lettered within a second.
    reporting = await start_service(REPORTING, max_deliver=2)
    js = nc.jetstream()
    client_id = uuid4()
    referred, assessed, enrolled = (envelope_of(event, version) for version, event in
                                    enumerate(client_history(client_id), start=1))
    for envelope in (referred, enrolled):  # version 3 before version 2
        await publish(js, envelope)
    await eventually(lambda: waiting_ids(reporting.engine, [str(enrolled.id)]), what="version 3 waiting")
    await asyncio.sleep(1)  # far longer than the two tries' back-off
    assert await dead_letters.list_all(js, "POLKU_DEADLETTER") == []
    assert (await client_row(reporting.engine, client_id))["version"] == 1
    live = await projections_of(reporting.engine)

    # A rebuild while version 3 waits, reporting running: the same row, the same event waiting.
    assert await rebuild(reporting.engine, nc, "POLKU", batch_size=1, show_progress=False) == 2
    assert await projections_of(reporting.engine) == live

    await publish(js, assessed)
    await eventually(lambda: row_at_version(reporting.engine, client_id, 3), what="the client row at version 3")
    assert await waiting_ids(reporting.engine, [])
    live = await projections_of(reporting.engine)
    assert (live["report_clients"][0][5], live["report_clients"][0][6]) == ("enrolled", "long_term_unemployed")
    assert await dead_letters.list_all(js, "POLKU_DEADLETTER") == []

    for batch_size in (1, 2, 3):  # the early event waits within a batch, or across batches
        await rebuild(reporting.engine, nc, "POLKU", batch_size=batch_size, show_progress=False)
        assert await projections_of(reporting.engine) == live, f"rebuilt in batches of {batch_size}"


@BOTH_DATABASES
async def test_an_event_that_can_never_apply_is_dead_lettered_at_once_with_the_reason(start_service, nc):
    """An event of another area than its row's: no later event can make it apply. The events after it
    wait for it, live and in rebuild alike; replayed, it is refused again."""
    reporting = await start_service(REPORTING)
    js = nc.jetstream()
    client_id = uuid4()
    history = client_history(client_id)
    referred, assessed, enrolled = (envelope_of(history[0], 1), envelope_of(history[1], 2, area="tornio"),
                                    envelope_of(history[2], 3))
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    await publish(js, referred)
    await js.publish(assessed.nats_subject, assessed.model_dump_json().encode(), stream="POLKU", headers={
        "Nats-Msg-Id": str(assessed.id), "ce-type": assessed.type, "traceparent": traceparent})
    await publish(js, enrolled)

    await eventually(lambda: dead_lettered(js, 1), what="the other area's event dead-lettered")
    [letter] = await dead_letters.list_all(js, "POLKU_DEADLETTER")
    assert letter.deliveries == 1, "it can never apply: no retries"
    assert letter.error.startswith("NeverApplies: ValueError: an event of area tornio touches report_clients row")
    await eventually(lambda: waiting_ids(reporting.engine, [str(enrolled.id)]), what="version 3 waiting for 2")
    live = await projections_of(reporting.engine)
    assert live["report_clients"][0][-1] == 1

    await rebuild(reporting.engine, nc, "POLKU", batch_size=2, show_progress=False)
    assert await projections_of(reporting.engine) == live

    await dead_letters.replay(js, "POLKU", "POLKU_DEADLETTER", letter)
    await eventually(lambda: dead_lettered(js, 1, replayed=True), what="the replayed event refused again")
    replayed = await js.get_msg("POLKU", (await js.stream_info("POLKU")).state.last_seq)
    assert replayed.headers["traceparent"] == traceparent, "the replay continues the original trace"
    assert await projections_of(reporting.engine) == live


async def dead_lettered(js, count: int, replayed: bool = False) -> bool:
    letters = await dead_letters.list_all(js, "POLKU_DEADLETTER")
    return len(letters) == count and (not replayed or letters[0].sequence > 1)


async def waiting_ids(engine, event_ids: list[str]) -> bool:
    """The events waiting in reporting's database are exactly these."""
    async with engine.connect() as connection:
        waiting = await connection.execute(select(parked_events.c.event_id).where(
            parked_events.c.consumer == waiting_room.LIVE))
        return sorted(event_id for (event_id,) in waiting) == sorted(event_ids)


async def invoice_row(engine, invoice_id) -> dict | None:
    async with engine.connect() as connection:
        row = (await connection.execute(select(invoices).where(invoices.c.invoice_id == str(invoice_id)))).mappings()
        return next(iter(row), None)


async def test_an_invoice_follows_its_aggregate_and_an_early_payment_waits_for_the_invoice(start_service, nc):
    """The Invoice aggregate's events in any order; a version 1 EmployerInvoiced, written by the Employment
    aggregate with the employment's version, is its invoice's first and only event."""
    reporting = await start_service(REPORTING)
    invoice_id, old_invoice_id, employer_id = uuid4(), uuid4(), uuid4()
    reference = finnish_reference(reference_base(invoice_id))
    issued = EmployerInvoiced(invoice_id=invoice_id, employer_id=employer_id, period_start=date(2026, 3, 1),
                              period_end=date(2026, 3, 31), hours=Decimal("10.00"), amount=Decimal("200.00"),
                              vat_amount=Decimal("51.00"), total=Decimal("251.00"), vat_rules=("vat_25_5",),
                              reference=reference, rf_reference=rf_reference(reference), issued_on=date(2026, 4, 1),
                              due_on=date(2026, 4, 15), lines=())
    payments = [PaymentReceived(invoice_id=invoice_id, payment_id=uuid4(), bank_reference=f"B-{number}",
                                amount=Decimal("100.00"), booked_on=date(2026, 4, 10),
                                paid_total=Decimal("100.00") * number, status="part_paid") for number in (1, 2)]
    js = nc.jetstream()
    for version, event in ((3, payments[1]), (2, payments[0]), (1, issued)):  # newest first
        await publish(js, envelope_of(event, version))
    old = envelope_of(issued, 7).model_copy(update={
        "aggregatetype": "Employment", "aggregateid": str(uuid4()), "dataschema": dataschema_for("EmployerInvoiced", 1),
        "data": {"employment_id": str(uuid4()), "invoice_id": str(old_invoice_id), "employer_id": str(employer_id),
                 "hours": "5.00", "amount": "100.00", "reference": reference, "issued_on": "2025-01-31",
                 "due_on": "2025-02-14"}})
    await publish(js, old)

    async def both_projected() -> bool:
        row, old_row = await invoice_row(reporting.engine, invoice_id), await invoice_row(reporting.engine, old_invoice_id)
        return row is not None and row["version"] == 3 and old_row is not None

    await eventually(both_projected, what="the invoice at version 3 and the version 1 invoice")
    live = await invoice_row(reporting.engine, invoice_id)
    # The second payment's paid_total (200.00) is the invoice's, whatever came first: not 100.00, not 300.00.
    assert (live["paid_cents"], live["open_cents"], live["paid_net_cents"]) == (20000, 5100, 15936)  # 200 x 200/251
    old_live = await invoice_row(reporting.engine, old_invoice_id)
    assert (old_live["version"], old_live["amount_cents"], old_live["total_cents"]) == (1, 10000, 10000)
    assert await waiting_ids(reporting.engine, []), "the early payments waited and were released"
    everything = await projections_of(reporting.engine)

    await reporting.stop()
    await rebuild(reporting.engine, nc, "POLKU", batch_size=2, show_progress=False)
    assert await invoice_row(reporting.engine, invoice_id) == live
    assert await invoice_row(reporting.engine, old_invoice_id) == old_live
    assert await projections_of(reporting.engine) == everything, "the invoice tally too"


def test_reportings_consumer_takes_payrolls_figures():
    """Billing and the return read these; the durable consumer bootstrap creates is filtered to them."""
    filters = REPORTING.subscription.filter_subjects
    for name in ("EmployerInvoiced", "InvoiceCredited", "PaymentReceived", "InvoiceOverdue", "ReminderSent",
                 "PayrollRunClosed", "PaySubsidyClaimed", "MunicipalSupplementClaimed"):
        assert event_subject("*", "payroll_billing", name) in filters, name


async def period_rows(engine, client_id) -> list[dict]:
    async with engine.connect() as connection:
        return [dict(row) for row in (await connection.execute(
            select(client_periods).where(client_periods.c.client_id == str(client_id))
            .order_by(client_periods.c.period))).mappings()]


async def test_a_clients_periods_take_their_events_in_any_order_live_and_in_rebuild(start_service, nc):
    reporting = await start_service(REPORTING)
    client_id = uuid4()
    events = returning_client(client_id, "kemi", [(date(2026, 1, 12), date(2026, 3, 16), "in_education_or_training"),
                                                   (date(2026, 4, 1), date(2026, 5, 4), "employed_company")])
    envelopes = [envelope_of(event, version) for version, event in enumerate(events, start=1)]
    js = nc.jetstream()
    for envelope in reversed(envelopes):  # every exit before its enrolment, period 2 before period 1
        await publish(js, envelope)

    await eventually(lambda: row_at_version(reporting.engine, client_id, len(envelopes)), what="every event taken")
    live = await period_rows(reporting.engine, client_id)
    assert [(row["period"], row["referred_on"], row["enrolled_on"], row["exited_on"], row["exit_status"], row["version"])
            for row in live] == [
        (1, date(2026, 1, 12), date(2026, 1, 13), date(2026, 3, 16), "in_education_or_training", 4),
        (2, date(2026, 4, 1), date(2026, 4, 2), date(2026, 5, 4), "employed_company", 8)]

    assert await waiting_ids(reporting.engine, []), "the client's row took its waiting events"
    everything = await projections_of(reporting.engine)

    await reporting.stop()
    await rebuild(reporting.engine, nc, "POLKU", batch_size=3, show_progress=False)
    assert await period_rows(reporting.engine, client_id) == live
    assert await projections_of(reporting.engine) == everything, "the period tallies too"
