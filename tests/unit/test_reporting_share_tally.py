"""The municipal share from the tally's cells equals the per-client reference (payment_periods), to the cent
and the day, for clients drawn across every threshold, the rule changes, exits and paid work."""
import random
from collections import defaultdict
from datetime import date, timedelta

import pytest

from services.reporting.reports.municipal_share import share_by_client
from services.reporting.rules.municipal_share import share_rules, work_and_exit_cut
from services.reporting.rules.share_cells import client_cells
from services.reporting.rules.share_grid import grid_of, share_grid
from services.reporting.rules.share_sweep import share_by_month

THRESHOLD_DAYS = (0, 1, 19, 20, 21, 99, 100, 101, 199, 200, 201, 280, 290, 299, 300, 301, 399, 400, 401, 980,
                  999, 1000, 1001, 1500)
PAID, UNPAID = sorted(share_rules().paid_work_kinds), ["work_trial", "rehabilitative_work"]
WORK_EXIT, OTHER_EXIT = sorted(share_rules().employed_exit_statuses), ["unemployed", "in_education_or_training"]


def _day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randrange((last - first).days + 1))


def random_client(rng: random.Random) -> tuple:
    # Referrals across the 2022/2023 rate change and the 2024/2025 model change.
    referred_on = _day(rng, date(2022, 9, 1), date(2026, 6, 30))
    days = rng.choice(THRESHOLD_DAYS) if rng.random() < 0.6 else rng.randrange(1600)
    exited_on = exit_status = None
    if rng.random() < 0.45:
        exited_on = referred_on + timedelta(days=rng.randrange(-10, 900))
        exit_status = rng.choice(WORK_EXIT + OTHER_EXIT)
    placements = []
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
        first = referred_on + timedelta(days=rng.randrange(-60, 700))
        length = rng.choice((0, 1, 2, 5, 6, 27, 28, 29, rng.randrange(400)))
        last = None if rng.random() < 0.25 else first + timedelta(days=length)
        placements.append((rng.choice(PAID + UNPAID), first, last))
    return days, referred_on, exited_on, exit_status, placements


def reference(clients: list[tuple], until: date, first_month: str | None) -> dict[str, list]:
    rules = share_rules()
    return share_by_client([(days, referred_on, exited_on, status, [(f, la) for kind, f, la in placements
                                                                      if kind in rules.paid_work_kinds])
                            for days, referred_on, exited_on, status, placements in clients],
                           until, first_month, rules)


def tally(clients: list[tuple]) -> list[tuple]:
    """The cells summed per key, as report_share_tally keeps them (a group without cells is gone), without the
    count of cells, as the report reads them."""
    grid = share_grid()
    cells: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for days, referred_on, exited_on, status, placements in clients:
        paid_work = [(f, la) for kind, f, la in placements if kind in grid.rules.paid_work_kinds]
        work, cut = work_and_exit_cut(grid.rules, exited_on, status, paid_work)
        for key, amounts in client_cells(grid, referred_on, days, cut, work):
            for position, amount in enumerate(amounts):
                cells[key][position] += amount
    return [key + tuple(amounts[1:]) for key, amounts in cells.items() if amounts[0]]


@pytest.mark.parametrize("seed", range(6))
def test_the_tally_equals_every_clients_periods(seed):
    rng = random.Random(seed)
    clients = [random_client(rng) for _ in range(700)]
    rows = tally(clients)
    grid = share_grid()
    for until in (date(2026, 12, 31), date(2025, 1, 1), date(2024, 12, 31), _day(rng, date(2023, 1, 1),
                                                                                  date(2026, 12, 31))):
        for first_month in (None, "2025-01", f"{until.year:04d}-{until.month:02d}"):
            expected = reference(clients, until, first_month)
            assert share_by_month(grid, rows, until, first_month) == expected, (seed, until, first_month)


def test_every_day_of_a_period_as_until():
    """`until` on each day of the periods around the threshold and employment boundaries."""
    rng = random.Random(99)
    clients = [random_client(rng) for _ in range(300)]
    rows = tally(clients)
    for offset in range(60):
        until = date(2025, 3, 1) + timedelta(days=offset)
        assert share_by_month(share_grid(), rows, until) == reference(clients, until, None), until


def test_the_ladder_at_its_boundaries_one_client_at_a_time():
    monday = date(2024, 1, 1)
    for days in (290, 299, 300, 301, 990, 999, 1000, 1001):
        for exit_day in (None, monday + timedelta(days=40)):
            client = [(days, monday, exit_day, "unemployed" if exit_day else None, [])]
            for until in (monday + timedelta(days=27), monday + timedelta(days=28), monday + timedelta(days=83)):
                assert share_by_month(share_grid(), tally(client), until) == reference(client, until, None)


def test_a_cell_without_a_rule_refuses_as_the_reference_does():
    client = [(0, date(2014, 12, 1), date(2014, 12, 20), "unemployed", [])]
    with pytest.raises(LookupError, match="municipal share model"):
        reference(client, date(2015, 1, 31), None)
    with pytest.raises(LookupError, match="municipal share model"):
        share_by_month(share_grid(), tally(client), date(2015, 1, 31))


def test_a_change_in_the_rules_changes_the_fingerprint():
    rules = share_rules()
    assert share_grid().fingerprint == grid_of(rules).fingerprint != grid_of(
        type(rules)(rules.models, rules.period_days, rules.benefit_days_per_week, rules.period_source,
                    rules.daily_rates, rules.paid_work_kinds - {"gig_work"}, rules.employed_exit_statuses,
                    rules.paid_work_source)).fingerprint
