"""The rules of placements, as data: each with its validity and source (../shared/RULES.md,
"Services on a pathway"). A city corrects a figure here, not in the code that applies it
(services/employer/domain/placements.py). Months are counted as days / (365/12), compared in whole days."""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from contracts.events.employer import PlacementKind
from contracts.values import EmployerType


@dataclass(frozen=True)
class PlacementRule:
    kind: PlacementKind
    valid_from: date
    valid_to: date | None
    source: str
    days_per_week: tuple[int, int] | None = None
    hours_per_day: tuple[Decimal, Decimal] | None = None
    min_average_hours_per_week: Decimal | None = None
    period_months: tuple[int, int] | None = None
    max_months_with_one_employer: int | None = None
    max_months_in_total: int | None = None
    refused_host_types: tuple[EmployerType, ...] = ()
    needs_agreement: bool = True
    needs_pay_subsidy_decision: bool = False
    started_by_pooling: bool = False

    def in_force(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


PATHWAY_SERVICES = "RULES.md 'Services on a pathway'"
PLACEMENT_RULES: tuple[PlacementRule, ...] = (
    PlacementRule(
        "work_trial", date(2013, 1, 1), None,
        f"{PATHWAY_SERVICES}: work trial (työkokeilu), Act 916/2012 on public employment services",
        days_per_week=(1, 5), hours_per_day=(Decimal(4), Decimal(8)),
        max_months_with_one_employer=6, max_months_in_total=12),
    PlacementRule(
        "rehabilitative_work", date(2001, 9, 1), None,
        f"{PATHWAY_SERVICES}: rehabilitative work activity (kuntouttava työtoiminta), Act 189/2001",
        days_per_week=(1, 4), hours_per_day=(Decimal(4), Decimal(8)), period_months=(3, 24),
        refused_host_types=("company",)),
    PlacementRule(
        "apprenticeship", date(2018, 1, 1), None,
        f"{PATHWAY_SERVICES}: apprenticeship (oppisopimus), Act 531/2017 on vocational education",
        min_average_hours_per_week=Decimal(25)),
    PlacementRule(
        "pay_subsidised_work", date(2023, 7, 1), None,
        "RULES.md 'Pay subsidy': pay subsidy (palkkatuki) is granted by a decision, from 1 Jul 2023",
        needs_pay_subsidy_decision=True),
    PlacementRule(
        "gig_work", date(2015, 1, 1), None,
        "GLOSSARY.md 'gig work model' (silpputyömalli): the foundation employs, tasks are pooled",
        started_by_pooling=True),
    PlacementRule(
        "open_market", date(2000, 1, 1), None, "an open-market hire needs no partnership agreement",
        needs_agreement=False),
)


@dataclass(frozen=True)
class PoolingRule:
    valid_from: date
    valid_to: date | None
    source: str
    min_hours_per_week: Decimal

    def in_force(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


POOLING_RULES: tuple[PoolingRule, ...] = (
    PoolingRule(date(2015, 1, 1), None, "RULES.md 'Kemi-lisä': the job is at least 18 h/week",
                min_hours_per_week=Decimal(18)),
)
SAME_DAY_TRAVEL = "tasks on one day must be in one municipality, so the worker can travel between them"


def rule_for(kind: str, day: date, rules: tuple[PlacementRule, ...] = PLACEMENT_RULES) -> PlacementRule:
    """The rule of this kind in force on `day`; every kind has one for every day since its first."""
    for rule in rules:
        if rule.kind == kind and rule.in_force(day):
            return rule
    raise LookupError(f"no rule for {kind} on {day}")


def pooling_rule_for(day: date, rules: tuple[PoolingRule, ...] = POOLING_RULES) -> PoolingRule:
    return next(rule for rule in rules if rule.in_force(day))
