"""Rule tables: every rate, limit and amount the service applies, as data with a validity period
and a source. A row marked `verified: false` could not be checked against its source; whatever
uses it says so in its output (`Rule.label`)."""
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from services.platform.errors import RuleViolated

HERE = Path(__file__).parent


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    valid_from: date
    valid_to: date | None = None
    source: str
    verified: bool = True
    values: dict[str, Any]

    def in_force(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def decimal(self, name: str) -> Decimal:
        return Decimal(str(self.values[name]))

    @property
    def label(self) -> str:
        """The row as a report names it: its id, its source, and the mark of a figure not verified."""
        return f"{self.id} ({self.source}{'; UNVERIFIED' if not self.verified else ''})"


class RuleTable(BaseModel):
    name: str
    rows: tuple[Rule, ...]

    def in_force(self, day: date, field: str, **match: Any) -> Rule:
        """The row in force on `day` (and whose values equal `match`); a refusal names the table."""
        for rule in self.rows:
            if rule.in_force(day) and all(rule.values.get(key) == value for key, value in match.items()):
                return rule
        wanted = ", ".join(f"{key} {value}" for key, value in match.items())
        raise RuleViolated(field, f"no {self.name} rule{' for ' + wanted if wanted else ''} is in force on {day}")

    def all_in_force(self, day: date) -> list[Rule]:
        return [rule for rule in self.rows if rule.in_force(day)]


@cache
def tables(file_name: str) -> dict[str, RuleTable]:
    """The rule tables of one YAML file beside the aggregates: `{table name: [rows]}`."""
    document = yaml.safe_load((HERE / file_name).read_text())
    return {name: RuleTable(name=name, rows=tuple(Rule.model_validate(row) for row in rows))
            for name, rows in document.items()}
