"""Rules of the steps a case worker decides (step_rules.yaml), checked when a step is planned; a broken
rule is refused naming the field, the rule and its source."""
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml

from services.platform.dates import add_months
from services.platform.errors import RuleViolated
from services.platform.rules import SourcedRule


class StepRule(SourcedRule):
    rule: str
    step_kinds: Literal["any"] | list[str]
    measure: str
    at_most: Decimal | None = None
    at_least: Decimal | None = None
    required: bool = False

    def applies(self, step_kind: str, day: date) -> bool:
        return (self.step_kinds == "any" or step_kind in self.step_kinds) and self.in_force(day)

    def broken_by(self, measures: dict[str, Any]) -> str | None:
        value = measures.get(self.measure)
        if value is None:
            return f"must be given for this step ({self.rule})" if self.required else None
        if self.at_most is not None and value > self.at_most:
            return f"at most {self.at_most} ({self.rule})"
        if self.at_least is not None and value < self.at_least:
            return f"at least {self.at_least} ({self.rule})"
        return None


class FullTime(SourcedRule):
    hours: Decimal


_RAW = yaml.safe_load((Path(__file__).parent / "step_rules.yaml").read_text())
RULES = [StepRule.model_validate(rule) for rule in _RAW["rules"]]
FULL_TIME = [FullTime.model_validate(row) for row in _RAW["full_time_from_hours_per_week"]]


def months_between(start: date, end: date) -> Decimal:
    """Whole months from `start` to `end` (both days included), plus the fraction of a month begun."""
    months = 0
    while add_months(start, months + 1) - timedelta(days=1) <= end:
        months += 1
    return Decimal(months) + (Decimal(1) / 2 if add_months(start, months) <= end else 0)


@dataclass(frozen=True)
class StepMeasures:
    step_kind: str
    planned_start_on: date
    planned_end_on: date | None
    days_per_week: int | None
    hours_per_day: Decimal | None
    hours_per_week: Decimal | None

    def as_dict(self) -> dict[str, Any]:
        months = months_between(self.planned_start_on, self.planned_end_on) if self.planned_end_on else None
        return {"days_per_week": self.days_per_week, "hours_per_day": self.hours_per_day,
                "hours_per_week": self.hours_per_week, "months": months, "planned_end_on": self.planned_end_on}


def check(step: StepMeasures, rules: list[StepRule] = RULES) -> None:
    """Raises RuleViolated for the first rule in force on the planned start that the step breaks."""
    measures = step.as_dict()
    for rule in rules:
        if rule.applies(step.step_kind, step.planned_start_on) and (broken := rule.broken_by(measures)):
            field = "planned_end_on" if rule.measure == "months" else rule.measure
            raise RuleViolated(field, f"{step.step_kind}: {broken}; source: {rule.cited_source}")


def full_time_rule(day: date) -> FullTime:
    rule = next((row for row in FULL_TIME if row.in_force(day)), None)
    if rule is None:
        raise RuleViolated("planned_start_on", f"no full-time rule in force on {day.isoformat()} (step_rules.yaml)")
    return rule


def is_full_time(hours_per_week: Decimal | None, day: date) -> bool:
    """Full time under the rule in force on `day` (the step's start)."""
    return hours_per_week is not None and hours_per_week >= full_time_rule(day).hours
