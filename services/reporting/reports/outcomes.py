"""Outcomes in the seeds' terms: clients served, placements by kind and ending, hidden jobs found,
gig hours pooled, time from enrolment to first placement (median, p90), exits.

Counts come from the tallies (projections.Tally: rows per area, day and category), not from every
client's row: a report over tens of thousands of clients reads a few thousand rows."""
from collections import Counter

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.areas import areas
from services.reporting.reports.document import Report, Scope, Source, Table, hundredths
from services.reporting.reports.queries import days_between, in_scope, month_of, total
from services.reporting.rules.figures import percentile
from services.reporting.tables import (client_periods, client_tally, enrolment_tally, first_placement_tally, hire_tally,
                                       leaving_tally, opening_tally, pathways, placement_tally)


async def outcomes(connection: AsyncConnection, scope: Scope) -> Report:
    counts = await _client_counts(connection, scope)
    tables = [_clients_by_status(counts), _clients_by_municipality(counts, scope), _clients_by_month(counts),
              await _in_service_by_month(connection, scope),
              await _placements_by_kind_and_ending(connection, scope), await _hired_by_employer_type(connection, scope),
              await _openings_by_month(connection, scope), await _gig_hours_by_month(connection, scope),
              await _time_to_first_placement(connection, scope),
              *_exit_tables(await _exits(connection, scope))]
    return Report("outcomes", scope, tables, sources=[
        Source("clients, statuses", "intake's events ClientReferred, EligibilityAssessed, ClientEnrolled"),
        Source("exits", "intake's event ClientExited: every enrolment period's exit and status at exit (a returning "
                        "client's earlier exits too), with the period's ClientReferred and ClientEnrolled"),
        Source("pathway step kind", "pathway's events: the kind of the step started last in the exit's period"),
        Source("placements, endings, gig hours", "employer's events PlacementStarted, GigJobPooled, PlacementEnded"),
        Source("hidden jobs", "employer's events OpeningRegistered (source hidden) and how the opening closed"),
        Source("municipalities of the area", "services/areas.yaml"),
        Source("median, p90", "nearest-rank percentiles of whole days"),
    ])


async def _client_counts(connection: AsyncConnection, scope: Scope) -> list[tuple[str, str, str, int, int]]:
    """One pass over the area's clients: (status, municipality, month referred, clients, enrolled)."""
    month = month_of(connection, client_tally.c.referred_on)
    referred = total(client_tally.c.clients)
    return [tuple(row) for row in (await connection.execute(
        select(client_tally.c.status, client_tally.c.municipality, month, referred, total(client_tally.c.enrolled))
        .where(*in_scope(scope, client_tally.c.employment_area, client_tally.c.referred_on))
        .group_by(client_tally.c.status, client_tally.c.municipality, month).having(referred > 0))).all()]


def _summed(counts: list[tuple], key: int, value: slice) -> dict:
    sums: dict = {}
    for row in counts:
        figures = sums.setdefault(row[key], [0] * len(row[value]))
        for index, figure in enumerate(row[value]):
            figures[index] += figure
    return dict(sorted(sums.items()))


def _clients_by_status(counts: list[tuple]) -> Table:
    return Table("clients_by_status", "Clients referred in the period, by status",
                 "Jakson aikana ohjatut asiakkaat tilan mukaan", ["status", "clients"],
                 [[status, clients_] for status, (clients_,) in _summed(counts, 0, slice(3, 4)).items()],
                 counts=("clients",))


def _clients_by_municipality(counts: list[tuple], scope: Scope) -> Table:
    """Every municipality of the area (services/areas.yaml), also those with no clients; a municipality the
    file does not name for the area is shown too, so a referral from elsewhere is not lost."""
    counted = {name: figures[0] for name, figures in _summed(counts, 1, slice(3, 4)).items()}
    known = areas()[scope.area].municipalities if scope.area in areas() else ()
    rows = [[name, counted.pop(name, 0), True] for name in known]
    rows += [[name, count, False] for name, count in sorted(counted.items())]
    return Table("clients_by_municipality", "Clients referred in the period, by home municipality",
                 "Jakson aikana ohjatut asiakkaat kotikunnan mukaan", ["municipality", "clients", "in_area_file"],
                 rows, counts=("clients",))


def _clients_by_month(counts: list[tuple]) -> Table:
    return Table("clients_by_month", "Clients referred and enrolled by month of referral",
                 "Ohjatut ja asiakkuuteen otetut ohjauskuukauden mukaan", ["month", "referred", "enrolled"],
                 [[month, *figures] for month, figures in _summed(counts, 2, slice(3, 5)).items()],
                 counts=("referred", "enrolled"))


async def _in_service_by_month(connection: AsyncConnection, scope: Scope) -> Table:
    """Enrolment periods begun and ended per month, and the clients in service at each month's end (a
    stock: every period begun before, less those ended), from the start of the area's records."""
    flows: dict[str, list[int]] = {}
    before = 0
    for position, (tally, day) in enumerate(((enrolment_tally, enrolment_tally.c.enrolled_on),
                                             (leaving_tally, leaving_tally.c.exited_on))):
        sign = -1 if position else 1
        if scope.first_day is not None:
            before += sign * ((await connection.execute(
                select(total(tally.c.periods)).where(tally.c.employment_area == scope.area,
                                                     day < scope.first_day))).scalar() or 0)
        month = month_of(connection, day)
        for month_, count in (await connection.execute(
                select(month, total(tally.c.periods)).where(*in_scope(scope, tally.c.employment_area, day))
                .group_by(month))).all():
            flows.setdefault(month_, [0, 0])[position] += count
    rows, in_service = [], before
    for month_ in _months_between(min(flows), max(flows)) if flows else ():
        began, ended = flows.get(month_, (0, 0))
        in_service += began - ended
        rows.append([month_, began, ended, in_service])
    return Table("in_service_by_month", "Clients in service at each month's end, enrolments and exits by month",
                 "Asiakkaina kuun lopussa, alkaneet ja päättyneet asiakkuudet kuukausittain",
                 ["month", "enrolled", "exited", "in_service"], rows, counts=("enrolled", "exited", "in_service"))


def _months_between(first: str, last: str) -> list[str]:
    """Every YYYY-MM from `first` to `last`, so a month without change still shows its stock."""
    year, month = map(int, first.split("-"))
    months = []
    while (text := f"{year:04d}-{month:02d}") <= last:
        months.append(text)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


async def _placements_by_kind_and_ending(connection: AsyncConnection, scope: Scope) -> Table:
    tally = placement_tally.c
    count = total(tally.placements)
    rows = (await connection.execute(
        select(tally.kind, tally.ending, count)
        .where(*in_scope(scope, tally.employment_area, tally.starts_on))
        .group_by(tally.kind, tally.ending).having(count > 0).order_by(tally.kind, tally.ending))).all()
    return Table("placements_by_kind_and_ending", "Placements started in the period, by kind and ending",
                 "Jakson aikana alkaneet työjaksot lajin ja päättymisen mukaan", ["kind", "ending", "placements"],
                 [list(row) for row in rows], counts=("placements",))


async def _hired_by_employer_type(connection: AsyncConnection, scope: Scope) -> Table:
    hired = total(hire_tally.c.hired)
    rows = (await connection.execute(
        select(hire_tally.c.employer_type, hired)
        .where(*in_scope(scope, hire_tally.c.employment_area, hire_tally.c.ended_on))
        .group_by(hire_tally.c.employer_type).having(hired > 0).order_by(hire_tally.c.employer_type))).all()
    return Table("hired_by_employer_type", "Placements that ended in a hire, by employer type",
                 "Työllistyminen työjakson jälkeen työnantajatyypin mukaan", ["employer_type", "hired"],
                 [list(row) for row in rows], counts=("hired",))


async def _openings_by_month(connection: AsyncConnection, scope: Scope) -> Table:
    tally = opening_tally.c
    month = month_of(connection, tally.registered_on)
    hidden = total(case((tally.source == "hidden", tally.openings), else_=0))
    filled_hidden = total(case(((tally.source == "hidden") & (tally.state == "filled"), tally.openings), else_=0))
    rows = (await connection.execute(
        select(month, hidden, filled_hidden, total(tally.openings) - hidden)
        .where(*in_scope(scope, tally.employment_area, tally.registered_on))
        .group_by(month).having(total(tally.openings) > 0).order_by(month))).all()
    return Table("openings_by_month", "Hidden jobs found and openings advertised, by month",
                 "Löydetyt piilotyöpaikat ja ilmoitetut työpaikat kuukausittain",
                 ["month", "hidden_jobs_found", "hidden_jobs_filled", "advertised_openings"],
                 [list(row) for row in rows])


async def _gig_hours_by_month(connection: AsyncConnection, scope: Scope) -> Table:
    tally = placement_tally.c
    month = month_of(connection, tally.starts_on)
    jobs = total(tally.gig_jobs)
    rows = (await connection.execute(
        select(month, jobs, total(tally.gig_hundredths_of_hours))
        .where(*in_scope(scope, tally.employment_area, tally.starts_on))
        .group_by(month).having(jobs > 0).order_by(month))).all()
    return Table("gig_hours_by_month", "Gig jobs pooled and their hours, by month the job started",
                 "Kootut silpputyöt ja niiden tunnit alkamiskuukauden mukaan", ["month", "gig_jobs", "hours"],
                 [[month, jobs, hundredths(hours)] for month, jobs, hours in rows], counts=("gig_jobs",))


async def _time_to_first_placement(connection: AsyncConnection, scope: Scope) -> Table:
    """Clients enrolled in the period (their latest period) whose first placement started on or after it."""
    tally = first_placement_tally.c
    clients_ = total(tally.clients)
    rows = (await connection.execute(
        select(tally.days, clients_).where(*in_scope(scope, tally.employment_area, tally.enrolled_on))
        .group_by(tally.days).having(clients_ > 0))).all()
    days = [days for days, count in rows for _ in range(count)]
    return Table("time_to_first_placement", "Days from enrolment to the first placement",
                 "Päiviä asiakkuuden alusta ensimmäiseen työjaksoon", ["measure", "clients", "median_days", "p90_days"],
                 [["enrolment_to_first_placement", len(days), percentile(days, 0.5), percentile(days, 0.9)]],
                 counts=("clients",), follows_counts=("median_days", "p90_days"))


async def _exits(connection: AsyncConnection, scope: Scope) -> list[tuple[str | None, str, str, int | None, int]]:
    """One pass over the exits in the period, grouped: (status at exit, programme, kind of the step the
    client started last on the period's pathway, days from enrolment to exit, exits). Four queries over
    the same rows took ~80 ms of the report's ~125 at 1M events (2026-11-30)."""
    kind = func.coalesce(pathways.c.last_step_kind, "none")
    programme = func.coalesce(client_periods.c.programme, "kemi_model")
    days = days_between(connection, client_periods.c.enrolled_on, client_periods.c.exited_on)
    groups = (client_periods.c.exit_status, programme, kind, days)
    return [tuple(row) for row in (await connection.execute(
        select(*groups, func.count())
        .select_from(client_periods.outerjoin(pathways, (pathways.c.client_id == client_periods.c.client_id)
                                              & (pathways.c.period == client_periods.c.period)))
        .where(*in_scope(scope, client_periods.c.employment_area, client_periods.c.exited_on))
        .group_by(*groups))).all()]


def _exit_tables(exits: list[tuple]) -> list[Table]:
    by_status, by_programme, by_kind = Counter(), Counter(), Counter()
    days: list[int] = []
    for status, programme, kind, days_to_exit, count in exits:
        by_status[status] += count
        by_programme[programme] += count
        by_kind[kind, status] += count
        if days_to_exit is not None:  # a period without an enrolment (an exit from a referral) has none
            days += [days_to_exit] * count
    return [
        Table("exits_by_status", "Exits in the period by status at exit (within 28 days)",
              "Jakson aikana päättyneet asiakkuudet tilanteen mukaan", ["status", "exits"],
              [[status, count] for status, count in sorted(by_status.items(), key=_none_first)], counts=("exits",)),
        Table("exits_by_programme", "Exits in the period by programme",
              "Jakson aikana päättyneet asiakkuudet ohjelman mukaan", ["programme", "exits"],
              [[programme, count] for programme, count in sorted(by_programme.items())], counts=("exits",)),
        Table("exits_by_step_kind", "Exits in the period by the last pathway step and status at exit",
              "Päättyneet asiakkuudet viimeisen palvelupolun vaiheen ja tilanteen mukaan",
              ["step_kind", "status", "exits"],
              [[kind, status, count] for (kind, status), count in sorted(by_kind.items(), key=_none_first)],
              counts=("exits",)),
        Table("time_to_exit", "Days from enrolment to exit", "Päiviä asiakkuuden alusta päättymiseen",
              ["measure", "clients", "median_days", "p90_days"],
              [["enrolment_to_exit", len(days), percentile(days, 0.5), percentile(days, 0.9)]],
              counts=("clients",), follows_counts=("median_days", "p90_days")),
    ]


def _none_first(item: tuple) -> tuple:
    """Sorts a key holding None (a status erased or never recorded) before the others, on both databases
    (the rows came ordered by the database before: PostgreSQL put None last, SQLite first)."""
    key = item[0] if isinstance(item[0], tuple) else (item[0],)
    return tuple((value is not None, value or "") for value in key)
