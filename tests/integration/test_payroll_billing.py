"""Payroll and billing through the five services on a real nats-server: the demo's payroll, invoices,
payments and claims checked by hand; a pooled gig job's month billed to three employers; the camt.054
round trip; wages kept off the bus and erased with the person; access per role and area."""
import asyncio
import json
import re
from datetime import date, time, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import aiohttp
from sqlalchemy import func, select

from contracts.events.employer import EmployerRegistered, GigJobPooled, PlacementStarted, PooledTask
from services.demo import load_demo
from services.demo_payroll import bank_notification
from services.payroll_billing.camt054 import MAX_BYTES
from services.payroll_billing.finvoice import Seller
from services.payroll_billing.tables import (pay_subsidy_decisions, payments, payroll_lines, payroll_register,
                                             wage_rates, worked_days)
from services.platform.event_store import AggregateKind, Cause
from services.platform.http import MAX_BODY_BYTES
from services.platform.tables import events
from services.platform.unit_of_work import UnitOfWork
from tests.support import BOTH_DATABASES, bearer, create_history, eventually, get_json, settled, url_of
from tests.unit.payroll_billing.documents import finvoice_errors

XML = {"Content-Type": "application/xml"}


async def call(method: str, url: str, token: str, body=None, data: bytes | None = None,
               headers: dict | None = None) -> tuple[int, object]:
    async with aiohttp.ClientSession() as http, http.request(
            method, url, json=body, data=data, headers=bearer(token) | (headers or {})) as response:
        text = await response.text()
        return response.status, json.loads(text) if "json" in response.content_type else text


async def stored(runtime, event_type: str) -> list[dict]:
    async with runtime.engine.connect() as connection:
        rows = await connection.execute(select(events.c.envelope).where(events.c.event_type == event_type)
                                        .order_by(events.c.position))
        return [json.loads(envelope) for (envelope,) in rows]


async def count(runtime, table, *where) -> int:
    async with runtime.engine.connect() as connection:
        return (await connection.execute(select(func.count()).select_from(table).where(*where))).scalar_one()


async def test_the_demos_payroll_invoices_payments_and_claims(five_services, token):
    url, payroll = url_of(five_services), five_services["payroll_billing"]
    await load_demo(url, token)
    await settled(five_services.values())
    kemi, tornio = token("payroll_clerk", "kemi"), token("payroll_clerk", "tornio")
    base = url("payroll_billing")

    # Every invoice the demo produced is a valid Finvoice 3.0 document.
    invoices = [envelope for envelope in await stored(payroll, "EmployerInvoiced")]
    assert len(invoices) == 3
    for envelope in invoices:
        clerk = kemi if envelope["employmentarea"] == "kemi" else tornio
        status, document = await call("GET", f"{base}/invoices/{envelope['data']['invoice_id']}/finvoice.xml", clerk)
        assert status == 200 and finvoice_errors(document.encode()) == []
        assert envelope["data"]["rf_reference"] in document

    # September in Kemi, by hand: the gig job's 40 h × 12.37 = 494.80 (6 days but 40 h: a full holiday
    # credit month, no compensation); the foundation's pay subsidised job 22 weekdays × 6 h × 11.93 =
    # 1,574.76; the work trial's 18 days (Monday to Thursday) and the rehabilitative work's 13 days
    # (Monday, Wednesday, Friday) × 9.00 = 162.00 and 117.00.
    [september] = [run["data"] for run in await stored(payroll, "PayrollRunClosed") if run["employmentarea"] == "kemi"]
    assert (september["employments"], september["gross_wages"], september["expense_allowances"],
            september["holiday_compensation"]) == (4, "2069.56", "279.00", "0.00")
    status, lines = await call("GET", f"{base}/payroll-runs/{september['run_id']}/lines", kemi)
    assert status == 200
    assert sorted((line["gross_wage"], line["expense_allowance"]) for line in lines) == [
        ("0", "117.00"), ("0", "162.00"), ("1574.76", "0"), ("494.80", "0")]
    status, audit = await call("GET", f"{base}/audit?action=read payroll lines", token("auditor", "kemi"))
    assert [entry["subject"] for entry in audit] == [f"PayrollRun {september['run_id']}"], "the read is audited"
    assert (await call("GET", f"{base}/payroll-runs/{september['run_id']}/lines", token("manager", "kemi")))[0] == 403
    assert (await call("GET", f"{base}/payroll-runs/{september['run_id']}/lines", tornio))[0] == 404

    # The gig job's month billed to the three employers of its tasks, at 26.00 €/h and 25.5 % VAT: the city
    # and the association 14 h each (364.00 + 92.82), the shop 12 h (312.00 + 79.56).
    assert sorted((invoice["data"]["hours"], invoice["data"]["total"]) for invoice in invoices) == [
        ("12.00", "391.56"), ("14.00", "456.82"), ("14.00", "456.82")]
    # Two paid (by the RF and by the Finnish reference), the shop's overdue with a reminder; the payment
    # whose reference matches nothing is listed, not lost.
    status, receivables = await call("GET", f"{base}/receivables?on=2026-11-30", kemi)
    assert sorted((row["paid"], row["overdue"], row["overdue_invoices"]) for row in receivables) == [
        ("0.00", "391.56", 1), ("456.82", "0.00", 0), ("456.82", "0.00", 0)]
    [shop] = [invoice["data"] for invoice in invoices if invoice["data"]["total"] == "391.56"]
    paid = [invoice["data"] for invoice in invoices if invoice["data"]["total"] == "456.82"]
    status, unmatched = await call("GET", f"{base}/payments/unmatched", kemi)
    assert [(payment["amount"], payment["reference"]) for payment in unmatched] == [("50.00", "12344")]
    [noted] = await stored(payroll, "InvoiceOverdue")
    assert noted["data"]["invoice_id"] == shop["invoice_id"]
    assert (await call("POST", f"{base}/invoices/{shop['invoice_id']}/overdue", kemi, {"on": "2026-12-31"}))[0] \
        == 409, "noted once"
    status, problem = await call("POST", f"{base}/invoices/{paid[0]['invoice_id']}/overdue", kemi,
                                 {"on": "2026-12-31"})
    assert status == 422 and "is not overdue on 2026-12-31" in problem["detail"]
    status, overdue = await call("GET", f"{base}/invoices/{shop['invoice_id']}", kemi)
    [reminder] = overdue["reminders"]
    assert reminder["fee"] == "5.00" and Decimal(reminder["interest"]) > 0

    # The same camt.054 again changes nothing; a wrong one is refused whole, naming where.
    again = bank_notification(("DEMO-1", paid[0]["total"], paid[0]["rf_reference"]),
                              ("DEMO-3", "50.00", "12344"), booked_on=date(2026, 10, 14))
    before = await count(payroll, payments)
    status, imported = await call("POST", f"{base}/payments/camt054", kemi, data=again, headers=XML)
    assert (status, imported) == (200, {"payments": 2, "matched": 0, "unmatched": 0, "already_imported": 2})
    broken = bank_notification(("NEW-1", "10.005", shop["reference"]), ("NEW-2", "10.00", "12344"),
                               booked_on=date(2026, 10, 20))
    status, problem = await call("POST", f"{base}/payments/camt054", kemi, data=broken, headers=XML)
    assert status == 422 and problem["errors"][0]["field"] == "Ntfctn[1]/Ntry[1]/NtryDtls/TxDtls[1]/Amt"
    assert await count(payroll, payments) == before
    assert await call("GET", f"{base}/receivables?on=2026-11-30", kemi) == (200, receivables)

    # The claims: 50 % of the Kemi job's September wage (1,574.76) is 787.38; 70 % of the Tornio job's
    # 22 × 5 h × 13.21 = 1,453.10 is 1,017.17; both under their caps. Kemi-lisä 500.00.
    claimed = sorted(claim["data"]["amount"] for claim in await stored(payroll, "PaySubsidyClaimed"))
    [kemi_lisa] = await stored(payroll, "MunicipalSupplementClaimed")
    assert (claimed, kemi_lisa["data"]["amount"]) == (["1017.17", "787.38"], "500.00")

    # No wage in any event payroll wrote (each of them goes on the bus).
    async with payroll.engine.connect() as connection:
        written = " ".join(envelope for (envelope,) in await connection.execute(select(events.c.envelope)))
    # A wage as a number of its own: an event's time (09:20:12.378) may hold the digits of one (12.37).
    assert not [wage for wage in ("12.37", "11.93", "13.21", "1574.76", "494.80")
                if re.search(rf"(?<![\d.:]){re.escape(wage)}(?!\d)", written)]


async def test_erasure_deletes_the_persons_wage_and_payroll_lines(five_services, token):
    url, payroll = url_of(five_services), five_services["payroll_billing"]
    await load_demo(url, token)
    await settled(five_services.values())
    [subsidised] = [envelope["data"] for envelope in await stored(payroll, "EmploymentOpened")
                    if envelope["data"]["kind"] == "pay_subsidised_work" and envelope["employmentarea"] == "kemi"]
    client_id = subsidised["client_id"]
    assert await count(payroll, payroll_lines, payroll_lines.c.client_id == client_id) == 1
    assert await count(payroll, wage_rates, wage_rates.c.client_id == client_id) == 1
    assert await count(payroll, pay_subsidy_decisions, pay_subsidy_decisions.c.client_id == client_id) == 1
    status, client = await call("GET", f"{url('intake')}/clients/{client_id}", token("manager", "kemi"))
    status, _ = await call("POST", f"{url('intake')}/clients/{client_id}/erasure",
                           token("case_worker", "kemi", client["case_worker_id"]), {"reason": "client_request"})
    assert status == 200

    async def erased() -> bool:
        return sum([await count(payroll, table, table.c.client_id == client_id)
                    for table in (payroll_lines, payroll_register, wage_rates, pay_subsidy_decisions)]) == 0

    await eventually(erased, what="payroll erasing the person's wage and lines")
    assert await count(payroll, payroll_lines) > 0, "the other people's lines stay"


# --- a pooled gig job's month, billed to three employers ----------------------------------------------

EMPLOYER_HISTORY = AggregateKind("Employer", None, lambda state, _event: state)


async def employer_events(runtime, aggregate_id: str, *new_events) -> None:
    """Events the employer service writes, through its own store and relay (its API does not pool gig jobs yet)."""
    async with UnitOfWork(runtime.engine, "employer", Cause.new(), on_commit=runtime.wake_relay) as uow:
        await uow.decide(EMPLOYER_HISTORY, aggregate_id, lambda _state: list(new_events), area="kemi")


async def test_a_pooled_gig_jobs_month_is_billed_to_three_employers(five_services, token):
    url, employer, payroll = url_of(five_services), five_services["employer"], five_services["payroll_billing"]
    clerk, base = token("payroll_clerk", "kemi"), url("payroll_billing")
    foundation, shop, cafe, garden = (uuid4() for _ in range(4))
    for employer_id, business_id, name, kind in (
            (foundation, Seller().business_id, "Meri-Lapin työhönvalmennussäätiö sr", "foundation"),
            (shop, "2719034-2", "Kemin Kierrätyskeskus ry", "association"),
            (cafe, "1013712-3", "Kahvila Pohjanranta Oy", "company"),
            (garden, "0210427-6", "Kemin kaupunki, puistotoimi", "city_unit")):
        await employer_events(employer, str(employer_id), EmployerRegistered(
            employer_id=employer_id, business_id=business_id, name=name, employer_type=kind, employment_area="kemi"))
    placement_id, client_id = uuid4(), uuid4()
    mondays = [date(2026, 10, 5) + timedelta(weeks=week) for week in range(4)]
    rates = {shop: Decimal("26.00"), cafe: Decimal("22.50"), garden: Decimal("24.00")}
    tasks = [PooledTask(task_id=uuid4(), employer_id=employer_id, works_on=monday + timedelta(days=offset),
                        starts_at=time(8), ends_at=time(12), hours=Decimal("4"), hourly_billing_rate=rates[employer_id])
             for monday in mondays for offset, employer_id in enumerate((shop, cafe, garden))]
    await employer_events(
        employer, str(placement_id),
        PlacementStarted(placement_id=placement_id, client_id=client_id, employer_id=foundation,
                         employer_type="foundation", kind="gig_work", starts_on=date(2026, 10, 1),
                         hourly_billing_rate=Decimal("0.00")),
        GigJobPooled(placement_id=placement_id, client_id=client_id, tasks=tuple(tasks)))
    employment = f"{base}/employments/{placement_id}"

    async def tasks_known() -> bool:
        return (await count(payroll, events, events.c.event_type == "GigTasksAssigned")) == 1

    await eventually(tasks_known, what="payroll taking the gig job's tasks")
    # Each task worked as pooled, but the café's of the last week only 3.5 h.
    days = [{"works_on": str(task.works_on), "task_id": str(task.task_id),
             "hours": "3.5" if task.employer_id == cafe and task.works_on > mondays[-1] else "4"} for task in tasks]
    status, body = await call("POST", f"{employment}/timesheets", clerk, {
        "period_start": "2026-10-01", "period_end": "2026-10-31", "days": days})
    assert status == 201, body

    issued = {}
    for employer_id in (shop, cafe, garden):
        status, invoice = await call("POST", f"{base}/invoices", clerk, {
            "employer_id": str(employer_id), "period_start": "2026-10-01", "period_end": "2026-10-31",
            "issued_on": "2026-11-02"})
        assert status == 201, invoice
        issued[employer_id] = invoice
        assert {UUID(line["task_id"]) for line in invoice["lines"]} == {
            task.task_id for task in tasks if task.employer_id == employer_id}, "its own tasks only"
        status, document = await call("GET", f"{base}/invoices/{invoice['invoice_id']}/finvoice.xml", clerk)
        assert finvoice_errors(document.encode()) == []
    # By hand, VAT 25.5 % per line of 4 h: the shop 4 × 104.00 (VAT 26.52 each); the café 3 × 90.00
    # (22.95) and 3.5 × 22.50 = 78.75 (20.08); the park 4 × 96.00 (24.48).
    assert [(issued[e]["hours"], issued[e]["amount"], issued[e]["vat_amount"], issued[e]["total"])
            for e in (shop, cafe, garden)] == [
        ("16.00", "416.00", "106.08", "522.08"), ("15.50", "348.75", "88.93", "437.68"),
        ("16.00", "384.00", "97.92", "481.92")]
    status, again = await call("POST", f"{base}/invoices", clerk, {
        "employer_id": str(shop), "period_start": "2026-10-01", "period_end": "2026-10-31"})
    assert status == 422 and "no approved hours to invoice" in again["detail"], "billed once"
    status, itself = await call("POST", f"{base}/invoices", clerk, {
        "employer_id": str(foundation), "period_start": "2026-10-01", "period_end": "2026-10-31"})
    assert status == 422 and "does not invoice itself" in itself["detail"]

    # The round trip: the bank's camt.054 pays the shop's in full by its RF reference, the café's in
    # part by its Finnish reference printed in groups, the park's one cent too much.
    notification = bank_notification(
        ("R-1", issued[shop]["total"], issued[shop]["rf_reference"]),
        ("R-2", "400.00", " ".join(issued[cafe]["reference"][i:i + 5] for i in range(0, 10, 5))),
        ("R-3", str(Decimal(issued[garden]["total"]) + Decimal("0.01")), issued[garden]["reference"]),
        booked_on=date(2026, 11, 10))
    status, imported = await call("POST", f"{base}/payments/camt054", clerk, data=notification, headers=XML)
    assert (status, imported["matched"]) == (200, 3), imported
    statuses = {}
    for employer_id, invoice in issued.items():
        status, view = await call("GET", f"{base}/invoices/{invoice['invoice_id']}", clerk)
        statuses[employer_id] = (view["paid"], view["open_amount"])
    assert statuses == {shop: ("522.08", "0.00"), cafe: ("400.00", "37.68"), garden: ("481.93", "0.00")}
    payments_received = [envelope["data"]["status"] for envelope in await stored(payroll, "PaymentReceived")]
    assert sorted(payments_received) == ["overpaid", "paid", "part_paid"]

    # The park's invoice is credited as a whole (its Finvoice credit note valid too), and its hours
    # invoiced again; the printable page gives the reference in groups of five.
    garden_invoice = issued[garden]["invoice_id"]
    status, credited = await call("POST", f"{base}/invoices/{garden_invoice}/credit-notes", clerk,
                                  {"reason": "wrong_rate", "issued_on": "2026-11-12"})
    assert status == 201 and credited["payable"] == "0.00"
    status, document = await call("GET", f"{base}/invoices/{garden_invoice}/finvoice.xml?credit_note=true", clerk)
    assert finvoice_errors(document.encode()) == [] and "<InvoiceTypeCode>INV02</InvoiceTypeCode>" in document
    status, reissued = await call("POST", f"{base}/invoices", clerk, {
        "employer_id": str(garden), "period_start": "2026-10-01", "period_end": "2026-10-31"})
    assert (status, reissued["hours"], reissued["total"]) == (201, "16.00", "481.92")
    status, page = await call("GET", f"{base}/invoices/{issued[shop]['invoice_id']}/printable", clerk)
    reference = issued[shop]["reference"]
    assert status == 200 and f"{reference[:-5]} {reference[-5:]}" in page and "Kemin Kierrätyskeskus ry" in page

    # Another area's clerk sees none of it; a manager reads receivables but no Finvoice.
    invoice_id = issued[shop]["invoice_id"]
    assert (await call("GET", f"{base}/invoices/{invoice_id}", token("payroll_clerk", "tornio")))[0] == 404
    assert (await call("GET", f"{base}/invoices/{invoice_id}/finvoice.xml", token("manager", "kemi")))[0] == 403
    assert (await call("GET", f"{base}/receivables", token("manager", "kemi")))[0] == 200
    assert (await call("POST", f"{base}/payroll-runs", token("case_worker", "kemi"), {
        "pay_period": "month", "period_start": "2026-10-01", "period_end": "2026-10-31"}))[0] == 403
    assert await get_json(f"{base}/receivables?on=2026-11-30", clerk)


@BOTH_DATABASES
async def test_two_invoices_at_once_bill_an_hour_once(five_services, token):
    url, payroll = url_of(five_services), five_services["payroll_billing"]
    ids = await create_history(url, token, "kemi")
    clerk, base = token("payroll_clerk", "kemi"), url("payroll_billing")
    status, _ = await call("POST", f"{base}/employments/{ids['employment_id']}/timesheets", clerk, {
        "period_start": "2026-10-01", "period_end": "2026-10-31",
        "days": [{"works_on": f"2026-10-0{day}", "hours": "6"} for day in (1, 2, 5, 6, 7)]})
    assert status == 201
    before = await count(payroll, events)
    october = {"employer_id": ids["employer_id"], "period_start": "2026-10-01", "period_end": "2026-10-31"}
    results = await asyncio.gather(*(call("POST", f"{base}/invoices", clerk, october) for _ in range(4)))
    statuses = sorted(status for status, _ in results)
    assert statuses[0] == 201 and set(statuses[1:]) <= {409, 422}, results
    [invoice] = [body for status, body in results if status == 201]
    assert invoice["hours"] == "30.00"
    assert await count(payroll, events) == before + 1, "the refused ones wrote nothing"
    async with payroll.engine.connect() as connection:
        billed = (await connection.execute(select(func.count()).select_from(worked_days).where(
            worked_days.c.invoice_id == invoice["invoice_id"]))).scalar_one()
    assert billed == 5


async def test_a_bank_file_may_be_larger_than_a_json_body(five_services, token):
    """700 payments (~190 KiB) go in; a file over the route's 5 MiB is 413 naming that limit, and a JSON
    body over 64 KiB on another route is still 413 at 64 KiB."""
    url, payroll = url_of(five_services), five_services["payroll_billing"]
    clerk, base = token("payroll_clerk", "kemi"), url("payroll_billing")
    many = bank_notification(*((f"BIG-{n}", "10.00", "12344") for n in range(700)), booked_on=date(2026, 10, 1))
    assert len(many) > MAX_BODY_BYTES
    status, imported = await call("POST", f"{base}/payments/camt054", clerk, data=many, headers=XML)
    assert (status, imported) == (200, {"payments": 700, "matched": 0, "unmatched": 700, "already_imported": 0})
    status, problem = await call("POST", f"{base}/payments/camt054", clerk, data=b" " * (MAX_BYTES + 1), headers=XML)
    assert status == 413 and str(MAX_BYTES) in problem["detail"]
    status, problem = await call("POST", f"{base}/payroll-runs", clerk, {"pay_period": "x" * MAX_BODY_BYTES})
    assert status == 413 and problem["detail"] == f"the body may be at most {MAX_BODY_BYTES} bytes"
    assert await count(payroll, payments) == 700
    async with aiohttp.ClientSession() as http, http.get(f"{base}/openapi.json") as response:
        operation = (await response.json())["paths"]["/payments/camt054"]["post"]
    assert list(operation["requestBody"]["content"]) == ["application/xml"] and "413" in operation["responses"]
