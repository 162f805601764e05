"""HTTP API of payroll-billing."""
from datetime import date
from decimal import Decimal
from uuid import UUID, uuid4

from aiohttp import web
from pydantic import BaseModel

from contracts.events.payroll_billing import EmployerInvoiced
from contracts.values import Money
from services.payroll_billing.domain import EMPLOYMENT, ApproveTimesheet, InvoiceEmployer, approve, invoice
from services.platform.http import RUNTIME, Route, path_uuid


class EmploymentView(BaseModel):
    employment_id: UUID
    client_id: UUID
    employer_id: UUID
    hourly_billing_rate: Money
    approved_hours: Decimal
    invoiced_hours: Decimal


def _view(employment) -> EmploymentView:
    opened = employment.opened
    return EmploymentView(employment_id=opened.employment_id, client_id=opened.client_id,
                          employer_id=opened.employer_id, hourly_billing_rate=opened.hourly_billing_rate,
                          approved_hours=employment.approved_hours, invoiced_hours=employment.invoiced_hours)


async def get_employment(request: web.Request) -> EmploymentView:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        employment, _ = await uow.read(EMPLOYMENT, str(path_uuid(request, "employment_id")))
    return _view(employment)


async def approve_timesheet(request: web.Request, command: ApproveTimesheet) -> EmploymentView:
    runtime, employment_id = request.app[RUNTIME], path_uuid(request, "employment_id")
    async with runtime.unit_of_work(request) as uow:
        employment = await uow.decide(EMPLOYMENT, str(employment_id),
                                      lambda employment: approve(employment, employment_id, uuid4(), command))
    return _view(employment)


async def invoice_employer(request: web.Request, command: InvoiceEmployer) -> EmployerInvoiced:
    runtime, employment_id = request.app[RUNTIME], path_uuid(request, "employment_id")
    async with runtime.unit_of_work(request) as uow:
        await uow.decide(EMPLOYMENT, str(employment_id),
                         lambda employment: invoice(employment, employment_id, uuid4(), command, date.today()))
    return uow.decided[-1]


ROUTES = [
    Route("GET", "/employments/{employment_id}", get_employment, "An employment and its hours",
          response=EmploymentView),
    Route("POST", "/employments/{employment_id}/timesheets", approve_timesheet, "Record approved hours",
          body=ApproveTimesheet, response=EmploymentView, status=201),
    Route("POST", "/employments/{employment_id}/invoices", invoice_employer,
          "Invoice the employer for approved hours not invoiced before", body=InvoiceEmployer,
          response=EmployerInvoiced, status=201),
]
