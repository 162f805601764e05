"""The payroll clerk's use cases, each in the caller's unit of work: the aggregates decide, payroll's
own tables (ledger.py) follow in the same transaction. Nothing here knows HTTP."""
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID, uuid4

from contracts.events.base import Event
from contracts.events.payroll_billing import (EmployerInvoiced, InvoiceCredited, InvoiceOverdue,
                                              MunicipalSupplementClaimed, PaymentReceived, PaySubsidyClaimed,
                                              PayrollRunClosed, ReminderSent, TimesheetApproved)
from services.payroll_billing import ledger
from services.payroll_billing.camt054 import IncomingPayment
from services.payroll_billing.domain import customer as customers
from services.payroll_billing.domain import employment as employments
from services.payroll_billing.domain import invoice as invoices
from services.payroll_billing.domain import payroll_run as payroll
from services.payroll_billing.domain import subsidy_claim as subsidies
from services.payroll_billing.domain.money import normalised_reference
from services.payroll_billing.finvoice import Buyer, Seller
from services.platform.errors import NotFound, RuleViolated
from services.platform.unit_of_work import UnitOfWork


def keeping(decided: list[Event], decide: Callable[..., Sequence[Event]]) -> Callable[..., Sequence[Event]]:
    """`decide`, with the events it chose kept in `decided` for the tables that follow them."""
    def decide_and_keep(state) -> Sequence[Event]:
        decided.extend(events := decide(state))
        return events
    return decide_and_keep


async def agree_wage_terms(uow: UnitOfWork, employment_id: UUID,
                           command: employments.AgreeWageTerms) -> employments.Employment:
    employment = await uow.decide(employments.EMPLOYMENT, str(employment_id),
                                  lambda state: employments.agree_terms(state, employment_id, command))
    await ledger.record_wage(uow.connection, employment_id, employment.opened.client_id, command)
    return employment


async def approve_timesheet(uow: UnitOfWork, employment_id: UUID,
                            command: employments.ApproveTimesheet) -> employments.Employment:
    approved: list[TimesheetApproved] = []
    employment = await uow.decide(employments.EMPLOYMENT, str(employment_id), keeping(
        approved, lambda state: employments.approve(state, employment_id, uuid4(), command)))
    await ledger.record_days(uow.connection, approved[0], uow.actor.area)
    return employment


async def run_payroll(uow: UnitOfWork, command: payroll.StartPayrollRun) -> PayrollRunClosed:
    area = uow.actor.area
    payroll.refuse_second_run(await ledger.ordinary_run(uow.connection, area, command.pay_period,
                                                        command.period_start), command)
    corrected, paid_lines = None, []
    if command.corrects_run_id:
        corrected = await _closed_run(uow, command.corrects_run_id)
        paid_lines = await ledger.lines_paid_for(uow.connection, command.corrects_run_id)
    facts = await ledger.payroll_facts(uow.connection, area, command.pay_period, command.period_start,
                                       command.period_end)
    if not facts and not paid_lines:
        raise RuleViolated("period_start", f"no {command.pay_period}ly paid employment of area {area} has approved "
                                           f"days in {command.period_start}–{command.period_end}")
    run_id = uuid4()
    [closed], lines = payroll.close(run_id, command, [payroll.payroll_line(fact, days, command.period_end)
                                                      for fact, days in facts], corrected, paid_lines)
    await uow.create(payroll.PAYROLL_RUN, str(run_id), lambda _state: [closed], area=area)
    await ledger.save_lines(uow.connection, run_id, lines)
    await ledger.record_run(uow.connection, run_id, area, command.pay_period, command.period_start,
                            command.corrects_run_id)
    return closed


async def _closed_run(uow: UnitOfWork, run_id: UUID) -> PayrollRunClosed | None:
    try:
        run, _ = await uow.read(payroll.PAYROLL_RUN, str(run_id))
    except NotFound:
        return None  # close() refuses naming corrects_run_id
    return run.closed


async def payroll_lines(uow: UnitOfWork, run_id: UUID) -> list[payroll.PayrollLine]:
    await uow.read(payroll.PAYROLL_RUN, str(run_id))  # 404 for another area's run
    lines = await ledger.lines_of(uow.connection, run_id)
    uow.audit_read(f"PayrollRun {run_id}", "payroll lines")
    return lines


async def invoice_employer(uow: UnitOfWork, command: invoices.InvoiceEmployer, today: date) -> EmployerInvoiced:
    area = uow.actor.area
    buyer, vat_exempt = await ledger.buyer(uow.connection, command.employer_id, area)
    if buyer.business_id == Seller().business_id:
        raise RuleViolated("employer_id", f"employer {command.employer_id} is the foundation itself ("
                                          f"{buyer.business_id}, POLKU_SELLER_BUSINESS_ID): it does not invoice "
                                          f"itself")
    days = await ledger.unbilled_days(uow.connection, area, command.employer_id, command.period_start,
                                      command.period_end)
    [issued] = invoices.issue(uuid4(), command, vat_exempt, days, today)
    await uow.create(invoices.INVOICE, str(issued.invoice_id), lambda _state: [issued], area=area)
    await ledger.mark_billed(uow.connection, issued, area, len(days))
    await ledger.open_receivable(uow.connection, issued, area)
    return issued


async def invoice_and_buyer(uow: UnitOfWork, invoice_id: UUID) -> tuple[invoices.Invoice, Buyer]:
    invoice, _ = await uow.read(invoices.INVOICE, str(invoice_id))
    buyer, _ = await ledger.buyer(uow.connection, invoice.issued.employer_id, uow.actor.area)
    return invoice, buyer


async def credit_invoice(uow: UnitOfWork, invoice_id: UUID, command: invoices.CreditInvoice,
                         today: date) -> invoices.Invoice:
    credited: list[InvoiceCredited] = []
    invoice = await uow.decide(invoices.INVOICE, str(invoice_id), keeping(
        credited, lambda state: invoices.credit(state, invoice_id, uuid4(), command, today)))
    await ledger.release_days(uow.connection, credited[0])
    await ledger.follow_receivable(uow.connection, credited[0])
    return invoice


async def send_reminder(uow: UnitOfWork, invoice_id: UUID, command: invoices.SendReminder,
                        today: date) -> ReminderSent:
    sent: list[ReminderSent] = []
    await uow.decide(invoices.INVOICE, str(invoice_id), keeping(
        sent, lambda state: invoices.remind(state, invoice_id, uuid4(), command, today)))
    return sent[0]


async def note_overdue(uow: UnitOfWork, invoice_id: UUID, command: invoices.NoteOverdue) -> InvoiceOverdue:
    noted: list[InvoiceOverdue] = []
    await uow.decide(invoices.INVOICE, str(invoice_id), keeping(
        noted, lambda state: invoices.note_overdue(state, invoice_id, command)))
    return noted[0]


async def set_vat_status(uow: UnitOfWork, employer_id: UUID, command: customers.RecordVatStatus) -> None:
    await ledger.set_vat_exempt(uow.connection, employer_id, uow.actor.area, command.vat_exempt)
    await uow.decide(customers.CUSTOMER, str(employer_id),
                     lambda state: customers.record_vat_status(state, employer_id, command), area=uow.actor.area)


@dataclass(frozen=True)
class PaymentsImported:
    payments: int
    matched: int
    unmatched: int
    already_imported: int


async def import_payments(uow: UnitOfWork, incoming: list[IncomingPayment]) -> PaymentsImported:
    """Each payment once (by the bank's reference), matched to an invoice of the area by its reference."""
    area, matched, unmatched = uow.actor.area, 0, 0
    seen = await ledger.known_payments(uow.connection, [payment.bank_reference for payment in incoming])
    for payment in incoming:
        if payment.bank_reference in seen:
            continue
        seen.add(payment.bank_reference)
        invoice_id = payment.reference and await ledger.invoice_by_reference(
            uow.connection, normalised_reference(payment.reference), area)
        if invoice_id:
            received: list[PaymentReceived] = []
            await uow.decide(invoices.INVOICE, str(invoice_id), keeping(received, lambda state: (
                invoices.register_payment(state, invoice_id, uuid4(), payment.bank_reference, payment.amount,
                                          payment.booked_on))))
            await ledger.follow_receivable(uow.connection, received[0])
            matched += 1
        else:
            unmatched += 1
        await ledger.record_payment(uow.connection, payment, area, invoice_id or None)
    return PaymentsImported(len(incoming), matched, unmatched, len(incoming) - matched - unmatched)


async def record_pay_subsidy_decision(uow: UnitOfWork, employment_id: UUID,
                                      command: subsidies.RecordPaySubsidyDecision) -> None:
    subsidies.decision_rule(command)
    employment = await uow.decide(employments.EMPLOYMENT, str(employment_id), lambda state: (
        employments.grant_pay_subsidy(state, employment_id, command.reference, command.starts_on, command.ends_on)))
    await ledger.save_decision(uow.connection, employment_id, employment.opened.client_id, command)


async def claim_pay_subsidy(uow: UnitOfWork, employment_id: UUID, command: subsidies.ClaimMonth) -> PaySubsidyClaimed:
    await uow.read(employments.EMPLOYMENT, str(employment_id))  # 404 for another area's employment
    decision = await ledger.decision_of(uow.connection, employment_id)
    if decision is None:
        raise RuleViolated("employment_id", f"employment {employment_id} has no pay subsidy decision")
    rule = subsidies.decision_rule(decision)
    days = subsidies.subsidised_days(decision, rule, command, await ledger.days_of(
        uow.connection, employment_id, command.first_day, command.last_day))
    wages = await _wages_of(uow, employment_id, days)
    claimed: list[PaySubsidyClaimed] = []
    await uow.decide(subsidies.SUBSIDY_CLAIM, str(subsidies.claim_id("pay_subsidy", employment_id, command.month)),
                     keeping(claimed, lambda state: subsidies.claim_pay_subsidy(
                         state, employment_id, decision, rule, command, wages)), area=uow.actor.area)
    return claimed[0]


async def claim_kemi_supplement(uow: UnitOfWork, employment_id: UUID,
                                command: subsidies.ClaimKemiSupplement) -> MunicipalSupplementClaimed:
    employment, _ = await uow.read(employments.EMPLOYMENT, str(employment_id))
    if not employment.pays_wage:
        raise RuleViolated("employment_id", "Kemi-lisä is for an employment, not for attendance")
    days = await ledger.days_of(uow.connection, employment_id, command.first_day, command.last_day)
    wages = await _wages_of(uow, employment_id, days)
    pay_subsidy = await _pay_subsidy_claimed(uow, employment_id, command.month)
    decision = await ledger.decision_of(uow.connection, employment_id)
    person = await ledger.person_facts(uow.connection, employment.opened.client_id)
    claimed: list[MunicipalSupplementClaimed] = []
    await uow.decide(subsidies.SUBSIDY_CLAIM, str(subsidies.claim_id("kemi_supplement", employment_id, command.month)),
                     keeping(claimed, lambda state: subsidies.claim_kemi_supplement(
                         state, employment, person, decision, pay_subsidy, command, wages)), area=uow.actor.area)
    return claimed[0]


async def _wages_of(uow: UnitOfWork, employment_id: UUID, days: list[tuple[date, Decimal]]) -> payroll.PayrollLine:
    """The payroll line of these days, as a run would compute it: the wage costs a claim is based on."""
    facts = await ledger.employment_facts(uow.connection, employment_id)
    if facts is None:
        raise NotFound(f"no employment {employment_id}")
    return payroll.payroll_line(facts, days, days[-1][0] if days else date.today())


async def _pay_subsidy_claimed(uow: UnitOfWork, employment_id: UUID, month: str) -> Decimal:
    try:
        claim, _ = await uow.read(subsidies.SUBSIDY_CLAIM, str(subsidies.claim_id("pay_subsidy", employment_id, month)))
    except NotFound:
        return Decimal(0)
    return claim.claimed.amount
