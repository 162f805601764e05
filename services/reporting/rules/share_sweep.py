"""The municipal share per month from the tally's cells (share_cells.py) for any `until`: a sweep over the
periods of each phase, cut at `until`, instead of every client's periods.

A run's periods share one first day per phase and bucket, so a cell's share is its client count times one
period's share, quantized as each client's is: exactly the per-client reference's sum, to the cent.
"""
from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from services.reporting.rules.share_grid import ShareGrid, cents_as_euros, month_name

Row = tuple[str, str, int, int, int, int, int, int, int, int]  # the key of a cell, then its amounts


def share_by_month(grid: ShareGrid, rows: Iterable[Row], until: date, first_month: str | None = None,
                   run_points: Iterable[tuple[str, str, str]] = ()) -> dict[str, list]:
    """Month -> [clients, days not paid, share paid, share saved] over the periods up to `until`.

    `run_points`: runs as the database sums them up, (record, side, "day:bucket:clients,…") (a row per
    cell would cost more to read than the sweep); `rows` may hold runs too."""
    last = until.toordinal()
    length = grid.period_days
    month = grid.month
    clients: dict[int, int] = defaultdict(int)  # month -> clients from it on (a difference array)
    paid: dict[int, int] = defaultdict(int)
    idle: dict[int, int] = defaultdict(int)
    not_paid: dict[int, int] = defaultdict(int)
    runs: dict[tuple, list[tuple[int, int]]] = defaultdict(list)
    after = month(last) + 1
    for record, side, day, bucket, in_work, cut, count, paid_cents, idle_cents, days_not_paid in rows:
        if record == "run" or record == "employed" or record == "cross":
            _point(runs, record, side, day, bucket, count, length)
        elif day > last:
            continue  # begins, or ends, after `until`: a current period is taken below instead
        elif record == "first":
            clients[month(min(day + length - 1, last, cut or last))] += count
            clients[after] -= count
        elif record == "cut":
            clients[month(day) + 1] -= count
            clients[after] += count
        elif record == "ended":
            paid[month(day)] += paid_cents
            idle[month(day)] += idle_cents
            not_paid[month(day)] += days_not_paid
        elif record == "current" and last < (cut or day + length - 1):
            in_work_days = (in_work & ((1 << (last - day + 1)) - 1)).bit_count()
            share = count * grid.share_cents(day, grid.benefit_days(day, last) - in_work_days, bucket)
            if side != "idle":
                paid[month(last)] += share
            if side != "work":
                idle[month(last)] += share
            if side == "work":
                not_paid[month(last)] += count * in_work_days
        elif record == "norule":
            grid.share_cents(day, 0, 0)  # raises the reference's LookupError, naming the day
    for record, side, points in run_points:  # parsed in one pass: tens of thousands of numbers
        numbers = iter(map(int, points.replace(":", ",").split(",")))
        if record == "cross":
            for day, bucket, count in zip(numbers, numbers, numbers):
                runs["run", side, day % length, bucket - 1].append((day, -count))
                runs["run", side, day % length, bucket].append((day, count))
        else:
            for day, bucket, count in zip(numbers, numbers, numbers):
                runs[record, side, day % length, bucket].append((day, count))
    for (record, side, _, bucket), points in runs.items():
        _sweep(grid, record, side, bucket, sorted(points), last, paid, idle, not_paid)
    return _months(clients, paid, idle, not_paid, first_month)


def _point(runs: dict[tuple, list[tuple[int, int]]], record: str, side: str, day: int, bucket: int, count: int,
           length: int) -> None:
    if record == "cross":  # out of the bucket before, into this one
        runs["run", side, day % length, bucket - 1].append((day, -count))
        record = "run"
    runs[record, side, day % length, bucket].append((day, count))


def _sweep(grid: ShareGrid, record: str, side: str, bucket: int, points: list[tuple[int, int]], last: int,
           paid: dict[int, int], idle: dict[int, int], not_paid: dict[int, int]) -> None:
    """One phase's periods from its first run's first day up to `until`, with the clients in a run at each."""
    length, full, share_cents, month_of = grid.period_days, grid.full_days, grid.share_cents, grid.month
    employed, to_paid, to_idle = record == "employed", side != "idle", side != "work"
    active, index, first, count = 0, 0, points[0][0], len(points)
    while first <= last and (active or index < count):
        while index < count and points[index][0] == first:
            active += points[index][1]
            index += 1
        if active:
            end = first + length - 1
            days = full if end < last else grid.benefit_days(first, last)
            month = month_of(min(end, last))
            if employed:
                not_paid[month] += active * days
            else:
                share = active * share_cents(first, days, bucket)
                if to_paid:
                    paid[month] += share
                if to_idle:
                    idle[month] += share
        elif index < count:  # skip the periods no run covers
            first = points[index][0]
            continue
        first += length


def _months(clients: dict[int, int], paid: dict[int, int], idle: dict[int, int], not_paid: dict[int, int],
            first_month: str | None) -> dict[str, list]:
    months: dict[str, list] = {}
    counted = 0
    for month in range(min(clients), max(clients)) if clients else ():
        counted += clients.get(month, 0)
        name = month_name(month)
        if counted and (first_month is None or name >= first_month):
            months[name] = [counted, not_paid.get(month, 0), cents_as_euros(paid.get(month, 0)),
                            cents_as_euros(idle.get(month, 0) - paid.get(month, 0))]
    return months
