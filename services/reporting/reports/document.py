"""What every report is: its scope, its tables (JSON, CSV, XLSX and the dashboard all read these) and
the rules and sources its figures rest on; counts of people are suppressed for outsiders."""
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from services.reporting.rules.figures import suppressed, suppression_rule


@dataclass(frozen=True)
class Scope:
    """One employment area, a date range (both ends included, either open) and whether small counts
    are suppressed (for anyone but the area's own managers)."""

    area: str
    first_day: date | None = None
    last_day: date | None = None
    suppress_under: int | None = None

    def covers(self, day: date | None) -> bool:
        return day is not None and (self.first_day is None or day >= self.first_day) and \
            (self.last_day is None or day <= self.last_day)


@dataclass
class Table:
    name: str
    title_en: str
    title_fi: str
    columns: list[str]
    rows: list[list[Any]]
    counts: tuple[str, ...] = ()  # columns that count people: suppressed under the threshold for outsiders
    follows_counts: tuple[str, ...] = ()  # figures of those people (a median): hidden with their count


@dataclass(frozen=True)
class Source:
    figure: str
    source: str
    verified: bool = True


@dataclass
class Report:
    name: str
    scope: Scope
    tables: list[Table]
    sources: list[Source] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def suppressed(self) -> "Report":
        """Counts under the threshold replaced by None, and a note that says how many and why."""
        threshold = self.scope.suppress_under
        if threshold is None:
            return self
        hidden = 0
        for table in self.tables:
            positions = [table.columns.index(column) for column in table.counts]
            followers = [table.columns.index(column) for column in table.follows_counts]
            for row in table.rows:
                for position in positions:
                    shown = suppressed(row[position], threshold)
                    if shown is None and row[position] is not None:
                        hidden += 1
                        for follower in followers:
                            row[follower] = None
                    row[position] = shown
        rule = suppression_rule()
        self.notes.append(f"{hidden} count(s) under {threshold} are not shown (null): small numbers identify "
                          f"people. Source: {rule['source']}")
        return self

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise LookupError(name)

    def as_json(self) -> dict[str, Any]:
        return {
            "report": self.name, "employment_area": self.scope.area,
            "from": _json(self.scope.first_day), "to": _json(self.scope.last_day),
            "suppressed_under": self.scope.suppress_under,
            "tables": [{"name": t.name, "title_en": t.title_en, "title_fi": t.title_fi, "columns": t.columns,
                        "counts": list(t.counts), "rows": [[_json(value) for value in row] for row in t.rows]}
                       for t in self.tables],
            "sources": [{"figure": s.figure, "source": s.source, "verified": s.verified} for s in self.sources],
            "notes": self.notes,
        }


def hundredths(value: int | Decimal | None) -> Decimal:
    """Stored cents or hundredths of an hour as euros or hours with two decimals (SUM on PostgreSQL gives
    a Decimal, on SQLite an int: the same figure either way)."""
    return (Decimal(value or 0) / 100).quantize(Decimal("0.01"))


def _json(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
