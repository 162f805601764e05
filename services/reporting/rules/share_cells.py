"""A client's cells in the municipal share tally (report_share_tally): their payment periods, without a
closing day, as the few cells a report adds up for any `until` (share_sweep.py reads them).

Per side (`idle`: had every benefit day been paid; `work`: as it was, the days in paid work not paid;
`both`: a client never employed, whose two sides are the same):
- `run`: +1 at the first day of a period from which whole periods are paid in full with the days reached
  before them in one threshold bucket, -1 where that stops (none when it goes on). Clients whose referral
  days are congruent modulo the period length share period boundaries, so these add up per phase.
- `cross`: a run going on into the next bucket (-1 in the bucket before, +1 in this one), one cell for two.
- `employed` (work side): the same for periods in paid work on every benefit day (nothing paid, all not paid).
- a period cut by an exit to anything but work, or in paid work on some of its benefit days: `ended`
  (keyed by its last day, with its share already in cents, what a report takes once that day is in its
  range) and `current` (its first day, bucket, the benefit days in work as bits and the exit day, what a
  report takes when its `until` falls inside the period). `norule`: such a period has no rule in the file.
Per client also `first` (their first period's first day, and the exit day if it cuts that period) and `cut`
(the exit day that ends their periods),
from which a report counts the clients with a period ending in a month.
A key is (record, side, day ordinal, bucket, work bits, exit ordinal or 0); amounts are (cells, clients
(-1 for a stop), share paid in cents, share had every day been paid in cents, days not paid).
"""
from bisect import bisect_right
from collections.abc import Iterable
from datetime import date

from services.reporting.rules.share_grid import ONGOING, ShareGrid

Cell = tuple[tuple[str, str, int, int, int, int], tuple[int, int, int, int, int]]
ONE = (1, 1, 0, 0, 0)
STOP = (1, -1, 0, 0, 0)


def client_cells(grid: ShareGrid, referred_on: date, days: int, exit_cut: date | None,
                 spans: Iterable[tuple[date, date | None]]) -> list[Cell]:
    """`exit_cut`: the day of an exit to anything but work (their periods end there); `spans`: paid work,
    (first day, last day or None while it goes on), an exit to work among them."""
    first = referred_on.toordinal()
    cut = exit_cut.toordinal() if exit_cut is not None else None
    if cut is not None and cut < first:
        return []  # no period: the reference counts nothing either
    merged = _merged((start.toordinal(), end.toordinal() if end is not None else ONGOING) for start, end in spans)
    relevant = [(start, end) for start, end in merged if end >= first and (cut is None or start <= cut)]
    # The exit day too when it cuts the first period: the client's first month is the exit's then.
    first_cut = cut if cut is not None and cut < first + grid.period_days - 1 else 0
    cells: list[Cell] = [(("first", "", first, 0, 0, first_cut), ONE)]
    if cut is not None:
        cells.append((("cut", "", cut, 0, 0, 0), ONE))
    if not relevant:
        return cells + _side_without_work(grid, "both", first, days, cut)
    return cells + _side_without_work(grid, "idle", first, days, cut) + _side(grid, "work", first, days, cut, relevant)


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 1:  # touching spans make one: no boundary between them
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _side_without_work(grid: ShareGrid, side: str, first: int, reached: int, cut: int | None) -> list[Cell]:
    """What _side makes without spans, in a few steps: a run from the first day, a cross per threshold the
    days reached get past before the exit, and the period the exit cuts."""
    length, full, thresholds = grid.period_days, grid.full_days, grid.thresholds
    whole = None if cut is None else (cut - first) // length  # whole periods before the one the exit cuts
    cells: list[Cell] = []
    bucket = grid.bucket(reached)
    if whole != 0:
        cells.append((("run", side, first, bucket, 0, 0), ONE))
        while bucket < len(thresholds):
            periods = -(-(thresholds[bucket] - reached) // full)  # the first period past the threshold
            if whole is not None and periods >= whole:
                break
            day, after = first + periods * length, grid.bucket(reached + full * periods)
            if after == bucket + 1:
                cells.append((("cross", side, day, after, 0, 0), ONE))
            else:
                cells += [(("run", side, day, bucket, 0, 0), STOP), (("run", side, day, after, 0, 0), ONE)]
            bucket = after
        if whole is not None:
            cells.append((("run", side, first + whole * length, bucket, 0, 0), STOP))
    if whole is not None:
        cells += _single(grid, side, first + whole * length, reached + full * whole, 0, cut)
    return cells


def _side(grid: ShareGrid, side: str, start: int, reached: int, cut: int | None,
          spans: list[tuple[int, int]]) -> list[Cell]:
    cells: list[Cell] = []
    length, full, thresholds = grid.period_days, grid.full_days, grid.thresholds
    benefit = grid.benefit_days_bits(start)  # every period of the client starts on the same weekday
    boundaries = sorted({day for span_start, span_end in spans for day in (span_start, span_end + 1)
                         if day < ONGOING})
    first = start
    while True:
        last = first + length - 1
        if cut is not None and cut <= last:
            cells += _single(grid, side, first, reached, _in_work(spans, first, cut) & benefit, cut)
            return cells
        in_work = _in_work(spans, first, last) & benefit
        if in_work and in_work != benefit:
            cells += _single(grid, side, first, reached, in_work, 0)
            reached += full - in_work.bit_count()
            first += length
            continue
        # Paid in full or not at all, and so are the periods after it up to the next start or end of work.
        periods = _alike_periods(boundaries, first, length)
        if cut is not None:
            periods = _fewer(periods, (cut - first) // length)  # the period the exit cuts is a single
        bucket = 0
        if in_work:
            record, side_of = "employed", "work"
        else:
            record, side_of, bucket = "run", side, grid.bucket(reached)
            if bucket < len(thresholds):  # the run stops where the days reached enter the next bucket
                periods = _fewer(periods, -(-(thresholds[bucket] - reached) // full))
        if record == "run" and cells and cells[-1] == ((record, side_of, first, bucket - 1, 0, 0), STOP):
            cells[-1] = (("cross", side_of, first, bucket, 0, 0), ONE)  # one cell where two would say it
        else:
            cells.append(((record, side_of, first, bucket, 0, 0), ONE))
        if periods is None:
            return cells
        cells.append(((record, side_of, first + periods * length, bucket, 0, 0), STOP))
        if not in_work:
            reached += full * periods
        first += periods * length


def _fewer(periods: int | None, limit: int) -> int:
    return limit if periods is None else min(periods, limit)


def _alike_periods(boundaries: list[int], first: int, length: int) -> int | None:
    """How many periods from `first` have no start or end of work inside them (None: all from there)."""
    last = first + length - 1
    index = bisect_right(boundaries, first)  # a boundary on the first day splits nothing
    if index < len(boundaries) and boundaries[index] <= last:
        return 1
    return (boundaries[index] - first) // length if index < len(boundaries) else None


def _in_work(spans: list[tuple[int, int]], first: int, last: int) -> int:
    """Bit i set when day first + i (up to `last`) is in a span."""
    bits = 0
    for span_start, span_end in spans:
        low, high = max(span_start, first), min(span_end, last)
        if low <= high:
            bits |= (1 << (high - first + 1)) - (1 << (low - first))
    return bits


def _single(grid: ShareGrid, side: str, first: int, reached: int, in_work: int, cut: int) -> list[Cell]:
    bucket = grid.bucket(reached)
    last = cut or first + grid.period_days - 1
    not_paid = in_work.bit_count()
    current = (("current", side, first, bucket, in_work, cut), ONE)
    try:
        share = grid.share_cents(first, grid.benefit_days(first, last) - not_paid, bucket)
    except LookupError:  # the report says which rule is missing when it reaches this period
        return [(("norule", "", first, 0, 0, 0), ONE), current]
    paid = share if side != "idle" else 0
    idle = share if side != "work" else 0
    return [(("ended", "", last, 0, 0, 0), (1, 1, paid, idle, not_paid if side == "work" else 0)), current]
