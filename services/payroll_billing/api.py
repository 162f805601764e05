"""HTTP API of payroll-billing: the payroll clerk's work. Personal data (wages, payroll lines, pay
subsidy decisions) is read through the clerk's endpoints only, each read written to the audit log."""
from datetime import date
from decimal import Decimal
from uuid import UUID, uuid4

from aiohttp import web
from pydantic import BaseModel

from contracts.events.base import Event
from contracts.events.payroll_billing import (EmployerInvoiced, MunicipalSupplementClaimed, PaySubsidyClaimed,
                                              PayrollRunClosed, ReminderSent)
from contracts.values import Money
from services.payroll_billing import camt054, ledger
from services.payroll_billing.domain import customer as customers
from services.payroll_billing.domain import employment as employments
from services.payroll_billing.domain import invoice as invoices
from services.payroll_billing.domain import payroll_run as payroll
from services.payroll_billing.domain import subsidy_claim as subsidies
from services.payroll_billing.domain.money import normalised_reference
from services.payroll_billing.finvoice import Seller, finvoice
from services.payroll_billing.printable import printable
from services.payroll_billing.policies import keeping
from services.platform.errors import NotFound, RuleViolated
from services.platform.http import RUNTIME, Route, callers_area, invalid, path_uuid


class EmploymentView(BaseModel):
    employment_id: UUID
    client_id: UUID
    employer_id: UUID
    kind: str
    pays_wage: bool
    hourly_billing_rate: Money | None
    approved_hours: Decimal
    collective_agreement: str | None
    pay_period: str | None


def _view(employment: employments.Employment) -> EmploymentView:
    opened, terms = employment.opened, employment.terms
    return EmploymentView(employment_id=opened.employment_id, client_id=opened.client_id,
                          employer_id=opened.employer_id, kind=opened.kind, pays_wage=employment.pays_wage,
                          hourly_billing_rate=getattr(opened, "hourly_billing_rate", None),
                          approved_hours=employment.approved_hours,
                          collective_agreement=terms and terms.collective_agreement,
                          pay_period=terms and terms.pay_period)


async def get_employment(request: web.Request) -> EmploymentView:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        employment, _ = await uow.read(employments.EMPLOYMENT, str(path_uuid(request, "employment_id")))
    return _view(employment)


async def agree_wage_terms(request: web.Request, command: employments.AgreeWageTerms) -> EmploymentView:
    employment_id = path_uuid(request, "employment_id")
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        employment = await uow.decide(employments.EMPLOYMENT, str(employment_id),
                                      lambda state: employments.agree_terms(state, employment_id, command))
        await ledger.record_wage(uow.connection, employment_id, command)
    return _view(employment)


async def approve_timesheet(request: web.Request, command: employments.ApproveTimesheet) -> EmploymentView:
    employment_id = path_uuid(request, "employment_id")
    approved: list[Event] = []
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        employment = await uow.decide(employments.EMPLOYMENT, str(employment_id), keeping(
            approved, lambda state: employments.approve(state, employment_id, uuid4(), command)))
        await ledger.record_days(uow.connection, approved[0], uow.actor.area)
    return _view(employment)


class PayrollRunView(BaseModel):
    run: PayrollRunClosed
    rules_unverified: bool


async def run_payroll(request: web.Request, command: payroll.StartPayrollRun) -> PayrollRunView:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        area = uow.actor.area
        payroll.refuse_second_run(await ledger.ordinary_run(uow.connection, area, command.pay_period,
                                                            command.period_start), command)
        corrected, corrected_lines = None, []
        if command.corrects_run_id:
            try:
                run, _ = await uow.read(payroll.PAYROLL_RUN, str(command.corrects_run_id))
                corrected = run.closed
            except NotFound:
                pass
            corrected_lines = await ledger.lines_of(uow.connection, command.corrects_run_id)
        facts = await ledger.payroll_facts(uow.connection, area, command.pay_period, command.period_start,
                                           command.period_end)
        lines = [payroll.payroll_line(fact, days, command.period_end) for fact, days in facts]
        run_id = uuid4()
        events, lines = payroll.close(run_id, command, lines, corrected, corrected_lines)
        await uow.create(payroll.PAYROLL_RUN, str(run_id), lambda _state: events, area=area)
        await ledger.save_lines(uow.connection, run_id, lines)
        await ledger.record_run(uow.connection, run_id, area, command.pay_period, command.period_start,
                                command.corrects_run_id)
    closed = events[0]
    return PayrollRunView(run=closed, rules_unverified=any("UNVERIFIED" in rule for rule in closed.rules))


async def get_payroll_lines(request: web.Request) -> list[payroll.PayrollLine]:
    run_id = path_uuid(request, "run_id")
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        await uow.read(payroll.PAYROLL_RUN, str(run_id))  # 404 for another area's run
        lines = await ledger.lines_of(uow.connection, run_id)
        await uow.audit_read(f"PayrollRun {run_id}", "payroll lines")
    return lines


async def invoice_employer(request: web.Request, command: invoices.InvoiceEmployer) -> EmployerInvoiced:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        area = uow.actor.area
        _, vat_exempt = await ledger.buyer(uow.connection, command.employer_id, area)
        days = await ledger.unbilled_days(uow.connection, area, command.employer_id, command.period_start,
                                          command.period_end)
        [issued] = invoices.issue(uuid4(), command, vat_exempt, days, date.today())
        await uow.create(invoices.INVOICE, str(issued.invoice_id), lambda _state: [issued], area=area)
        await ledger.mark_billed(uow.connection, issued, area, len(days))
        await ledger.open_receivable(uow.connection, issued, area)
    return issued


class InvoiceView(BaseModel):
    invoice: EmployerInvoiced
    credit_note_id: UUID | None
    payable: Money
    paid: Money
    open_amount: Money
    reminders: tuple[ReminderSent, ...]


async def get_invoice(request: web.Request) -> InvoiceView:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        invoice, _ = await uow.read(invoices.INVOICE, str(path_uuid(request, "invoice_id")))
    return InvoiceView(invoice=invoice.issued, credit_note_id=invoice.credited and invoice.credited.credit_note_id,
                       payable=invoice.payable, paid=invoice.paid, open_amount=invoice.open_amount,
                       reminders=invoice.reminders)


async def get_finvoice(request: web.Request) -> web.Response:
    invoice_id = path_uuid(request, "invoice_id")
    credit_note = request.query.get("credit_note") == "true"
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        invoice, _ = await uow.read(invoices.INVOICE, str(invoice_id))
        buyer, _ = await ledger.buyer(uow.connection, invoice.issued.employer_id, uow.actor.area)
    if credit_note and invoice.credited is None:
        raise NotFound(f"invoice {invoice_id} has no credit note")
    document = finvoice(invoice.issued, Seller(), buyer, invoice.credited if credit_note else None)
    return web.Response(body=document, content_type="application/xml", charset="utf-8")


async def get_printable(request: web.Request) -> web.Response:
    invoice_id = path_uuid(request, "invoice_id")
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        invoice, _ = await uow.read(invoices.INVOICE, str(invoice_id))
        buyer, _ = await ledger.buyer(uow.connection, invoice.issued.employer_id, uow.actor.area)
    return web.Response(text=printable(invoice.issued, Seller(), buyer), content_type="text/html")


async def credit_invoice(request: web.Request, command: invoices.CreditInvoice) -> InvoiceView:
    invoice_id = path_uuid(request, "invoice_id")
    credited: list[Event] = []
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        await uow.decide(invoices.INVOICE, str(invoice_id), keeping(
            credited, lambda state: invoices.credit(state, invoice_id, uuid4(), command, date.today())))
        await ledger.release_days(uow.connection, credited[0])
        await ledger.follow_receivable(uow.connection, credited[0])
    return await get_invoice(request)


async def send_reminder(request: web.Request, command: invoices.SendReminder) -> ReminderSent:
    invoice_id = path_uuid(request, "invoice_id")
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        await uow.decide(invoices.INVOICE, str(invoice_id),
                         lambda state: invoices.remind(state, invoice_id, uuid4(), command, date.today()))
    return uow.decided[-1]


async def set_vat_status(request: web.Request, command: customers.RecordVatStatus) -> customers.RecordVatStatus:
    employer_id = path_uuid(request, "employer_id")
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        await ledger.set_vat_exempt(uow.connection, employer_id, uow.actor.area, command.vat_exempt)
        await uow.decide(customers.CUSTOMER, str(employer_id),
                         lambda state: customers.record_vat_status(state, employer_id, command), area=uow.actor.area)
    return command


class PaymentImport(BaseModel):
    payments: int
    matched: int
    unmatched: int
    already_imported: int


async def import_camt054(request: web.Request) -> PaymentImport:
    try:
        incoming = camt054.read(await request.read())
    except camt054.Camt054Refused as refusal:
        raise invalid(refusal.field, refusal.rule) from None
    matched = unmatched = 0
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        area = uow.actor.area
        seen = await ledger.known_payments(uow.connection, [payment.bank_reference for payment in incoming])
        for payment in incoming:
            if payment.bank_reference in seen:
                continue
            seen.add(payment.bank_reference)
            invoice_id = payment.reference and await ledger.invoice_by_reference(
                uow.connection, normalised_reference(payment.reference), area)
            if invoice_id:
                received: list[Event] = []
                await uow.decide(invoices.INVOICE, str(invoice_id), keeping(received, lambda state: (
                    invoices.register_payment(state, invoice_id, uuid4(), payment.bank_reference, payment.amount,
                                              payment.booked_on))))
                await ledger.follow_receivable(uow.connection, received[0])
                matched += 1
            else:
                unmatched += 1
            await ledger.record_payment(uow.connection, payment, area, invoice_id or None)
    return PaymentImport(payments=len(incoming), matched=matched, unmatched=unmatched,
                         already_imported=len(incoming) - matched - unmatched)


class UnmatchedPayment(BaseModel):
    employment_area: str
    bank_reference: str
    amount: Money
    booked_on: date
    reference: str | None


class Receivable(BaseModel):
    employer_id: UUID
    employment_area: str
    invoices: int
    invoiced: Money
    paid: Money
    open: Money
    overdue: Money
    overdue_invoices: int


async def get_unmatched_payments(request: web.Request) -> list[UnmatchedPayment]:
    area = callers_area(request)
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        return [UnmatchedPayment(**row) for row in await ledger.unmatched_payments(uow.connection, area)]


async def get_receivables(request: web.Request) -> list[Receivable]:
    try:
        on = date.fromisoformat(request.query.get("on", date.today().isoformat()))
    except ValueError:
        raise invalid("on", "an ISO 8601 date (YYYY-MM-DD)") from None
    area = callers_area(request)
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        return [Receivable(**row) for row in await ledger.receivables_on(uow.connection, area, on)]


async def record_pay_subsidy_decision(
        request: web.Request, command: subsidies.RecordPaySubsidyDecision) -> subsidies.RecordPaySubsidyDecision:
    employment_id = path_uuid(request, "employment_id")
    subsidies.decision_rule(command)
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        employment = await uow.decide(employments.EMPLOYMENT, str(employment_id), lambda state: (
            employments.grant_pay_subsidy(state, employment_id, command.reference, command.starts_on,
                                          command.ends_on)))
        await ledger.save_decision(uow.connection, employment_id, employment.opened.client_id, command)
    return command


async def _month_wages(uow, employment_id: UUID, days) -> payroll.PayrollLine:
    facts = await ledger.employment_facts(uow.connection, employment_id)
    if facts is None:
        raise NotFound(f"no employment {employment_id}")
    return payroll.payroll_line(facts, days, days[-1][0] if days else date.today())


async def claim_pay_subsidy(request: web.Request, command: subsidies.ClaimMonth) -> PaySubsidyClaimed:
    employment_id = path_uuid(request, "employment_id")
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        employment, _ = await uow.read(employments.EMPLOYMENT, str(employment_id))
        decision = await ledger.decision_of(uow.connection, employment_id)
        if decision is None:
            raise RuleViolated("employment_id", f"employment {employment_id} has no pay subsidy decision")
        rule = subsidies.decision_rule(decision)
        days = subsidies.subsidised_days(decision, rule, command, await ledger.days_of(
            uow.connection, employment_id, command.first_day, command.last_day))
        wages = await _month_wages(uow, employment_id, days)
        claim_id = subsidies.claim_id("pay_subsidy", employment_id, command.month)
        await uow.decide(subsidies.SUBSIDY_CLAIM, str(claim_id), lambda state: subsidies.claim_pay_subsidy(
            state, employment_id, decision, rule, command, wages), area=uow.actor.area)
    return uow.decided[-1]


async def claim_kemi_supplement(request: web.Request,
                                command: subsidies.ClaimKemiSupplement) -> MunicipalSupplementClaimed:
    employment_id = path_uuid(request, "employment_id")
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        employment, _ = await uow.read(employments.EMPLOYMENT, str(employment_id))
        if not employment.pays_wage:
            raise RuleViolated("employment_id", "Kemi-lisä is for an employment")
        days = await ledger.days_of(uow.connection, employment_id, command.first_day, command.last_day)
        wages = await _month_wages(uow, employment_id, days)
        pay_subsidy = Decimal(0)
        try:
            claim, _ = await uow.read(subsidies.SUBSIDY_CLAIM,
                                      str(subsidies.claim_id("pay_subsidy", employment_id, command.month)))
            pay_subsidy = claim.claimed.amount
        except NotFound:
            pass
        decision = await ledger.decision_of(uow.connection, employment_id)
        claim_id = subsidies.claim_id("kemi_supplement", employment_id, command.month)
        await uow.decide(subsidies.SUBSIDY_CLAIM, str(claim_id), lambda state: subsidies.claim_kemi_supplement(
            state, employment, decision, pay_subsidy, command, wages), area=uow.actor.area)
    return uow.decided[-1]


ROUTES = [
    Route("GET", "/employments/{employment_id}", get_employment, "An employment (or attendance) and its hours",
          response=EmploymentView),
    Route("POST", "/employments/{employment_id}/wage-terms", agree_wage_terms,
          "The employment's wage terms; the wage stays in payroll's own database", body=employments.AgreeWageTerms,
          response=EmploymentView, status=201),
    Route("POST", "/employments/{employment_id}/timesheets", approve_timesheet,
          "Approve the days and hours of a period, checked against the schedule", body=employments.ApproveTimesheet,
          response=EmploymentView, status=201),
    Route("POST", "/payroll-runs", run_payroll, "Run and close the payroll of a pay period",
          body=payroll.StartPayrollRun, response=PayrollRunView, status=201),
    Route("GET", "/payroll-runs/{run_id}/lines", get_payroll_lines, "A run's lines per employment (personal data)",
          response=list[payroll.PayrollLine]),
    Route("POST", "/invoices", invoice_employer, "Invoice an employer for its approved hours of a period",
          body=invoices.InvoiceEmployer, response=EmployerInvoiced, status=201),
    Route("GET", "/invoices/{invoice_id}", get_invoice, "An invoice, its payments, credit note and reminders",
          response=InvoiceView),
    Route("GET", "/invoices/{invoice_id}/finvoice.xml", get_finvoice,
          "The invoice as a Finvoice 3.0 document (?credit_note=true: its credit note)"),
    Route("GET", "/invoices/{invoice_id}/printable", get_printable, "The invoice as a printable page"),
    Route("POST", "/invoices/{invoice_id}/reminders", send_reminder,
          "A payment reminder with late-payment interest and the reminder fee", body=invoices.SendReminder,
          response=ReminderSent, status=201),
    Route("POST", "/invoices/{invoice_id}/credit-notes", credit_invoice,
          "Credit the whole invoice; its hours may be invoiced again", body=invoices.CreditInvoice,
          response=InvoiceView, status=201),
    Route("POST", "/customers/{employer_id}/vat-status", set_vat_status,
          "Record whether the employer is exempt from VAT on the foundation's invoices",
          body=customers.RecordVatStatus, response=customers.RecordVatStatus),
    Route("POST", "/payments/camt054", import_camt054,
          "Import the bank's camt.054 notification of reference payments (XML body)", response=PaymentImport),
    Route("GET", "/payments/unmatched", get_unmatched_payments, "Payments no invoice's reference matched",
          response=list[UnmatchedPayment]),
    Route("GET", "/receivables", get_receivables, "Invoiced, paid, open and overdue per employer (?on=date)",
          response=list[Receivable]),
    Route("POST", "/employments/{employment_id}/pay-subsidy-decisions", record_pay_subsidy_decision,
          "Record the pay subsidy decision of a pay subsidised job", body=subsidies.RecordPaySubsidyDecision,
          response=subsidies.RecordPaySubsidyDecision, status=201),
    Route("POST", "/employments/{employment_id}/pay-subsidy-claims", claim_pay_subsidy,
          "Claim the pay subsidy of one calendar month", body=subsidies.ClaimMonth, response=PaySubsidyClaimed,
          status=201),
    Route("POST", "/employments/{employment_id}/kemi-supplement-claims", claim_kemi_supplement,
          "Claim the Kemi-lisä of one calendar month", body=subsidies.ClaimKemiSupplement,
          response=MunicipalSupplementClaimed, status=201),
]
