"""The SubsidyClaim aggregate: the pay subsidy (palkkatuki) and the Kemi-lisä claimed for one calendar
month of one employment. A claim's id is made from the employment, the kind and the month, so a
month is claimed once.

The pay subsidy decision itself (its percent tells the ground it was granted on, e.g. reduced work
ability) is personal data: it is kept in payroll's own database, not in an event.
"""
import calendar
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.events.base import Event
from contracts.events.payroll_billing import MunicipalSupplementClaimed, PaySubsidyClaimed
from services.payroll_billing.domain.employment import Employment
from contracts.values import Money
from services.payroll_billing.domain.money import cents
from services.payroll_billing.domain.payroll_run import PayrollLine
from services.payroll_billing.domain.rules import Rule, tables
from services.platform.errors import RuleViolated, StateConflict
from services.platform.event_store import AggregateKind

RULES = tables("subsidy_rules.yaml")
HUNDRED = Decimal(100)
ONE_DAY = timedelta(days=1)
WAGE_COST_PARTS = {"gross_wage": lambda line: line.gross_wage,
                   "holiday_compensation": lambda line: line.holiday_compensation,
                   "employer_contributions": lambda line: line.employer_contributions}


class RecordPaySubsidyDecision(BaseModel):
    """The employment office's decision (palkkatukipäätös) as the clerk enters it."""

    model_config = ConfigDict(extra="forbid")

    reference: str = Field(min_length=1, max_length=60)
    percent: int = Field(ge=1, le=100)
    monthly_cap: Money = Field(gt=0)
    starts_on: date
    ends_on: date
    decided_on: date

    @model_validator(mode="after")
    def period_is_ordered(self) -> "RecordPaySubsidyDecision":
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        return self


def decision_rule(decision: RecordPaySubsidyDecision) -> Rule:
    """The rule set in force on the decision's date that grants its percent; its cap and length bound it."""
    rule = RULES["pay_subsidy"].in_force(decision.decided_on, "percent", percent=decision.percent)
    if decision.monthly_cap > rule.decimal("monthly_cap"):
        raise RuleViolated("monthly_cap", f"at most {rule.decimal('monthly_cap')} EUR a month ({rule.label})")
    last_day = _add_months(decision.starts_on, int(rule.values["max_months"])) - ONE_DAY
    if decision.ends_on > last_day:
        raise RuleViolated("ends_on", f"at most {rule.values['max_months']} months, until {last_day} ({rule.label})")
    return rule


class ClaimMonth(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="the calendar month claimed, YYYY-MM")

    @property
    def first_day(self) -> date:
        return date(int(self.month[:4]), int(self.month[5:]), 1)

    @property
    def last_day(self) -> date:
        first = self.first_day
        return first.replace(day=calendar.monthrange(first.year, first.month)[1])


class ClaimKemiSupplement(ClaimMonth):
    """The employer's application for Kemi-lisä for one month, with what the clerk has checked."""

    applied_on: date
    person_criterion: Literal["labour_market_subsidy_300_days", "partial_work_ability", "under_30"]
    guidance_form: bool = False
    days_at_another_employer: int = Field(default=0, ge=0, le=31)


@dataclass(frozen=True)
class PersonFacts:
    """What intake's eligibility decision said of the client: anonymous facts, as they travel."""

    target_groups: frozenset[str]
    criterion: str | None

    def shows(self, wanted: dict[str, str]) -> bool:
        return (wanted.get("target_group") in self.target_groups
                or (wanted.get("criterion") is not None and wanted.get("criterion") == self.criterion))


def claim_id(kind: str, employment_id: UUID, month: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"polku:subsidy-claim:{kind}:{employment_id}:{month}")


@dataclass(frozen=True)
class SubsidyClaim:
    claimed: PaySubsidyClaimed | MunicipalSupplementClaimed | None = None


def evolve(claim: SubsidyClaim, event: Event) -> SubsidyClaim:
    if isinstance(event, PaySubsidyClaimed | MunicipalSupplementClaimed):
        return replace(claim, claimed=event)
    return claim


SUBSIDY_CLAIM = AggregateKind("SubsidyClaim", SubsidyClaim(), evolve)


def subsidised_days(decision: RecordPaySubsidyDecision, rule: Rule, month: ClaimMonth,
                    days: list[tuple[date, Decimal]]) -> list[tuple[date, Decimal]]:
    """The days of the month within the decision's period, at most the rule's days in a calendar week
    (the first ones worked in that week)."""
    taken: dict[tuple[int, int], int] = defaultdict(int)
    counted = []
    for day, hours in sorted(days):
        if not (month.first_day <= day <= month.last_day and decision.starts_on <= day <= decision.ends_on):
            continue
        week = day.isocalendar()[:2]
        if taken[week] < int(rule.values["max_days_per_week"]):
            taken[week] += 1
            counted.append((day, hours))
    return counted


def claim_pay_subsidy(claim: SubsidyClaim, employment_id: UUID, decision: RecordPaySubsidyDecision, rule: Rule,
                      month: ClaimMonth, wages: PayrollLine) -> list[Event]:
    """`wages` is the payroll line of the subsidised days: the percent of its wage cost (the parts the
    rule counts), at most the decision's and the rule's monthly cap."""
    _not_claimed(claim, "pay subsidy", month)
    wage_cost = sum(WAGE_COST_PARTS[part](wages) for part in rule.values["wage_cost"])
    amount = cents(wage_cost * decision.percent / HUNDRED)
    cap = min(decision.monthly_cap, rule.decimal("monthly_cap"))
    if amount <= 0:
        raise RuleViolated("month", f"no subsidised wage cost in {month.month}")
    return [PaySubsidyClaimed(claim_id=claim_id("pay_subsidy", employment_id, month.month), employment_id=employment_id,
                              period_start=month.first_day, period_end=month.last_day, amount=min(amount, cap),
                              decision_reference=decision.reference,
                              rules=(rule.label, f"{decision.percent} % of {'+'.join(rule.values['wage_cost'])}, "
                                                 f"at most {cap} EUR a month"))]


def claim_kemi_supplement(claim: SubsidyClaim, employment: Employment, person: PersonFacts | None,
                          decision: RecordPaySubsidyDecision | None, pay_subsidy: Decimal,
                          command: ClaimKemiSupplement, wages: PayrollLine) -> list[Event]:
    """Kemi-lisä for one month, each condition of RULES.md checked and a refusal naming it. The job's
    length is the fixed-term contract's, else the placement's planned end."""
    _not_claimed(claim, "Kemi-lisä", command)
    opened, terms = employment.opened, employment.terms
    rule = RULES["kemi_supplement"].in_force(command.first_day, "month")
    values, label = rule.values, rule.label
    wanted = values["person_criteria"][command.person_criterion]
    if person is None or not person.shows(wanted):
        raise RuleViolated("person_criterion", f"intake's eligibility decision of client {opened.client_id} does "
                                               f"not show {command.person_criterion} ({label})")
    if decision is None:
        raise RuleViolated("pay_subsidy_decision", f"Kemi-lisä needs a granted pay subsidy ({label})")
    starts_on = opened.starts_on
    if starts_on is None or command.applied_on > _add_months(starts_on, int(values["apply_within_months"])):
        raise RuleViolated("applied_on", f"the employer applies within {values['apply_within_months']} month of "
                                         f"the job starting on {starts_on} ({label})")
    if command.first_day >= _add_months(starts_on.replace(day=1), int(values["max_months"])):
        raise RuleViolated("month", f"Kemi-lisä is paid for at most {values['max_months']} months from {starts_on} "
                                    f"({label})")
    if terms is None or terms.hours_per_week < Decimal(str(values["min_hours_per_week"])):
        raise RuleViolated("hours_per_week", f"the job is at least {values['min_hours_per_week']} h a week ({label})")
    if wages.gross_wage < rule.decimal("min_monthly_wage"):
        raise RuleViolated("month", f"the job pays at least {rule.decimal('min_monthly_wage')} EUR a month; "
                                    f"{command.month} paid less ({label})")
    amount = rule.decimal("monthly_max")
    if opened.employer_type == "company":
        room = cents(wages.wage_costs * rule.decimal("company_max_share_of_wage_costs") / HUNDRED) - pay_subsidy
        if room <= 0:
            raise RuleViolated("month", f"pay subsidy and Kemi-lisä together are at most "
                                        f"{values['company_max_share_of_wage_costs']} % of the wage costs ({label})")
        amount = min(amount, room)
    elif opened.employer_type in {"association", "foundation"}:
        months = values["association_min_job_months"]
        # Eight months from 1 March run to 31 October: the end is the day before the same date 8 months on.
        job_ends_on = employment.job_ends_on
        if job_ends_on is None or job_ends_on < _add_months(starts_on, months) - ONE_DAY:
            raise RuleViolated("planned_end_on", f"an association's job lasts at least {months} months ({label})")
        if not command.guidance_form:
            raise RuleViolated("guidance_form", f"an association's job needs the guidance form ({label})")
        if not 2 <= command.days_at_another_employer <= 3:
            raise RuleViolated("days_at_another_employer", f"an association's job includes a 2-3 day placement at "
                                                           f"another employer ({label})")
    return [MunicipalSupplementClaimed(
        claim_id=claim_id("kemi_supplement", opened.employment_id, command.month),
        employment_id=opened.employment_id, employer_id=opened.employer_id, period_start=command.first_day,
        period_end=command.last_day, amount=amount, rules=(label,))]


def _not_claimed(claim: SubsidyClaim, what: str, month: ClaimMonth) -> None:
    if claim.claimed is not None:
        raise StateConflict(f"{what} for {month.month} was claimed (claim {claim.claimed.claim_id})")


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
