"""Programmes as rule sets (programmes.yaml): which criterion of a programme a referral meets, or why
it meets none. Pure: the facts come in as a mapping of measures, the decision goes out."""
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

from contracts.events.intake import FailedCriterion, ProgrammeCode
from services.platform.errors import RuleViolated
from services.platform.rules import SourcedRule


class Condition(BaseModel):
    """One test of one measure; exactly one of the tests is given."""

    # `is` is a Python keyword: the field is is_, the YAML key is `is`.
    model_config = ConfigDict(extra="forbid", alias_generator=lambda name: "is" if name == "is_" else name,
                              populate_by_name=True)

    measure: str
    more_than: int | None = None
    at_least: int | None = None
    less_than: int | None = None
    is_: bool | None = None
    one_of: list[str] | None = None

    @model_validator(mode="after")
    def _one_test(self) -> "Condition":
        tests = [self.more_than, self.at_least, self.less_than, self.is_, self.one_of]
        if sum(test is not None for test in tests) != 1:
            raise ValueError(f"condition on {self.measure} needs exactly one test")
        return self

    def failure(self, facts: Mapping[str, Any]) -> str | None:
        """None when the condition holds, else why not, in words a case worker can read out."""
        value = facts.get(self.measure)
        if value is None:
            return f"{self.measure} was not given"
        if self.more_than is not None and not value > self.more_than:
            return f"{self.measure} is {value}, not more than {self.more_than}"
        if self.at_least is not None and not value >= self.at_least:
            return f"{self.measure} is {value}, less than {self.at_least}"
        if self.less_than is not None and not value < self.less_than:
            return f"{self.measure} is {value}, not less than {self.less_than}"
        if self.is_ is not None and value is not self.is_:
            return f"{self.measure} is {'yes' if value else 'no'}, must be {'yes' if self.is_ else 'no'}"
        if self.one_of is not None and str(value).casefold() not in {item.casefold() for item in self.one_of}:
            return f"{self.measure} is not one of {', '.join(self.one_of)}"
        return None


class Criterion(SourcedRule):
    criterion: str
    description: str
    all_of: list[Condition]

    def failures(self, facts: Mapping[str, Any]) -> list[str]:
        return [reason for condition in self.all_of if (reason := condition.failure(facts)) is not None]


class Programme(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    criteria: list[Criterion]


@dataclass(frozen=True)
class Decision:
    programme: str
    rule_set_version: str
    matched: Criterion | None
    failed: tuple[FailedCriterion, ...]


PROGRAMMES: dict[str, Programme] = {
    code: Programme.model_validate(programme)
    for code, programme in yaml.safe_load((Path(__file__).parent / "programmes.yaml").read_text()).items()}


def decide_eligibility(programme: ProgrammeCode, facts: Mapping[str, Any], day: date,
                       programmes: Mapping[str, Programme] = PROGRAMMES) -> Decision:
    """The first criterion in force on `day` that the facts meet, or every criterion in force and why
    it failed. A programme with no criterion in force on that day cannot take referrals (422)."""
    in_force = [criterion for criterion in programmes[programme].criteria if criterion.in_force(day)]
    if not in_force:
        periods = "; ".join(f"{criterion.criterion} {criterion.valid_from}..{criterion.valid_to or ''}"
                            for criterion in programmes[programme].criteria)
        raise RuleViolated("programme", f"{programme} has no rule in force on {day.isoformat()} "
                                        f"(rules in force: {periods}; source: programmes.yaml)")
    version = f"{programme}/{max(criterion.valid_from for criterion in in_force).isoformat()}"
    failed: list[FailedCriterion] = []
    for criterion in in_force:
        reasons = criterion.failures(facts)
        if not reasons:
            return Decision(programme, version, criterion, ())
        failed.append(FailedCriterion(criterion=criterion.criterion, source=criterion.cited_source,
                                      reason="; ".join(reasons)))
    return Decision(programme, version, None, tuple(failed))
