"""Billing per month of issue: invoices issued, hours and euros, and what became of them since (credit
notes, payments, what is still open, overdue and reminded), from the Invoice aggregate's events."""
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.reports.document import Report, Scope, Source, Table, hundredths
from services.reporting.reports.queries import in_scope, month_of, total
from services.reporting.tables import invoice_tally

COLUMNS = ["month", "invoices", "hours", "invoiced_eur", "invoiced_with_vat_eur", "credited_eur", "paid_eur",
           "open_eur", "overdue_eur", "reminders"]


async def billing(connection: AsyncConnection, scope: Scope) -> Report:
    tally = invoice_tally.c
    month = month_of(connection, tally.issued_on)
    rows = (await connection.execute(
        select(month, total(tally.invoices), *(func.sum(column) for column in (
            tally.hundredths_of_hours, tally.amount_cents, tally.total_cents, tally.credited_total_cents,
            tally.paid_cents, tally.open_cents, tally.overdue_cents)), total(tally.reminders))
        .where(*in_scope(scope, tally.employment_area, tally.issued_on))
        .group_by(month).having(total(tally.invoices) > 0).order_by(month))).all()
    table = Table("billing_by_month", "Invoiced, paid and overdue by month of issue",
                  "Laskutettu, maksettu ja erääntynyt laskutuskuukauden mukaan", COLUMNS,
                  [[m, count, *(hundredths(value) for value in euros), reminders]
                   for m, count, *euros, reminders in rows])
    return Report("billing", scope, [table], sources=[
        Source("invoiced", "payroll_billing's event EmployerInvoiced: net amount, total with VAT, hours"),
        Source("credited", "InvoiceCredited: the credit note's total with VAT"),
        Source("paid", "PaymentReceived: paid_total, the invoice's payments so far (with VAT, as the bank booked "
                       "them; an overpayment included)"),
        Source("open", "the total less the credit note less what was paid, never below 0"),
        Source("overdue", "what is open now of the invoices InvoiceOverdue noted (a later payment lowers it)"),
        Source("reminders", "ReminderSent"),
    ], notes=["Every figure is by the month the invoice was issued: a payment in April of a March invoice "
              "counts in March."])
