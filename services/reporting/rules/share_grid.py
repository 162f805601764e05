"""What the municipal share tally's writer (share_cells.py) and reader (share_sweep.py) share: the rule file
seen as a grid of payment periods.

A period of whole weeks holds the same benefit days whatever weekday it starts on (20 in four weeks), so
a client never employed reaches 20 more days a period, and their share in a period depends only on the
period's first day (the model and daily rate valid then), its paid days and which threshold bucket the
days reached before it fall in (the union of every model's `after_days`: a model's percent is the same
for every number of days within one bucket). Days are ordinals (date.toordinal) here: cheap to count with.
"""
import zlib
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache

from services.reporting.rules.municipal_share import CENT, ShareRules, share_rules

ONGOING = 10 ** 9  # an ordinal after every date: the last day of a span that goes on
MONDAY_ORDINAL_REMAINDER = 1  # date(1, 1, 1), ordinal 1, was a Monday


@dataclass(frozen=True, eq=False)
class ShareGrid:
    rules: ShareRules
    thresholds: tuple[int, ...]  # every model's after_days, sorted
    full_days: int  # benefit days in a whole period
    fingerprint: int  # of the rules a tally's cells follow: cells made by other rules are stale
    # Per weekday of a period's first day (Monday 0): bit i set when day i of the period is a benefit weekday.
    benefit_bits: tuple[int, ...]
    _shares: dict = field(default_factory=dict, repr=False)
    _months: dict = field(default_factory=dict, repr=False)

    @property
    def period_days(self) -> int:
        return self.rules.period_days

    def bucket(self, reached: int) -> int:
        return bisect_right(self.thresholds, reached)

    def benefit_days_bits(self, first: int) -> int:
        return self.benefit_bits[(first - MONDAY_ORDINAL_REMAINDER) % 7]

    def benefit_days(self, first: int, last: int) -> int:
        """Benefit weekdays from `first` to `last` (both ordinals, within one period)."""
        return (self.benefit_days_bits(first) & ((1 << (last - first + 1)) - 1)).bit_count()

    def share_cents(self, first: int, paid_days: int, bucket: int) -> int:
        """A period's share in cents, as payment_periods computes it (quantized on its own), memoized."""
        key = (first, paid_days, bucket)
        if (cents := self._shares.get(key)) is None:
            day = date.fromordinal(first)
            model, rate = self.rules.model_on(day), self.rules.daily_rate_on(day)  # LookupError as the reference
            percent = model.percent_after(self.thresholds[bucket - 1] if bucket else (
                self.thresholds[0] - 1 if self.thresholds else 0))
            cents = int((rate.euros * paid_days * percent / 100).quantize(CENT) * 100)
            self._shares[key] = cents
        return cents

    def month(self, day: int) -> int:
        """Months counted from year 0 (year * 12 + month - 1), memoized per ordinal."""
        if (month := self._months.get(day)) is None:
            moment = date.fromordinal(day)
            month = self._months[day] = moment.year * 12 + moment.month - 1
        return month


def month_name(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def fingerprint(rules: ShareRules) -> int:
    """Everything a tally's cells depend on; rates and percents too, as the cells of a cut period carry its share."""
    described = repr((rules.models, rules.daily_rates, rules.period_days, rules.benefit_days_per_week,
                      sorted(rules.paid_work_kinds), sorted(rules.employed_exit_statuses)))
    return zlib.crc32(described.encode()) & 0x7FFFFFFF  # fits a signed 32-bit integer column


@cache
def share_grid() -> ShareGrid | None:
    """The rule file's grid, made once (a projection asks for it per client: hashing the rules costs more)."""
    return grid_of(share_rules())


def grid_of(rules: ShareRules) -> ShareGrid | None:
    """None when a period is not whole weeks (its benefit days would vary): the tally does not apply then."""
    if rules.period_days % 7:
        return None
    per_week = rules.benefit_days_per_week
    bits = tuple(sum(1 << day for day in range(rules.period_days) if (weekday + day) % 7 < per_week)
                 for weekday in range(7))
    thresholds = tuple(sorted({step.after_days for model in rules.models for step in model.steps}))
    return ShareGrid(rules, thresholds, rules.period_days // 7 * per_week, fingerprint(rules), bits)


def cents_as_euros(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)
