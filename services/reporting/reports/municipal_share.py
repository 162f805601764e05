"""The municipal share of labour market subsidy per month, and what employment saved (days not paid),
from each client's subsidy days at entry and their paid work since; and city finance's what-if."""
from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.reports.document import Report, Scope, Source, Table
from services.reporting.rules.municipal_share import (RULES_FILE, ShareRules, WhatIf, employed_during,
                                                      savings_by_month, share_rules)
from services.reporting.tables import clients, placements


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
    """Month -> [clients, days not paid, share paid, share saved], over the clients with entry facts."""
    rules = share_rules()
    counted = (await connection.execute(
        select(clients.c.client_id, clients.c.subsidy_days_at_entry, clients.c.referred_on, clients.c.exited_on,
               clients.c.exit_status)
        .where(clients.c.employment_area == scope.area, clients.c.subsidy_days_at_entry.is_not(None)))).all()
    spans: dict[str, list[tuple[date, date | None]]] = defaultdict(list)
    if counted:
        for client_id, first, last in (await connection.execute(
                select(placements.c.client_id, placements.c.starts_on, placements.c.ended_on)
                .where(placements.c.employment_area == scope.area,
                       placements.c.kind.in_(rules.paid_work_kinds)))).all():
            spans[client_id].append((first, last))
    until = min(filter(None, (scope.last_day, today)))
    months: dict[str, list] = defaultdict(lambda: [0, 0, Decimal(0), Decimal(0)])
    for client_id, days, referred_on, exited_on, exit_status in counted:
        client_spans = spans.get(client_id, [])
        if exited_on is not None and exit_status in rules.employed_exit_statuses:
            client_spans = [*client_spans, (exited_on, None)]
        # After an exit to anything but work, the client's benefit is no longer the services' to count.
        end = until if exited_on is None or exit_status in rules.employed_exit_statuses else min(until, exited_on)
        for month, saving in savings_by_month(days, referred_on, end, employed_during(client_spans), rules).items():
            if scope.first_day is None or month >= scope.first_day.strftime("%Y-%m"):
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
