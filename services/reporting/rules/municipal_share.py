"""The municipal share of labour market subsidy (työmarkkinatuen kuntaosuus), by payment period.

A client's benefit days run in payment periods of four weeks from their referral. A period's share
follows the benefit days reached before it: under the 2015-2024 ladder the state pays the period in
which the 300th day is reached, the municipality pays 50 % from the next period until the end of the
one in which the 1,000th day is reached, and 70 % after that. The same code answers the actual
figures, the savings of employment (days not paid) and city finance's what-if.
"""
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

import yaml

RULES_FILE = Path(__file__).with_name("municipal_share.yaml")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Step:
    after_days: int
    percent: int


@dataclass(frozen=True)
class ShareModel:
    name: str
    valid_from: date
    valid_to: date | None
    verified: bool
    source: str
    steps: tuple[Step, ...]

    def percent_after(self, days_before: int) -> int:
        """The municipality's percent for a period that starts with `days_before` days already reached."""
        return max((step.percent for step in self.steps if days_before >= step.after_days), default=0)


@dataclass(frozen=True)
class DailyRate:
    valid_from: date
    valid_to: date | None
    euros: Decimal
    verified: bool
    source: str


@dataclass(frozen=True)
class ShareRules:
    models: tuple[ShareModel, ...]
    period_days: int
    benefit_days_per_week: int
    period_source: str
    daily_rates: tuple[DailyRate, ...]
    paid_work_kinds: frozenset[str]
    employed_exit_statuses: frozenset[str]
    paid_work_source: str

    def model_on(self, day: date) -> ShareModel:
        return _valid_on(self.models, day, "municipal share model")

    def daily_rate_on(self, day: date) -> DailyRate:
        return _valid_on(self.daily_rates, day, "daily labour market subsidy")


def _valid_on(rows, day: date, what: str):
    for row in rows:
        if row.valid_from <= day and (row.valid_to is None or day <= row.valid_to):
            return row
    raise LookupError(f"no {what} in {RULES_FILE.name} is valid on {day.isoformat()}")


@cache
def share_rules(path: Path = RULES_FILE) -> ShareRules:
    loaded = yaml.safe_load(path.read_text())
    models = tuple(ShareModel(name=m["name"], valid_from=m["valid_from"], valid_to=m["valid_to"],
                              verified=m["verified"], source=m["source"],
                              steps=tuple(Step(**step) for step in m["steps"])) for m in loaded["models"])
    rates = tuple(DailyRate(valid_from=r["valid_from"], valid_to=r["valid_to"], euros=Decimal(r["euros"]),
                            verified=r["verified"], source=r["source"]) for r in loaded["daily_subsidy"])
    period = loaded["payment_period"]
    paid = loaded["paid_work"]
    return ShareRules(models, period["days"], period["benefit_days_per_week"], period["source"], rates,
                      frozenset(paid["kinds"]), frozenset(paid["exit_statuses"]), paid["source"])


@dataclass(frozen=True)
class PaymentPeriod:
    starts_on: date
    ends_on: date
    days_before: int
    benefit_days: int  # paid in this period
    days_not_paid: int  # benefit days not paid because the client was employed
    model: str
    percent: int
    municipal_share: Decimal


def weekdays(first: date, last: date, per_week: int) -> int:
    """How many days from `first` to `last` (both included) are among the first `per_week` days of their week."""
    if last < first:
        return 0
    whole_weeks, rest = divmod((last - first).days + 1, 7)
    start = first.weekday()
    return whole_weeks * per_week + sum(1 for offset in range(rest) if (start + offset) % 7 < per_week)


@dataclass(frozen=True)
class Employed:
    """Days in work: spans (first day, last day; date.max while it goes on), merged so none overlap."""

    spans: tuple[tuple[date, date], ...] = ()

    def weekdays_within(self, first: date, last: date, per_week: int) -> int:
        return sum(weekdays(max(first, span_first), min(last, span_last), per_week)
                   for span_first, span_last in self.spans if span_first <= last and span_last >= first)


NOT_EMPLOYED = Employed()


def payment_periods(days_at_start: int, start: date, until: date, employed: Employed = NOT_EMPLOYED,
                    rules: ShareRules | None = None) -> list[PaymentPeriod]:
    """The periods from `start` whose first day is on or before `until` (the last one cut at `until`).

    A weekday is a benefit day unless the client is `employed` on it (the first `benefit_days_per_week`
    weekdays of a week are paid). Counted by arithmetic, not day by day: a report runs this for every client.
    """
    rules = rules or share_rules()
    periods, reached, starts_on = [], days_at_start, start
    while starts_on <= until:
        ends_on = min(starts_on + timedelta(days=rules.period_days - 1), until)
        not_paid = employed.weekdays_within(starts_on, ends_on, rules.benefit_days_per_week)
        paid = weekdays(starts_on, ends_on, rules.benefit_days_per_week) - not_paid
        model = rules.model_on(starts_on)
        percent = model.percent_after(reached)
        share = (rules.daily_rate_on(starts_on).euros * paid * percent / 100).quantize(CENT)
        periods.append(PaymentPeriod(starts_on, ends_on, reached, paid, not_paid, model.name, percent, share))
        reached += paid
        starts_on += timedelta(days=rules.period_days)
    return periods


@dataclass(frozen=True)
class MonthlySaving:
    month: str  # YYYY-MM, of the period's last day
    days_not_paid: int
    municipal_share_paid: Decimal
    municipal_share_saved: Decimal


def savings_by_month(days_at_start: int, start: date, until: date, employed: Employed,
                     rules: ShareRules | None = None) -> dict[str, MonthlySaving]:
    """What employment saved: the share as it was against the share had every benefit day been paid."""
    without_work = payment_periods(days_at_start, start, until, rules=rules)
    # Never employed: the same periods (a report asks this for every client, most of them never employed).
    actual = payment_periods(days_at_start, start, until, employed, rules) if employed.spans else without_work
    months: dict[str, list] = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    for worked, idle in zip(actual, without_work, strict=True):
        month = months[f"{worked.ends_on.year:04d}-{worked.ends_on.month:02d}"]
        month[0] += worked.days_not_paid
        month[1] += worked.municipal_share
        month[2] += idle.municipal_share - worked.municipal_share
    return {month: MonthlySaving(month, *figures) for month, figures in sorted(months.items())}


def employed_during(spans: Iterable[tuple[date, date | None]]) -> Employed:
    """Employment spans (first day, last day or None while it goes on), overlapping ones merged."""
    merged: list[tuple[date, date]] = []
    for first, last in sorted((first, last or date.max) for first, last in spans):
        if merged and first <= merged[-1][1]:  # overlapping: a day counts once
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return Employed(tuple(merged))


def work_and_exit_cut(rules: ShareRules, exited_on: date | None, exit_status: str | None,
                      paid_work: list[tuple[date, date | None]]) -> tuple[list[tuple[date, date | None]], date | None]:
    """A client's days in work (paid placements, and an exit to work from its day on) and the day an exit
    to anything else ends their periods (after it, the benefit is no longer the services' to count)."""
    if exited_on is None:
        return paid_work, None
    if exit_status in rules.employed_exit_statuses:
        return [*paid_work, (exited_on, None)], None
    return paid_work, exited_on


@dataclass(frozen=True)
class WhatIf:
    clients: int
    days_so_far: int
    employed_from: date
    until: date
    municipal_share_without_work: Decimal
    municipal_share_with_work: Decimal
    saved: Decimal
    by_month: dict[str, MonthlySaving]


def what_if(clients: int, days_so_far: int, start: date, employed_from: date, until: date,
            rules: ShareRules | None = None) -> WhatIf:
    """N more clients with `days_so_far` benefit days on `start`, employed from `employed_from` on."""
    by_month = savings_by_month(days_so_far, start, until, employed_during([(employed_from, None)]), rules)
    paid = sum((m.municipal_share_paid for m in by_month.values()), Decimal(0)) * clients
    saved = sum((m.municipal_share_saved for m in by_month.values()), Decimal(0)) * clients
    scaled = {month: MonthlySaving(month, m.days_not_paid * clients, m.municipal_share_paid * clients,
                                   m.municipal_share_saved * clients) for month, m in by_month.items()}
    return WhatIf(clients, days_so_far, employed_from, until, paid + saved, paid, saved, scaled)
