"""Billing per month: invoices issued, hours and euros; paid and overdue follow payroll's events."""
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.reports.document import Report, Scope, Source, Table, hundredths
from services.reporting.reports.queries import in_scope, month_of
from services.reporting.tables import invoices

WAITING = "paid and overdue wait for payroll's PaymentReceived and InvoiceOverdue events (issue #9): null until then"


async def billing(connection: AsyncConnection, scope: Scope) -> Report:
    month = month_of(connection, invoices.c.issued_on)
    rows = (await connection.execute(
        select(month, func.count(), func.sum(invoices.c.hundredths_of_hours), func.sum(invoices.c.amount_cents))
        .where(*in_scope(scope, invoices.c.employment_area, invoices.c.issued_on))
        .group_by(month).order_by(month))).all()
    table = Table("billing_by_month", "Invoiced, paid and overdue by month of issue",
                  "Laskutettu, maksettu ja erääntynyt laskutuskuukauden mukaan",
                  ["month", "invoices", "hours", "invoiced_eur", "paid_eur", "overdue_eur"],
                  [[m, count, hundredths(hours), hundredths(cents), None, None]
                   for m, count, hours, cents in rows])
    return Report("billing", scope, [table], sources=[
        Source("invoiced", "payroll_billing's event EmployerInvoiced (net amount, hours)")], notes=[WAITING])
