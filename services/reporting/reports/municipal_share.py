"""The municipal share of labour market subsidy per month, and what employment saved (days not paid),
from each client's subsidy days at entry and their paid work since; and city finance's what-if."""
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import cache

from sqlalchemy import ScalarSelect, Select, String, and_, bindparam, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.reports.document import Report, Scope, Source, Table
from services.reporting.rules.municipal_share import (RULES_FILE, ShareRules, WhatIf, employed_during,
                                                      savings_by_month, share_rules, work_and_exit_cut)
from services.reporting.rules.share_grid import share_grid
from services.reporting.rules.share_sweep import share_by_month
from services.reporting.tables import clients, placements, share_tally

log = logging.getLogger(__name__)


def rule_sources(rules: ShareRules) -> list[Source]:
    return [*(Source(f"municipal share model {model.name} ({model.valid_from} - {model.valid_to or 'on'})",
                     model.source, model.verified) for model in rules.models),
            *(Source(f"daily labour market subsidy from {rate.valid_from}: {rate.euros} EUR", rate.source,
                     rate.verified) for rate in rules.daily_rates),
            Source(f"payment period {rules.period_days} days, {rules.benefit_days_per_week} benefit days a week",
                   rules.period_source),
            Source("paid work ends the benefit: " + ", ".join(sorted(rules.paid_work_kinds)), rules.paid_work_source),
            Source("rule file", f"services/reporting/rules/{RULES_FILE.name}")]


async def municipal_share_by_month(connection: AsyncConnection, scope: Scope, today: date) -> dict[str, list]:
    """Month -> [clients, days not paid, share paid, share saved], over the clients with entry facts.

    From the tally the projection keeps (report_share_tally, rules/share_cells.py): a few thousand cells
    for an area, not every client's periods. Cells made under other rules than the file's now are stale
    until reporting's next start counts them anew (share_recount.py): then, and where the tally cannot
    apply, every client is computed as before."""
    rules = share_rules()
    until = min(filter(None, (scope.last_day, today)))
    first_month = f"{scope.first_day.year:04d}-{scope.first_day.month:02d}" if scope.first_day else None
    grid = share_grid()
    if grid is not None and not await _stale_cells(connection, scope.area, grid.fingerprint):
        last = until.toordinal()
        values = {"area": scope.area, "rules": grid.fingerprint, "until": last, "after": last - grid.period_days}
        runs, cells = _tally_statements(connection.dialect.name)
        months = share_by_month(grid, await connection.execute(cells, values), until, first_month,
                                await connection.execute(runs, values))
        # No cells while clients are counted: a database migrated to 0007 and not rebuilt since.
        if months or not await _not_filled(connection, scope.area, grid.fingerprint):
            return months
    log.warning("the municipal share tally does not follow the rule file, or is not filled yet; computing every "
                "client (reporting counts the tally anew when it starts; one never filled takes `polku rebuild`)",
                extra={"employment_area": scope.area})
    return await municipal_share_by_client(connection, scope.area, until, first_month)


async def _stale_cells(connection: AsyncConnection, area: str, fingerprint: int) -> bool:
    lowest, highest = (await connection.execute(AREA_RULES, {"area": area})).one()
    return lowest is not None and not lowest == highest == fingerprint


async def _not_filled(connection: AsyncConnection, area: str, fingerprint: int) -> bool:
    return (await connection.execute(ANY_CELL, {"area": area, "rules": fingerprint})).first() is None and \
        (await connection.execute(COUNTED_CLIENT, {"area": area})).first() is not None


@cache  # built once per dialect: the report runs them per request
def _tally_statements(dialect: str) -> tuple[Select, Select]:
    """The runs' points as one text per record and side (reading a row costs more than the sweep of it), and
    the other cells the sweep takes at `until` (of the periods cut or partly in work, those around it)."""
    tally = share_tally.c
    area = (tally.employment_area == bindparam("area"), tally.rules == bindparam("rules"))
    point = cast(tally.day, String) + ":" + cast(tally.bucket, String) + ":" + cast(tally.clients, String)
    points = func.group_concat(point, ",") if dialect == "sqlite" else func.string_agg(point, ",")
    # Grouped as the primary key runs, so the database sums up as it reads, without sorting.
    runs = (select(tally.record, tally.side, points)
            .where(*area, tally.record.in_(("run", "cross", "employed")))
            .group_by(tally.record, tally.side))
    cells = (select(tally.record, tally.side, tally.day, tally.bucket, tally.in_work, tally.cut, tally.clients,
                    tally.paid_cents, tally.idle_cents, tally.days_not_paid)
             .where(*area, or_(tally.record.in_(("first", "cut", "ended", "norule")),
                               and_(tally.record == "current", tally.day > bindparam("after"),
                                    tally.day <= bindparam("until")))))
    return runs, cells


ANY_CELL = (select(share_tally.c.rules).where(share_tally.c.employment_area == bindparam("area"),
                                              share_tally.c.rules == bindparam("rules")).limit(1))
COUNTED_CLIENT = (select(clients.c.client_id).where(clients.c.employment_area == bindparam("area"),
                                                    clients.c.subsidy_days_at_entry.is_not(None)).limit(1))


def _area_rules(extreme: Callable) -> ScalarSelect:
    return select(extreme(share_tally.c.rules)).where(share_tally.c.employment_area == bindparam("area")) \
        .scalar_subquery()


# The lowest and highest fingerprint of an area's cells: one step down the key's index each, where
# `rules != :rules` read every cell of the area (35 ms of 40,000 on PostgreSQL, 1M events, not vacuumed).
AREA_RULES = select(_area_rules(func.min), _area_rules(func.max))


async def municipal_share_by_client(connection: AsyncConnection, area: str, until: date,
                                    first_month: str | None) -> dict[str, list]:
    """The reference: every client's payment periods (payment_periods), with and without their work."""
    rules = share_rules()
    counted = (await connection.execute(
        select(clients.c.client_id, clients.c.subsidy_days_at_entry, clients.c.referred_on, clients.c.exited_on,
               clients.c.exit_status)
        .where(clients.c.employment_area == area, clients.c.subsidy_days_at_entry.is_not(None)))).all()
    spans: dict[str, list[tuple[date, date | None]]] = defaultdict(list)
    if counted:
        for client_id, first, last in (await connection.execute(
                select(placements.c.client_id, placements.c.starts_on, placements.c.ended_on)
                .where(placements.c.employment_area == area,
                       placements.c.kind.in_(rules.paid_work_kinds)))).all():
            spans[client_id].append((first, last))
    return share_by_client([(days, referred_on, exited_on, exit_status, spans.get(client_id, []))
                            for client_id, days, referred_on, exited_on, exit_status in counted],
                           until, first_month, rules)


def share_by_client(counted: list[tuple[int, date, date | None, str | None, list[tuple[date, date | None]]]],
                    until: date, first_month: str | None, rules: ShareRules) -> dict[str, list]:
    """Per client (days at entry, referral day, exit day and status, paid work spans) by savings_by_month."""
    months: dict[str, list] = defaultdict(lambda: [0, 0, Decimal(0), Decimal(0)])
    for days, referred_on, exited_on, exit_status, paid_work in counted:
        work, exit_cut = work_and_exit_cut(rules, exited_on, exit_status, paid_work)
        end = until if exit_cut is None else min(until, exit_cut)
        for month, saving in savings_by_month(days, referred_on, end, employed_during(work), rules).items():
            if first_month is None or month >= first_month:
                figures = months[month]
                figures[0] += 1
                figures[1] += saving.days_not_paid
                figures[2] += saving.municipal_share_paid
                figures[3] += saving.municipal_share_saved
    return dict(sorted(months.items()))


async def municipal_share(connection: AsyncConnection, scope: Scope, today: date) -> Report:
    months = await municipal_share_by_month(connection, scope, today)
    table = Table("municipal_share_by_month", "Municipal share of labour market subsidy and what employment saved",
                  "Työmarkkinatuen kuntaosuus ja työllistymisen säästö kuukausittain",
                  ["month", "clients", "days_not_paid", "municipal_share_paid_eur", "municipal_share_saved_eur"],
                  [[month, *figures] for month, figures in months.items()], counts=("clients",))
    return Report("municipal-share", scope, [table], sources=rule_sources(share_rules()), notes=[
        "Clients count from their referral with the subsidy days recorded at entry; a weekday is a benefit day "
        "unless a paid placement or an exit to work covers it. Saved = the share had every benefit day been paid, "
        "less the share paid."])


def what_if_report(scope: Scope, result: WhatIf) -> Report:
    table = Table("what_if_by_month", "What if: the municipal share and savings, by month",
                  "Entä jos: kuntaosuus ja säästö kuukausittain",
                  ["month", "days_not_paid", "municipal_share_paid_eur", "municipal_share_saved_eur"],
                  [[m.month, m.days_not_paid, m.municipal_share_paid, m.municipal_share_saved]
                   for m in result.by_month.values()])
    summary = Table("what_if_summary", "What if: in total", "Entä jos: yhteensä",
                    ["clients", "subsidy_days_so_far", "employed_from", "until", "share_without_work_eur",
                     "share_with_work_eur", "saved_eur"],
                    [[result.clients, result.days_so_far, result.employed_from, result.until,
                      result.municipal_share_without_work, result.municipal_share_with_work, result.saved]])
    return Report("what-if", scope, [summary, table], sources=rule_sources(share_rules()), notes=[
        "The same rules and code as the municipal share report: each client's periods from the start date."])
