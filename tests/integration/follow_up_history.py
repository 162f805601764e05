"""A small scripted history for the follow-up reports, with the figures a person counts from it by hand."""
from datetime import date, time, timedelta
from decimal import Decimal
from uuid import uuid4

from contracts.events.employer import (GigJobPooled, OpeningFilled, OpeningRegistered, PlacementEnded,
                                       PlacementStarted, PooledTask)
from contracts.events.intake import (ClientEnrolled, ClientExited, ClientReferred, EligibilityAssessed, EntryFacts,
                                     EntryFactsRecorded, SixMonthFollowUpRecorded)
from contracts.events.pathway import PathwayClosed, PathwayPlanned, StepStarted
from contracts.events.payroll_billing import (EmployerInvoiced, InvoiceCredited, InvoiceOverdue,
                                              MunicipalSupplementClaimed, PaymentReceived, PayrollRunClosed,
                                              PaySubsidyClaimed, ReminderSent)
from services.payroll_billing.domain.money import finnish_reference, reference_base, rf_reference
from tests.integration.histories import envelope_of
from tests.integration.probe import publish

RATE = Decimal("20.00")


def _client(client_id, referred_on: date, enrolled: bool, area: str = "kemi", gender: str = "female",
            age_band: str = "30_54", facts: dict | None = None, exit: tuple | None = None,
            six_months: str | None = None) -> list:
    entry = EntryFacts(**({"labour_market_subsidy_days": 400, "unemployed_months": 14, "in_multisectoral_service": False,
                           "in_employment_promoting_service": False, "priority_groups": (),
                           "labour_market_status": "long_term_unemployed", "education_level": "isced_2",
                           "disability": "no", "migrant_or_minority": "no", "other_disadvantage": "no"} | (facts or {})))
    events = [ClientReferred(client_id=client_id, referral_id=uuid4(), period=1, programme="kemi_model",
                             referred_by="te_office", employment_area=area, municipality=area.capitalize(),
                             age_band=age_band, gender=gender, referred_on=referred_on),
              EntryFactsRecorded(client_id=client_id, period=1, facts=entry),
              EligibilityAssessed(client_id=client_id, eligible=True, programme="kemi_model",
                                  rule_set_version="kemi_model/2015-01-01", criterion="long_term_unemployed",
                                  rule_source="test", failed_criteria=(), target_groups=())]
    if enrolled:
        events.append(ClientEnrolled(client_id=client_id, period=1, case_worker_id="cw-1",
                                     enrolled_on=referred_on + timedelta(days=1)))
    if exit:
        exited_on, status, status_on, qualified = exit
        events.append(ClientExited(client_id=client_id, period=1, exited_on=exited_on, status_at_exit=status,
                                   status_on=status_on, qualification_gained=qualified))
    if six_months:
        events.append(SixMonthFollowUpRecorded(client_id=client_id, period=1, exited_on=exit[0], status=six_months,
                                               status_on=exit[0] + timedelta(days=183)))
    return events


def returning_client(client_id, area: str, periods: list[tuple[date, date, str]]) -> list:
    """One client's periods in turn: referred on the first day, enrolled the next, exited on the second day."""
    events = []
    for period, (referred_on, exited_on, status) in enumerate(periods, start=1):
        events += [ClientReferred(client_id=client_id, referral_id=uuid4(), period=period, programme="kemi_model",
                                  referred_by="te_office", employment_area=area, municipality=area.capitalize(),
                                  age_band="30_54", gender="female", referred_on=referred_on),
                   EligibilityAssessed(client_id=client_id, eligible=True, programme="kemi_model",
                                       rule_set_version="kemi_model/2015-01-01", criterion="long_term_unemployed",
                                       rule_source="test", failed_criteria=(), target_groups=()),
                   ClientEnrolled(client_id=client_id, period=period, case_worker_id="cw-1",
                                  enrolled_on=referred_on + timedelta(days=1)),
                   ClientExited(client_id=client_id, period=period, exited_on=exited_on, status_at_exit=status,
                                status_on=exited_on, qualification_gained=False)]
    return events


def _placement(client_id, kind: str, employer_type: str, starts_on: date, ended=None) -> tuple:
    placement_id, employer_id = uuid4(), uuid4()
    started = PlacementStarted(placement_id=placement_id, client_id=client_id, employer_id=employer_id,
                               employer_type=employer_type, kind=kind, starts_on=starts_on, hourly_billing_rate=RATE)
    events = [started]
    if kind == "gig_work":
        tasks = tuple(PooledTask(task_id=uuid4(), employer_id=uuid4(), works_on=starts_on, starts_at=time(8),
                                 ends_at=time(12), hours=hours, hourly_billing_rate=RATE)
                      for hours in (Decimal("3.50"), Decimal("4.00")))
        events.append(GigJobPooled(placement_id=placement_id, client_id=client_id, tasks=tasks))
    if ended:
        events.append(PlacementEnded(placement_id=placement_id, client_id=client_id, employer_id=employer_id,
                                     employer_type=employer_type, kind=kind, ended_on=ended[0], ending=ended[1]))
    return placement_id, events


def _pathway(client_id, planned_on: date, step_kinds: tuple[str, ...], closed_on: date | None = None,
             period: int = 1) -> list:
    pathway_id = uuid4()
    events = [PathwayPlanned(pathway_id=pathway_id, client_id=client_id, period=period, kind="employment",
                             planned_on=planned_on)]
    events += [StepStarted(pathway_id=pathway_id, client_id=client_id, step_id=uuid4(), step_kind=kind,
                           placement_id=None, started_on=planned_on + timedelta(days=7 * number), hours_per_week=None,
                           full_time=False) for number, kind in enumerate(step_kinds, start=1)]
    if closed_on:
        events.append(PathwayClosed(pathway_id=pathway_id, client_id=client_id, closed_on=closed_on,
                                    reason="client_exited"))
    return events


def _opening(source: str, registered_on: date, filled_on: date | None = None) -> list:
    opening_id = uuid4()
    events = [OpeningRegistered(opening_id=opening_id, employer_id=uuid4(), title="Helper", occupation=None,
                                hours_per_week=Decimal("20"), starts_on=registered_on, duration_months=None,
                                requirement_tags=(), source=source, registered_on=registered_on)]
    if filled_on:
        events.append(OpeningFilled(opening_id=opening_id, placement_id=uuid4(), filled_on=filled_on))
    return events


def _invoice(issued_on: date, net: str, vat: str, *after) -> list:
    """An invoice and what followed it: ("paid", paid_total), ("credited",), ("overdue", open), ("reminded", open)."""
    invoice_id = uuid4()
    reference = finnish_reference(reference_base(invoice_id))
    net_amount, vat_amount = Decimal(net), Decimal(vat)
    issued = EmployerInvoiced(invoice_id=invoice_id, employer_id=uuid4(), period_start=issued_on.replace(day=1),
                              period_end=issued_on, hours=net_amount / RATE, amount=net_amount, vat_amount=vat_amount,
                              total=net_amount + vat_amount, vat_rules=("vat_25_5",), reference=reference,
                              rf_reference=rf_reference(reference), issued_on=issued_on,
                              due_on=issued_on + timedelta(days=14), lines=())
    events = [issued]
    for what, *amount in after:
        match what:
            case "paid":
                events.append(PaymentReceived(invoice_id=invoice_id, payment_id=uuid4(), bank_reference=str(uuid4()),
                                              amount=Decimal(amount[0]), booked_on=issued_on + timedelta(days=10),
                                              paid_total=Decimal(amount[0]), status="part_paid"))
            case "credited":
                events.append(InvoiceCredited(invoice_id=invoice_id, credit_note_id=uuid4(), amount=issued.amount,
                                              vat_amount=issued.vat_amount, total=issued.total, reason="cancelled",
                                              issued_on=issued_on + timedelta(days=2)))
            case "overdue":
                events.append(InvoiceOverdue(invoice_id=invoice_id, employer_id=issued.employer_id, due_on=issued.due_on,
                                             open_amount=Decimal(amount[0]), noted_on=issued.due_on + timedelta(days=1)))
            case "reminded":
                events.append(ReminderSent(invoice_id=invoice_id, reminder_id=uuid4(),
                                           sent_on=issued.due_on + timedelta(days=14), open_amount=Decimal(amount[0]),
                                           interest=Decimal("1.20"), fee=Decimal("5.00"), rules=("interest",)))
    return events


def _payroll_run(period_start: date, period_end: date, gross: str, holiday: str, allowances: str,
                 contributions: str, corrects=None) -> list:
    return [PayrollRunClosed(run_id=uuid4(), pay_period="month", period_start=period_start, period_end=period_end,
                             corrects_run_id=corrects, employments=2, gross_wages=Decimal(gross),
                             holiday_compensation=Decimal(holiday), expense_allowances=Decimal(allowances),
                             employer_contributions=Decimal(contributions), rules=("payroll_2026",))]


def _claims(month_start: date, month_end: date, pay_subsidy: str, supplement: str) -> list[list]:
    employment_id = uuid4()
    common = {"employment_id": employment_id, "period_start": month_start, "period_end": month_end,
              "rules": ("rule",)}
    return [[PaySubsidyClaimed(claim_id=uuid4(), amount=Decimal(pay_subsidy), decision_reference="PT-1", **common)],
            [MunicipalSupplementClaimed(claim_id=uuid4(), amount=Decimal(supplement), employer_id=uuid4(), **common)]]


def follow_up_histories() -> list[tuple[str, list]]:
    """(area, the events of one aggregate in version order) for each aggregate."""
    c1, c2, c3, c4, c5, c6, t1, r1 = (uuid4() for _ in range(8))
    invoice_id = uuid4()
    reference = finnish_reference(reference_base(invoice_id))
    first_run = _payroll_run(date(2026, 2, 1), date(2026, 2, 28), "1000.00", "50.00", "90.00", "200.00")
    return [
        ("kemi", _client(c1, date(2026, 1, 5), True, exit=(date(2026, 3, 2), "employed_foundation", date(2026, 3, 2),
                                                           False))),
        ("kemi", _client(c2, date(2026, 1, 7), True, gender="male",
                         exit=(date(2026, 6, 1), "employed_company", date(2026, 6, 10), False),
                         six_months="employed_company")),
        ("kemi", _client(c3, date(2026, 1, 9), True, age_band="25_29")),
        ("kemi", _client(c4, date(2026, 2, 2), True,  # status 30 days after leaving: too late for ESF+
                         exit=(date(2026, 4, 1), "in_education_or_training", date(2026, 5, 1), True))),
        ("kemi", _client(c5, date(2026, 2, 3), True, gender="male",
                         facts={"labour_market_status": "inactive", "education_level": "isced_5",
                                "disability": "yes"})),
        ("kemi", _client(c6, date(2026, 2, 4), False)),
        ("tornio", _client(t1, date(2026, 1, 5), True, area="tornio")),
        ("rovaniemi", returning_client(r1, "rovaniemi", [(date(2026, 1, 12), date(2026, 3, 16), "in_education_or_training"),
                                                          (date(2026, 4, 1), date(2026, 5, 4), "employed_company")])),
        ("rovaniemi", _pathway(r1, date(2026, 1, 14), ("training",), closed_on=date(2026, 3, 16))),
        ("rovaniemi", _pathway(r1, date(2026, 4, 3), ("pay_subsidised_work",), period=2)),
        ("kemi", _placement(c1, "gig_work", "foundation", date(2026, 2, 2), (date(2026, 3, 1), "completed"))[1]),
        ("kemi", _placement(c2, "pay_subsidised_work", "company", date(2026, 2, 10),
                            (date(2026, 5, 31), "hired_by_employer"))[1]),
        ("kemi", _placement(c3, "work_trial", "association", date(2026, 1, 20))[1]),
        ("tornio", _placement(t1, "open_market", "company", date(2026, 1, 7))[1]),
        ("kemi", _pathway(c1, date(2026, 1, 6), ("start_period", "coaching"), closed_on=date(2026, 3, 2))),
        ("kemi", _pathway(c2, date(2026, 1, 8), ("pay_subsidised_work",))),
        ("kemi", _pathway(c4, date(2026, 2, 3), ())),
        ("kemi", _opening("hidden", date(2026, 2, 3), date(2026, 2, 20))),
        ("kemi", _opening("hidden", date(2026, 2, 17))),
        ("kemi", _opening("advertised", date(2026, 3, 2))),
        ("kemi", [EmployerInvoiced(invoice_id=invoice_id, employer_id=uuid4(), period_start=date(2026, 2, 1),
                                   period_end=date(2026, 2, 28), hours=Decimal("20.00"), amount=Decimal("500.00"),
                                   vat_amount=Decimal("127.50"), total=Decimal("627.50"), vat_rules=("vat_25_5",),
                                   reference=reference, rf_reference=rf_reference(reference),
                                   issued_on=date(2026, 3, 5), due_on=date(2026, 3, 19), lines=()),
                  PaymentReceived(invoice_id=invoice_id, payment_id=uuid4(), bank_reference="B-1", amount=Decimal("200.00"),
                                  booked_on=date(2026, 3, 12), paid_total=Decimal("200.00"), status="part_paid"),
                  PaymentReceived(invoice_id=invoice_id, payment_id=uuid4(), bank_reference="B-2", amount=Decimal("100.00"),
                                  booked_on=date(2026, 3, 16), paid_total=Decimal("300.00"), status="part_paid")]),
        ("kemi", _invoice(date(2026, 3, 10), "100.00", "25.50", ("credited",))),
        ("kemi", _invoice(date(2026, 4, 2), "200.00", "51.00", ("paid", "260.00"))),
        ("kemi", _invoice(date(2026, 4, 3), "40.00", "10.20", ("overdue", "50.20"), ("reminded", "50.20"),
                          ("paid", "20.00"))),
        ("tornio", _invoice(date(2026, 4, 3), "80.00", "20.40", ("paid", "100.40"))),
        ("kemi", first_run),
        ("kemi", _payroll_run(date(2026, 2, 1), date(2026, 2, 28), "-100.00", "-5.00", "0.00", "-20.00",
                              corrects=first_run[0].run_id)),
        ("kemi", _payroll_run(date(2026, 7, 1), date(2026, 7, 31), "700.00", "0.00", "27.00", "140.00")),
        ("tornio", _payroll_run(date(2026, 2, 1), date(2026, 2, 28), "900.00", "0.00", "0.00", "180.00")),
        *(("kemi", claim) for claim in _claims(date(2026, 2, 1), date(2026, 2, 28), "500.00", "300.00")),
        *(("tornio", claim) for claim in _claims(date(2026, 2, 1), date(2026, 2, 28), "450.00", "250.00")),
    ]


# By hand, for kemi: 6 clients referred (5 enrolled); days enrolment -> first placement: c1 6.1. -> 2.2. = 27,
# c2 8.1. -> 10.2. = 33, c3 10.1. -> 20.1. = 10; nearest-rank median 27, p90 33.
EXPECTED_KEMI = {
    "clients_by_status": [["enrolled", 2], ["exited", 3], ["referred", 1]],
    "clients_by_municipality": [["Kemi", 6, True]],
    "clients_by_month": [["2026-01", 3, 3], ["2026-02", 3, 2]],
    "placements_by_kind_and_ending": [["gig_work", "completed", 1], ["pay_subsidised_work", "hired_by_employer", 1],
                                      ["work_trial", "ongoing", 1]],
    "hired_by_employer_type": [["company", 1]],
    "openings_by_month": [["2026-02", 2, 1, 0], ["2026-03", 0, 0, 1]],
    "gig_hours_by_month": [["2026-02", 1, "7.50"]],
    "time_to_first_placement": [["enrolment_to_first_placement", 3, 27, 33]],
    # Enrolled 6.1., 8.1., 10.1. (c1-c3), 3.2., 4.2. (c4, c5); left 2.3. (c1), 1.4. (c4), 1.6. (c2).
    "in_service_by_month": [["2026-01", 3, 0, 3], ["2026-02", 2, 0, 5], ["2026-03", 0, 1, 4], ["2026-04", 0, 1, 3],
                            ["2026-05", 0, 0, 3], ["2026-06", 0, 1, 2]],
    # Exits: c1 6.1. -> 2.3. = 55 days, c2 8.1. -> 1.6. = 144, c4 3.2. -> 1.4. = 57: median 57, p90 144.
    "exits_by_status": [["employed_company", 1], ["employed_foundation", 1], ["in_education_or_training", 1]],
    "exits_by_programme": [["kemi_model", 3]],
    "exits_by_step_kind": [["coaching", "employed_foundation", 1], ["none", "in_education_or_training", 1],
                           ["pay_subsidised_work", "employed_company", 1]],
    "time_to_exit": [["enrolment_to_exit", 3, 57, 144]],
}

# Billing by hand, kemi (month, invoices, hours, net, with VAT, credited, paid, open, overdue, reminders):
# March: 500.00 (20 h) + 100.00 (5 h) net (627.50 + 125.50), the second credited whole (125.50); paid 200 + 100 = 300.00
#   (paid_total is cumulative: 300.00, not 500.00); open 627.50 - 300.00 = 327.50; none noted overdue.
# April: 200.00 + 40.00 net (251.00 + 50.20); paid 260.00 + 20.00; open 0 (overpaid) + 30.20; overdue: the
#   second was noted overdue with 50.20 open and then paid 20.00, so 30.20 is overdue now; one reminder.
EXPECTED_KEMI_BILLING = [
    ["2026-03", 2, "25.00", "600.00", "753.00", "125.50", "300.00", "327.50", "0.00", 0],
    ["2026-04", 2, "12.00", "240.00", "301.20", "0.00", "280.00", "30.20", "30.20", 1],
]
# The return's payroll inputs, kemi, up to 30.6.2026: paid net of VAT, up to what is payable:
# 300.00 x 500/627.50 = 239.04; credited invoice 0; 251.00 x 200/251 = 200.00 (the 9.00 overpaid goes back);
# 20.00 x 40/50.20 = 15.94. Payroll runs starting in the period: February's and its correction (July's is
# outside): 1000 + 50 + 200 - 100 - 5 - 20 = 1125.00 in wage costs, 90.00 in allowances.
EXPECTED_KEMI_RETURN = {"invoices_paid": "454.98", "pay_subsidies_claimed": "500.00",
                        "municipal_supplements_claimed": "300.00", "payroll_costs": "1125.00",
                        "expense_allowances": "90.00"}

# A returning client (rovaniemi): period 1 enrolled 13.1., exited 16.3. to studies after training (62 days);
# period 2 enrolled 2.4., exited 4.5. into a company after pay-subsidised work (32 days). Both exits count.
EXPECTED_ROVANIEMI = {
    "clients_by_status": [["exited", 1]],
    "exits_by_status": [["employed_company", 1], ["in_education_or_training", 1]],
    "exits_by_programme": [["kemi_model", 2]],
    "exits_by_step_kind": [["pay_subsidised_work", "employed_company", 1], ["training", "in_education_or_training", 1]],
    "time_to_exit": [["enrolment_to_exit", 2, 32, 62]],
    "in_service_by_month": [["2026-01", 1, 0, 1], ["2026-02", 0, 0, 1], ["2026-03", 0, 1, 0], ["2026-04", 1, 0, 1],
                            ["2026-05", 0, 1, 0]],
}


async def publish_follow_up_histories(js) -> int:
    count = 0
    for area, events in follow_up_histories():
        for version, event in enumerate(events, start=1):
            await publish(js, envelope_of(event, version, area=area))
            count += 1
    return count
