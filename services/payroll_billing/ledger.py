"""Reads and writes of payroll-billing's own tables, in the caller's transaction (tables.py)."""
from collections import defaultdict
from datetime import date
from decimal import Decimal
from uuid import UUID

from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events.employer import EmployerDetailsCorrected, EmployerRegistered
from contracts.events.intake import EligibilityAssessed
from contracts.events.payroll_billing import (AttendanceOpened, EmployerInvoiced, EmploymentOpened, InvoiceCredited,
                                              PaymentReceived, TimesheetApproved)
from services.payroll_billing.camt054 import IncomingPayment
from services.payroll_billing.domain.employment import AgreeWageTerms
from services.payroll_billing.domain.invoice import BillableDay
from services.payroll_billing.domain.payroll_run import PayrollFacts, PayrollLine, paid
from services.payroll_billing.domain.subsidy_claim import PersonFacts, RecordPaySubsidyDecision
from services.payroll_billing.finvoice import Buyer
from services.payroll_billing.tables import (client_facts, customers, pay_subsidy_decisions, payments, payroll_lines,
                                             payroll_register, payroll_runs, placements_not_here, receivables,
                                             wage_rates, worked_days)
from services.platform.errors import ConcurrencyConflict, RuleViolated

LINE_AMOUNTS = ("gross_wage", "holiday_compensation", "expense_allowance", "pension", "unemployment_insurance",
                "accident_insurance", "health_insurance")


# --- the payroll register (personal) ---------------------------------------------------------------

# Built once, for the statements a consumer catching up runs per event: building one per call (and its
# cache key) cost payroll's catch-up a sixth of its CPU (py-spy, 2026-11-30).
REGISTER = insert(payroll_register)
FORGET_FACTS = delete(client_facts).where(client_facts.c.client_id == bindparam("client"))
KEEP_FACTS = insert(client_facts)
NOT_HERE = insert(placements_not_here)
IS_NOT_HERE = select(placements_not_here.c.placement_id).where(placements_not_here.c.placement_id == bindparam("id"))


async def note_not_here(connection: AsyncConnection, placement_id: UUID) -> None:
    """A placement that opened nothing here (domain/employment.py `concerns_payroll`)."""
    await connection.execute(NOT_HERE, {"placement_id": str(placement_id)})


async def is_not_here(connection: AsyncConnection, placement_id: UUID) -> bool:
    return (await connection.execute(IS_NOT_HERE, {"id": str(placement_id)})).first() is not None


async def register(connection: AsyncConnection, opened: EmploymentOpened | AttendanceOpened, area: str) -> None:
    await connection.execute(REGISTER, {
        "employment_id": str(opened.employment_id), "client_id": str(opened.client_id), "area": area,
        "pays_wage": isinstance(opened, EmploymentOpened), "starts_on": opened.starts_on, "pay_period": "month"})


async def record_wage(connection: AsyncConnection, employment_id: UUID, client_id: UUID,
                      terms: AgreeWageTerms) -> None:
    """The wage from `valid_from` on (terms agreed again for the same day replace it) and the pay period."""
    await connection.execute(update(payroll_register).where(payroll_register.c.employment_id == str(employment_id))
                             .values(pay_period=terms.pay_period))
    await connection.execute(delete(wage_rates).where(wage_rates.c.employment_id == str(employment_id),
                                                      wage_rates.c.valid_from == terms.valid_from))
    await connection.execute(insert(wage_rates).values(employment_id=str(employment_id), client_id=str(client_id),
                                                       valid_from=terms.valid_from, hourly_wage=terms.hourly_wage))


async def _wages(connection: AsyncConnection, condition) -> dict[str, tuple[tuple[date, Decimal], ...]]:
    rows = await connection.execute(select(wage_rates).where(condition).order_by(wage_rates.c.valid_from))
    found: dict[str, list] = defaultdict(list)
    for row in rows:
        found[row.employment_id].append((row.valid_from, row.hourly_wage))
    return {employment_id: tuple(wages) for employment_id, wages in found.items()}


async def payroll_facts(connection: AsyncConnection, area: str, pay_period: str, start: date,
                        end: date) -> list[tuple[PayrollFacts, list[tuple[date, Decimal]]]]:
    """The employments of the area paid in this kind of run, with their approved days in the period."""
    rows = await connection.execute(
        select(payroll_register, worked_days.c.works_on, worked_days.c.hours)
        .join(worked_days, worked_days.c.employment_id == payroll_register.c.employment_id)
        .where(payroll_register.c.area == area, payroll_register.c.pay_period == pay_period,
               worked_days.c.works_on.between(start, end))
        .order_by(payroll_register.c.employment_id, worked_days.c.works_on))
    wages = await _wages(connection, wage_rates.c.employment_id.in_(
        select(payroll_register.c.employment_id).where(payroll_register.c.area == area)))
    found: dict[str, tuple[PayrollFacts, list]] = {}
    for row in rows:
        if row.employment_id not in found:
            found[row.employment_id] = (PayrollFacts(UUID(row.employment_id), UUID(row.client_id), row.pays_wage,
                                                     row.starts_on, wages.get(row.employment_id, ())), [])
        found[row.employment_id][1].append((row.works_on, row.hours))
    return list(found.values())


async def employment_facts(connection: AsyncConnection, employment_id: UUID) -> PayrollFacts | None:
    row = (await connection.execute(select(payroll_register).where(
        payroll_register.c.employment_id == str(employment_id)))).first()
    if row is None:
        return None
    wages = await _wages(connection, wage_rates.c.employment_id == str(employment_id))
    return PayrollFacts(UUID(row.employment_id), UUID(row.client_id), row.pays_wage, row.starts_on,
                        wages.get(row.employment_id, ()))


async def days_of(connection: AsyncConnection, employment_id: UUID, start: date,
                  end: date) -> list[tuple[date, Decimal]]:
    rows = await connection.execute(select(worked_days.c.works_on, worked_days.c.hours).where(
        worked_days.c.employment_id == str(employment_id), worked_days.c.works_on.between(start, end)))
    by_day: dict[date, Decimal] = defaultdict(Decimal)
    for works_on, hours in rows:
        by_day[works_on] += hours
    return sorted(by_day.items())


async def save_lines(connection: AsyncConnection, run_id: UUID, lines: list[PayrollLine]) -> None:
    if lines:
        await connection.execute(insert(payroll_lines), [
            {"run_id": str(run_id), "employment_id": str(line.employment_id), "client_id": str(line.client_id),
             "hours": line.hours, "attendance_days": line.attendance_days, "rules": "\n".join(line.rules),
             **{name: getattr(line, name) for name in LINE_AMOUNTS}} for line in lines])


async def lines_of(connection: AsyncConnection, run_id: UUID) -> list[PayrollLine]:
    rows = await connection.execute(select(payroll_lines).where(payroll_lines.c.run_id == str(run_id))
                                    .order_by(payroll_lines.c.employment_id))
    return [PayrollLine(UUID(row.employment_id), UUID(row.client_id), row.hours, row.attendance_days,
                        *(getattr(row, name) for name in LINE_AMOUNTS), tuple(row.rules.split("\n")))
            for row in rows]


async def lines_paid_for(connection: AsyncConnection, run_id: UUID) -> list[PayrollLine]:
    """The lines of a run and of the runs that corrected it, per employment together."""
    runs = await connection.execute(select(payroll_runs.c.run_id).where(
        (payroll_runs.c.run_id == str(run_id)) | (payroll_runs.c.corrects_run_id == str(run_id))))
    return paid([line for (run,) in runs for line in await lines_of(connection, UUID(run))])


async def record_run(connection: AsyncConnection, run_id: UUID, area: str, pay_period: str, start: date,
                     corrects: UUID | None) -> None:
    await connection.execute(insert(payroll_runs).values(run_id=str(run_id), area=area, pay_period=pay_period,
                                                         period_start=start,
                                                         corrects_run_id=corrects and str(corrects)))


async def ordinary_run(connection: AsyncConnection, area: str, pay_period: str, start: date) -> UUID | None:
    run_id = (await connection.execute(select(payroll_runs.c.run_id).where(
        payroll_runs.c.area == area, payroll_runs.c.pay_period == pay_period, payroll_runs.c.period_start == start,
        payroll_runs.c.corrects_run_id.is_(None)))).scalar()
    return run_id and UUID(run_id)


async def save_decision(connection: AsyncConnection, employment_id: UUID, client_id: UUID,
                        decision: RecordPaySubsidyDecision) -> None:
    await connection.execute(delete(pay_subsidy_decisions).where(
        pay_subsidy_decisions.c.employment_id == str(employment_id)))
    await connection.execute(insert(pay_subsidy_decisions).values(
        employment_id=str(employment_id), client_id=str(client_id), **decision.model_dump()))


async def decision_of(connection: AsyncConnection, employment_id: UUID) -> RecordPaySubsidyDecision | None:
    row = (await connection.execute(select(pay_subsidy_decisions).where(
        pay_subsidy_decisions.c.employment_id == str(employment_id)))).first()
    return row and RecordPaySubsidyDecision(reference=row.reference, percent=row.percent,
                                            monthly_cap=row.monthly_cap, starts_on=row.starts_on,
                                            ends_on=row.ends_on, decided_on=row.decided_on)


async def record_assessment(connection: AsyncConnection, assessed: EligibilityAssessed) -> None:
    await connection.execute(FORGET_FACTS, {"client": str(assessed.client_id)})
    await connection.execute(KEEP_FACTS, {"client_id": str(assessed.client_id),
                                          "target_groups": ",".join(assessed.target_groups),
                                          "criterion": assessed.criterion})


async def person_facts(connection: AsyncConnection, client_id: UUID) -> PersonFacts | None:
    row = (await connection.execute(select(client_facts).where(client_facts.c.client_id == str(client_id)))).first()
    return row and PersonFacts(frozenset(filter(None, row.target_groups.split(","))), row.criterion)


async def erase_person(connection: AsyncConnection, client_id: UUID) -> None:
    """The person's wages, payroll lines and pay subsidy decisions; the runs' totals (events) stay."""
    for table in (payroll_register, wage_rates, payroll_lines, pay_subsidy_decisions, client_facts):
        await connection.execute(delete(table).where(table.c.client_id == str(client_id)))


# --- hours and invoices ------------------------------------------------------------------------------

async def record_days(connection: AsyncConnection, approved: TimesheetApproved, area: str) -> None:
    await connection.execute(insert(worked_days), [
        {"employment_id": str(approved.employment_id), "area": area, "works_on": day.works_on,
         "task_id": day.task_id and str(day.task_id), "employer_id": str(day.employer_id), "hours": day.hours,
         "hourly_billing_rate": day.hourly_billing_rate} for day in approved.days])


def _unbilled(area: str, employer_id: UUID, start: date, end: date):
    return and_(worked_days.c.area == area, worked_days.c.employer_id == str(employer_id),
                worked_days.c.invoice_id.is_(None), worked_days.c.works_on.between(start, end))


async def unbilled_days(connection: AsyncConnection, area: str, employer_id: UUID, start: date,
                        end: date) -> list[BillableDay]:
    rows = await connection.execute(select(worked_days).where(_unbilled(area, employer_id, start, end))
                                    .order_by(worked_days.c.id))
    return [BillableDay(UUID(row.employment_id), row.task_id and UUID(row.task_id), row.works_on, row.hours,
                        row.hourly_billing_rate) for row in rows if row.hourly_billing_rate > 0]


async def mark_billed(connection: AsyncConnection, invoice: EmployerInvoiced, area: str, expected_days: int) -> None:
    """Claims the days for the invoice; fewer than read means another invoice took some meanwhile."""
    result = await connection.execute(update(worked_days).where(
        _unbilled(area, invoice.employer_id, invoice.period_start, invoice.period_end),
        worked_days.c.hourly_billing_rate != "0.00").values(invoice_id=str(invoice.invoice_id)))
    if result.rowcount != expected_days:
        raise ConcurrencyConflict("Invoice", str(invoice.invoice_id), 0)


async def release_days(connection: AsyncConnection, credited: InvoiceCredited) -> None:
    """A credited invoice's hours may be invoiced again."""
    await connection.execute(update(worked_days).where(worked_days.c.invoice_id == str(credited.invoice_id))
                             .values(invoice_id=None))


async def buyer(connection: AsyncConnection, employer_id: UUID, area: str) -> tuple[Buyer, bool]:
    row = (await connection.execute(select(customers).where(customers.c.employer_id == str(employer_id),
                                                            customers.c.area == area))).first()
    if row is None:
        raise RuleViolated("employer_id", f"employer {employer_id} is not registered in area {area}")
    return Buyer(row.business_id, row.name), row.vat_exempt


async def record_customer(connection: AsyncConnection, event: EmployerRegistered | EmployerDetailsCorrected,
                          area: str) -> None:
    if isinstance(event, EmployerRegistered):
        await connection.execute(insert(customers).values(employer_id=str(event.employer_id), area=area,
                                                          business_id=event.business_id, name=event.name,
                                                          vat_exempt=False))
    else:
        await connection.execute(update(customers).where(customers.c.employer_id == str(event.employer_id))
                                 .values(name=event.name))


async def set_vat_exempt(connection: AsyncConnection, employer_id: UUID, area: str, exempt: bool) -> None:
    result = await connection.execute(update(customers).where(customers.c.employer_id == str(employer_id),
                                                              customers.c.area == area).values(vat_exempt=exempt))
    if result.rowcount != 1:
        raise RuleViolated("employer_id", f"employer {employer_id} is not registered in area {area}")


async def open_receivable(connection: AsyncConnection, invoice: EmployerInvoiced, area: str) -> None:
    await connection.execute(insert(receivables).values(
        invoice_id=str(invoice.invoice_id), reference=invoice.reference, area=area,
        employer_id=str(invoice.employer_id), issued_on=invoice.issued_on, due_on=invoice.due_on,
        payable=invoice.total, paid=Decimal("0.00")))


async def follow_receivable(connection: AsyncConnection, event: PaymentReceived | InvoiceCredited) -> None:
    if isinstance(event, PaymentReceived):
        values = {"paid": event.paid_total}
    else:
        payable = (await connection.execute(select(receivables.c.payable).where(
            receivables.c.invoice_id == str(event.invoice_id)))).scalar_one()
        values = {"payable": payable - event.total}
    await connection.execute(update(receivables).where(receivables.c.invoice_id == str(event.invoice_id))
                             .values(**values))


async def invoice_by_reference(connection: AsyncConnection, reference: str, area: str) -> UUID | None:
    invoice_id = (await connection.execute(select(receivables.c.invoice_id).where(
        receivables.c.reference == reference, receivables.c.area == area))).scalar()
    return invoice_id and UUID(invoice_id)


async def known_payments(connection: AsyncConnection, bank_references: list[str]) -> set[str]:
    if not bank_references:
        return set()
    rows = await connection.execute(select(payments.c.bank_reference).where(
        payments.c.bank_reference.in_(bank_references)))
    return {reference for (reference,) in rows}


async def record_payment(connection: AsyncConnection, payment: IncomingPayment, area: str,
                         invoice_id: UUID | None) -> None:
    await connection.execute(insert(payments).values(
        bank_reference=payment.bank_reference, area=area, amount=payment.amount, booked_on=payment.booked_on,
        reference=payment.reference, invoice_id=invoice_id and str(invoice_id)))


async def unmatched_payments(connection: AsyncConnection, area: str) -> list[dict]:
    rows = await connection.execute(select(payments).where(payments.c.area == area, payments.c.invoice_id.is_(None))
                                    .order_by(payments.c.booked_on))
    return [{"employment_area": row.area, "bank_reference": row.bank_reference, "amount": row.amount,
             "booked_on": row.booked_on, "reference": row.reference} for row in rows]


async def receivables_on(connection: AsyncConnection, area: str, on: date) -> list[dict]:
    """Open, paid and overdue amounts per employer: overdue is what is open after the due date."""
    rows = await connection.execute(select(receivables).where(receivables.c.area == area))
    totals: dict[str, dict] = {}
    for row in rows:
        entry = totals.setdefault(row.employer_id, {
            "employer_id": row.employer_id, "employment_area": area, "invoices": 0, "invoiced": Decimal("0.00"),
            "paid": Decimal("0.00"), "open": Decimal("0.00"), "overdue": Decimal("0.00"), "overdue_invoices": 0})
        open_amount = max(row.payable - row.paid, Decimal("0.00"))
        entry["invoices"] += 1
        entry["invoiced"] += row.payable
        entry["paid"] += row.paid
        entry["open"] += open_amount
        if open_amount and row.due_on < on:
            entry["overdue"] += open_amount
            entry["overdue_invoices"] += 1
    return [totals[key] for key in sorted(totals)]
