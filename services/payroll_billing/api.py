"""HTTP API of payroll-billing: the payroll clerk's work. Personal data (wages, payroll lines, pay
subsidy decisions) is read through the clerk's endpoints only, each read written to the audit log."""
from datetime import date
from decimal import Decimal
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel

from contracts.events.employer import PooledTask
from contracts.events.payroll_billing import (EmployerInvoiced, InvoiceOverdue, MunicipalSupplementClaimed,
                                              PaySubsidyClaimed,
                                              PayrollRunClosed, ReminderSent)
from contracts.values import Money
from services.payroll_billing import camt054, ledger, use_cases
from services.payroll_billing.domain import customer as customers
from services.payroll_billing.domain import employment as employments
from services.payroll_billing.domain import invoice as invoices
from services.payroll_billing.domain import payroll_run as payroll
from services.payroll_billing.domain import subsidy_claim as subsidies
from services.payroll_billing.finvoice import Seller, finvoice
from services.payroll_billing.printable import printable
from services.platform.errors import NotFound
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
    tasks: list[PooledTask]  # a pooled gig job's tasks, whose hours the timesheets name


def _view(employment: employments.Employment) -> EmploymentView:
    opened, terms = employment.opened, employment.terms
    return EmploymentView(employment_id=opened.employment_id, client_id=opened.client_id,
                          employer_id=opened.employer_id, kind=opened.kind, pays_wage=employment.pays_wage,
                          hourly_billing_rate=getattr(opened, "hourly_billing_rate", None),
                          approved_hours=employment.approved_hours,
                          collective_agreement=terms and terms.collective_agreement,
                          pay_period=terms and terms.pay_period,
                          tasks=sorted(employment.tasks.values(), key=lambda task: (task.works_on, task.starts_at)))


async def get_employment(request: web.Request) -> EmploymentView:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        employment, _ = await uow.read(employments.EMPLOYMENT, str(path_uuid(request, "employment_id")))
    return _view(employment)


async def agree_wage_terms(request: web.Request, command: employments.AgreeWageTerms) -> EmploymentView:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        employment = await use_cases.agree_wage_terms(uow, path_uuid(request, "employment_id"), command)
    return _view(employment)


async def approve_timesheet(request: web.Request, command: employments.ApproveTimesheet) -> EmploymentView:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        employment = await use_cases.approve_timesheet(uow, path_uuid(request, "employment_id"), command)
    return _view(employment)


class PayrollRunView(BaseModel):
    run: PayrollRunClosed
    rules_unverified: bool


async def run_payroll(request: web.Request, command: payroll.StartPayrollRun) -> PayrollRunView:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        closed = await use_cases.run_payroll(uow, command)
    return PayrollRunView(run=closed, rules_unverified=any("UNVERIFIED" in rule for rule in closed.rules))


async def get_payroll_lines(request: web.Request) -> list[payroll.PayrollLine]:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        return await use_cases.payroll_lines(uow, path_uuid(request, "run_id"))


async def invoice_employer(request: web.Request, command: invoices.InvoiceEmployer) -> EmployerInvoiced:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        return await use_cases.invoice_employer(uow, command, date.today())


class InvoiceView(BaseModel):
    invoice: EmployerInvoiced
    credit_note_id: UUID | None
    payable: Money
    paid: Money
    open_amount: Money
    reminders: tuple[ReminderSent, ...]


def _invoice_view(invoice: invoices.Invoice) -> InvoiceView:
    return InvoiceView(invoice=invoice.issued, credit_note_id=invoice.credited and invoice.credited.credit_note_id,
                       payable=invoice.payable, paid=invoice.paid, open_amount=invoice.open_amount,
                       reminders=invoice.reminders)


async def get_invoice(request: web.Request) -> InvoiceView:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        invoice, _ = await uow.read(invoices.INVOICE, str(path_uuid(request, "invoice_id")))
    return _invoice_view(invoice)


async def get_finvoice(request: web.Request) -> web.Response:
    invoice_id, credit_note = path_uuid(request, "invoice_id"), request.query.get("credit_note") == "true"
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        invoice, buyer = await use_cases.invoice_and_buyer(uow, invoice_id)
    if credit_note and invoice.credited is None:
        raise NotFound(f"invoice {invoice_id} has no credit note")
    document = finvoice(invoice.issued, Seller(), buyer, invoice.credited if credit_note else None)
    return web.Response(body=document, content_type="application/xml", charset="utf-8")


async def get_printable(request: web.Request) -> web.Response:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        invoice, buyer = await use_cases.invoice_and_buyer(uow, path_uuid(request, "invoice_id"))
    return web.Response(text=printable(invoice.issued, Seller(), buyer), content_type="text/html")


async def credit_invoice(request: web.Request, command: invoices.CreditInvoice) -> InvoiceView:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        invoice = await use_cases.credit_invoice(uow, path_uuid(request, "invoice_id"), command, date.today())
    return _invoice_view(invoice)


async def send_reminder(request: web.Request, command: invoices.SendReminder) -> ReminderSent:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        return await use_cases.send_reminder(uow, path_uuid(request, "invoice_id"), command, date.today())


async def note_overdue(request: web.Request, command: invoices.NoteOverdue) -> InvoiceOverdue:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        return await use_cases.note_overdue(uow, path_uuid(request, "invoice_id"), command)


async def set_vat_status(request: web.Request, command: customers.RecordVatStatus) -> customers.RecordVatStatus:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        await use_cases.set_vat_status(uow, path_uuid(request, "employer_id"), command)
    return command


async def import_camt054(request: web.Request) -> use_cases.PaymentsImported:
    try:
        incoming = camt054.read(await request.read())
    except camt054.Camt054Refused as refusal:
        raise invalid(refusal.field, refusal.rule) from None
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        return await use_cases.import_payments(uow, incoming)


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
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        await use_cases.record_pay_subsidy_decision(uow, path_uuid(request, "employment_id"), command)
    return command


async def claim_pay_subsidy(request: web.Request, command: subsidies.ClaimMonth) -> PaySubsidyClaimed:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        return await use_cases.claim_pay_subsidy(uow, path_uuid(request, "employment_id"), command)


async def claim_kemi_supplement(request: web.Request,
                                command: subsidies.ClaimKemiSupplement) -> MunicipalSupplementClaimed:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        return await use_cases.claim_kemi_supplement(uow, path_uuid(request, "employment_id"), command)


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
    Route("POST", "/invoices/{invoice_id}/overdue", note_overdue,
          "Note the invoice as overdue: something is open after its due date (once)", body=invoices.NoteOverdue,
          response=InvoiceOverdue, status=201),
    Route("POST", "/invoices/{invoice_id}/credit-notes", credit_invoice,
          "Credit the whole invoice; its hours may be invoiced again", body=invoices.CreditInvoice,
          response=InvoiceView, status=201),
    Route("POST", "/customers/{employer_id}/vat-status", set_vat_status,
          "Record whether the employer is exempt from VAT on the foundation's invoices",
          body=customers.RecordVatStatus, response=customers.RecordVatStatus),
    Route("POST", "/payments/camt054", import_camt054,
          "Import the bank's camt.054 notification of reference payments (XML body)",
          response=use_cases.PaymentsImported, max_body_bytes=camt054.MAX_BYTES, file_type="application/xml"),
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
