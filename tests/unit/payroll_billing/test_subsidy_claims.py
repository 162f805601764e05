"""Pay subsidy and Kemi-lisä claims: the rules in force on the decision's date, at most 5 days a
calendar week, the monthly caps, and each Kemi-lisä condition at its boundary."""
from datetime import date, timedelta
from decimal import Decimal

import pytest

from contracts.events.payroll_billing import EmploymentExtended, EmploymentOpened, WageTermsAgreed
from services.payroll_billing.domain.employment import EMPLOYMENT
from services.payroll_billing.domain.payroll_run import PayrollFacts, payroll_line
from services.payroll_billing.domain.subsidy_claim import (ClaimKemiSupplement, ClaimMonth, PersonFacts,
                                                           RecordPaySubsidyDecision, SubsidyClaim,
                                                           claim_kemi_supplement, claim_pay_subsidy, decision_rule,
                                                           subsidised_days)
from services.platform.errors import RuleViolated, StateConflict
from services.platform.event_store import fold
from tests.unit.payroll_billing.builders import CLIENT, EMPLOYER, PLACEMENT

FEBRUARY = ClaimMonth(month="2025-02")
WAGE = PayrollFacts(PLACEMENT, CLIENT, True, date(2025, 2, 3), ((date(2025, 2, 3), Decimal("13.50")),))


def decision(percent: int = 50, cap: str = "1260.00", decided_on: date = date(2025, 1, 20),
             starts_on: date = date(2025, 2, 1), ends_on: date = date(2025, 11, 30)) -> RecordPaySubsidyDecision:
    return RecordPaySubsidyDecision(reference="PT-2025-17", percent=percent, monthly_cap=Decimal(cap),
                                    starts_on=starts_on, ends_on=ends_on, decided_on=decided_on)


def worked(first: date, count: int, hours: str = "8") -> list[tuple[date, Decimal]]:
    return [(first + timedelta(days=n), Decimal(hours)) for n in range(count)]


def claim(granted: RecordPaySubsidyDecision, days: list[tuple[date, Decimal]]):
    rule = decision_rule(granted)
    counted = subsidised_days(granted, rule, FEBRUARY, days)
    [event] = claim_pay_subsidy(SubsidyClaim(), PLACEMENT, granted, rule, FEBRUARY,
                                payroll_line(WAGE, counted, date(2025, 2, 28)))
    return event


# --- the decision ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("decided_on", "percent", "allowed"), [
    (date(2023, 6, 30), 30, True), (date(2023, 7, 1), 30, False),  # 30 % ended with the reform
    (date(2023, 6, 30), 70, False), (date(2023, 7, 1), 70, True),
])
def test_the_rules_in_force_on_the_decisions_date(decided_on, percent, allowed):
    granted = decision(percent, "1000.00", decided_on, decided_on, decided_on + timedelta(days=100))
    if allowed:
        assert decision_rule(granted).values["percent"] == percent
    else:
        with pytest.raises(RuleViolated, match=f"no pay_subsidy rule for percent {percent} is in force"):
            decision_rule(granted)


def test_the_monthly_cap_and_length_of_the_rule_bound_the_decision():
    with pytest.raises(RuleViolated, match="at most 1260.00 EUR a month") as refused:
        decision_rule(decision(cap="1260.01"))
    assert refused.value.field == "monthly_cap"
    assert decision_rule(decision(ends_on=date(2025, 11, 30)))  # 10 months from 1 February
    with pytest.raises(RuleViolated, match="at most 10 months, until 2025-11-30"):
        decision_rule(decision(ends_on=date(2025, 12, 1)))


# --- claims ----------------------------------------------------------------------------------------

def test_at_most_5_days_a_calendar_week():
    """Monday to Saturday, 8 h a day: five days are subsidised, 40 h × 13.50 = 540.00; 50 % of the wage
    (from 1 July 2023 without the employer's contributions) is 270.00."""
    event = claim(decision(), worked(date(2025, 2, 3), 6))
    assert event.amount == Decimal("270.00")
    assert event.rules[0].startswith("pay_subsidy_2023_50")


def test_before_1_july_2023_the_wage_cost_includes_the_contributions():
    """The same 540.00 with the 2025 contributions 93.91 + 1.08 + 3.78 + 6.26 = 105.03: 645.03 × 50 %
    = 322.515 -> 322.52, under the 2021 cap of 1,400."""
    granted = decision(50, "1400.00", date(2023, 6, 30))
    assert claim(granted, worked(date(2025, 2, 3), 6)).amount == Decimal("322.52")


def test_the_monthly_cap():
    """20 days × 8 h × 13.50 = 2,160.00 at 70 % is 1,512.00: capped at the decision's 1,260.00."""
    days = [day for week in range(4) for day in worked(date(2025, 2, 3) + timedelta(weeks=week), 5)]
    assert claim(decision(70, "1260.00"), days).amount == Decimal("1260.00")
    assert claim(decision(70, "1770.00"), days).amount == Decimal("1512.00")


def test_days_outside_the_decision_are_not_subsidised():
    granted = decision(starts_on=date(2025, 2, 5))
    counted = subsidised_days(granted, decision_rule(granted), FEBRUARY, worked(date(2025, 2, 3), 5))
    assert [day for day, _ in counted] == [date(2025, 2, 5), date(2025, 2, 6), date(2025, 2, 7)]


def test_a_month_is_claimed_once():
    event = claim(decision(), worked(date(2025, 2, 3), 5))
    granted = decision()
    with pytest.raises(StateConflict, match="2025-02 was claimed"):
        claim_pay_subsidy(SubsidyClaim(claimed=event), PLACEMENT, granted, decision_rule(granted), FEBRUARY,
                          payroll_line(WAGE, worked(date(2025, 2, 3), 5), date(2025, 2, 28)))


# --- Kemi-lisä -------------------------------------------------------------------------------------

def employment(employer_type: str = "company", planned_end_on: date | None = None) -> EmploymentOpened:
    return EmploymentOpened(employment_id=PLACEMENT, placement_id=PLACEMENT, client_id=CLIENT, employer_id=EMPLOYER,
                            hourly_billing_rate=Decimal("0"), kind="pay_subsidised_work", employer_type=employer_type,
                            starts_on=date(2025, 2, 3), planned_end_on=planned_end_on, days_per_week=None,
                            hours_per_day=None)


FOUR_WEEKS = [day for week in range(4) for day in worked(date(2025, 2, 3) + timedelta(weeks=week), 5)]
FULL_MONTH = payroll_line(WAGE, FOUR_WEEKS, date(2025, 2, 28))  # 2,160.00; contributions 420.12; wage costs 2,580.12


def application(**fields) -> ClaimKemiSupplement:
    return ClaimKemiSupplement(**({"month": "2025-02", "applied_on": date(2025, 3, 3),
                                   "person_criterion": "under_30"} | fields))


def terms(hours: str = "20", fixed_term_until: date | None = None) -> WageTermsAgreed:
    return WageTermsAgreed(employment_id=PLACEMENT, collective_agreement="demo", hours_per_week=Decimal(hours),
                           pay_period="month", valid_from=date(2025, 2, 3), fixed_term_until=fixed_term_until)


YOUNG = PersonFacts(frozenset({"youth", "structurally_unemployed"}), "multisectoral_joint_service_client")


def kemi(command=None, opened=None, hours="20", pay_subsidy="0", wages=FULL_MONTH, granted=True, until=None,
         extended_to=None, person=YOUNG):
    state = fold(EMPLOYMENT, [opened or employment(), terms(hours, until)])
    if extended_to:
        state = fold(EMPLOYMENT, [EmploymentExtended(employment_id=PLACEMENT, planned_end_on=extended_to)], state)
    [event] = claim_kemi_supplement(SubsidyClaim(), state, person, decision() if granted else None,
                                    Decimal(pay_subsidy), command or application(), wages)
    return event


def test_kemi_lisa_is_at_most_500_a_month():
    assert kemi().amount == Decimal("500.00")


def test_for_a_company_pay_subsidy_and_kemi_lisa_are_at_most_half_the_wage_costs():
    """50 % of 2,580.12 is 1,290.06; with 1,080.00 of pay subsidy, 210.06 is left."""
    assert FULL_MONTH.wage_costs == Decimal("2580.12")
    assert kemi(pay_subsidy="1080.00").amount == Decimal("210.06")
    with pytest.raises(RuleViolated, match="at most 50 % of the wage costs"):
        kemi(pay_subsidy="1290.06")


@pytest.mark.parametrize(("fields", "kwargs", "field"), [
    ({"applied_on": date(2025, 3, 4)}, {}, "applied_on"),  # more than a month after 3 February
    ({"month": "2026-02"}, {}, "month"),  # the 13th month
    ({}, {"hours": "17.75"}, "hours_per_week"),
    ({}, {"wages": payroll_line(WAGE, worked(date(2025, 2, 3), 11, "8.08"), date(2025, 2, 28))}, "month"),
    ({}, {"granted": False}, "pay_subsidy_decision"),
])
def test_each_kemi_lisa_condition_refuses_naming_the_rule(fields, kwargs, field):
    with pytest.raises(RuleViolated, match=r"kemi_lisa \(RULES.md, Kemi-lisä") as refused:
        kemi(application(**fields), **kwargs)
    assert refused.value.field == field


def test_the_boundaries_that_pass():
    assert kemi(application(applied_on=date(2025, 3, 3), month="2026-01"), hours="18")
    wage_1200 = payroll_line(PayrollFacts(PLACEMENT, CLIENT, True, date(2025, 2, 3),
                                          ((date(2025, 2, 3), Decimal("15.00")),)),
                             worked(date(2025, 2, 3), 10), date(2025, 2, 28))  # 80 h × 15.00 = 1,200.00
    assert wage_1200.gross_wage == Decimal("1200.00") and kemi(wages=wage_1200)


@pytest.mark.parametrize(("planned_end_on", "guidance_form", "days", "field"), [
    (date(2025, 10, 2), True, 2, None),  # 8 months from 3 February end on 2 October
    (date(2025, 10, 1), True, 2, "planned_end_on"),
    (date(2025, 10, 2), False, 2, "guidance_form"),
    (date(2025, 10, 2), True, 1, "days_at_another_employer"),
    (date(2025, 10, 2), True, 3, None),
    (date(2025, 10, 2), True, 4, "days_at_another_employer"),
])
def test_an_associations_job(planned_end_on, guidance_form, days, field):
    opened = employment("association", planned_end_on)
    command = application(guidance_form=guidance_form, days_at_another_employer=days)
    if field is None:
        assert kemi(command, opened).amount == Decimal("500.00")
    else:
        with pytest.raises(RuleViolated) as refused:
            kemi(command, opened)
        assert refused.value.field == field


def test_an_associations_job_length_is_the_fixed_term_contracts():
    command = application(guidance_form=True, days_at_another_employer=2)
    assert kemi(command, employment("foundation", None), until=date(2025, 10, 2)).amount == Decimal("500.00")
    with pytest.raises(RuleViolated, match="at least 8 months"):
        kemi(command, employment("foundation", date(2026, 12, 31)), until=date(2025, 10, 1))


def test_an_extended_placement_can_reach_the_8_months():
    command = application(guidance_form=True, days_at_another_employer=2)
    with pytest.raises(RuleViolated, match="at least 8 months"):
        kemi(command, employment("association", date(2025, 6, 30)))
    assert kemi(command, employment("association", date(2025, 6, 30)), extended_to=date(2025, 10, 2))


@pytest.mark.parametrize(("criterion", "person", "qualifies"), [
    ("under_30", YOUNG, True),
    ("under_30", PersonFacts(frozenset({"over_54"}), "labour_market_subsidy_over_300_days"), False),
    ("labour_market_subsidy_300_days", PersonFacts(frozenset(), "labour_market_subsidy_over_300_days"), True),
    ("labour_market_subsidy_300_days", YOUNG, False),
    ("partial_work_ability", PersonFacts(frozenset({"partially_able_to_work"}), None), True),
    ("partial_work_ability", None, False),  # intake's decision not known to payroll
])
def test_the_person_criterion_as_intakes_eligibility_decision_shows_it(criterion, person, qualifies):
    command = application(person_criterion=criterion)
    if qualifies:
        assert kemi(command, person=person)
    else:
        with pytest.raises(RuleViolated, match=f"does not show {criterion}") as refused:
            kemi(command, person=person)
        assert refused.value.field == "person_criterion"
