"""What every rule row of every service's rule tables carries: its validity and its source."""
from datetime import date

from pydantic import BaseModel, ConfigDict


class SourcedRule(BaseModel):
    """A row of a rule table: in force from `valid_from` to `valid_to` (both days included, None: still
    in force), from `source`; `unverified` names what the source does not give, shown with the rule."""

    model_config = ConfigDict(extra="forbid")

    source: str
    unverified: str | None = None
    valid_from: date
    valid_to: date | None

    def in_force(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    @property
    def cited_source(self) -> str:
        return f"{self.source} (unverified: {self.unverified})" if self.unverified else self.source
