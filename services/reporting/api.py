"""HTTP API of reporting: the follow-up figures, optionally for one employment area."""
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from contracts.values import AreaCode
from services.platform.http import RUNTIME, Route, callers_area, invalid, principal_of
from services.reporting.dashboard import dashboard
from services.reporting.reports.billing import billing
from services.reporting.reports.document import Report, Scope
from services.reporting.reports.esf import esf
from services.reporting.reports.exports import XLSX_TYPE, as_csv, as_xlsx
from services.reporting.reports.municipal_share import municipal_share, what_if_report
from services.reporting.reports.outcomes import outcomes
from services.reporting.reports.returns import returns
from services.reporting.rules.figures import suppression_rule
from services.reporting.rules.municipal_share import what_if
from services.reporting.tables import clients, invoices, placements


class ClientsByStatus(BaseModel):
    employment_area: str
    status: str
    clients: int


class PlacementsByEmployerType(BaseModel):
    employment_area: str
    employer_type: str
    placements: int


class InvoicedTotal(BaseModel):
    employment_area: str
    invoices: int
    hours: Decimal
    amount: Decimal


async def _rows(request: web.Request, query, table):
    """Figures of the caller's own employment area; `?employment_area=` may only name that one."""
    query = query.where(table.c.employment_area == callers_area(request))
    async with request.app[RUNTIME].engine.connect() as connection:
        return (await connection.execute(query)).all()


async def clients_by_status(request: web.Request) -> list[ClientsByStatus]:
    query = (select(clients.c.employment_area, clients.c.status, func.count())
             .group_by(clients.c.employment_area, clients.c.status)
             .order_by(clients.c.employment_area, clients.c.status))
    return [ClientsByStatus(employment_area=area, status=status, clients=count)
            for area, status, count in await _rows(request, query, clients)]


async def placements_by_employer_type(request: web.Request) -> list[PlacementsByEmployerType]:
    query = (select(placements.c.employment_area, placements.c.employer_type, func.count())
             .group_by(placements.c.employment_area, placements.c.employer_type)
             .order_by(placements.c.employment_area, placements.c.employer_type))
    return [PlacementsByEmployerType(employment_area=area, employer_type=kind, placements=count)
            for area, kind, count in await _rows(request, query, placements)]


async def invoiced_totals(request: web.Request) -> list[InvoicedTotal]:
    query = (select(invoices.c.employment_area, func.count(), func.sum(invoices.c.hundredths_of_hours),
                    func.sum(invoices.c.amount_cents))
             .group_by(invoices.c.employment_area).order_by(invoices.c.employment_area))
    return [InvoicedTotal(employment_area=area, invoices=count, hours=Decimal(hours) / 100,
                          amount=Decimal(cents) / 100)
            for area, count, hours, cents in await _rows(request, query, invoices)]


def _date(request: web.Request, name: str) -> date | None:
    text = request.query.get(name)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise invalid(name, "must be a date YYYY-MM-DD") from None


def scope_of(request: web.Request) -> Scope:
    """The caller's area and `?from=&to=`; counts are suppressed for anyone but the area's managers, and
    for a manager who asks (`?suppress=true`, to see what an outside reader sees)."""
    principal, area = principal_of(request), callers_area(request)
    first_day, last_day = _date(request, "from"), _date(request, "to")
    if first_day and last_day and first_day > last_day:
        raise invalid("to", "must not be before `from`")
    if request.query.get("suppress", "false") not in ("true", "false"):
        raise invalid("suppress", "must be true or false")
    outsider = "manager" not in principal.roles or request.query.get("suppress") == "true"
    return Scope(area, first_day, last_day, suppression_rule()["threshold"] if outsider else None)


ReportMaker = Callable[[object, Scope, date], Awaitable[Report]]
REPORTS: dict[str, ReportMaker] = {
    "outcomes": lambda connection, scope, _today: outcomes(connection, scope),
    "esf": lambda connection, scope, _today: esf(connection, scope),
    "municipal-share": municipal_share,
    "billing": lambda connection, scope, _today: billing(connection, scope),
    "return": returns,
}


async def _report(request: web.Request, name: str) -> Report:
    scope = scope_of(request)
    async with request.app[RUNTIME].engine.connect() as connection:
        report = await REPORTS[name](connection, scope, date.today())
    return report.suppressed()


def _json_report(name: str):
    async def handler(request: web.Request) -> dict:
        return (await _report(request, name)).as_json()
    handler.__name__ = name.replace("-", "_") + "_report"
    return handler


class WhatIfQuery(BaseModel):
    """City finance's question: N more clients with D subsidy days on `start`, employed from `employed_from`."""

    model_config = ConfigDict(extra="forbid")

    clients: int = Field(ge=1, le=100_000, description="how many more clients")
    subsidy_days: int = Field(ge=0, le=10_000, description="labour market subsidy days each has on `start`")
    start: date = Field(description="the day the clients' periods are counted from")
    employed_from: date = Field(description="the day they start work; not before `start`")
    until: date = Field(description="the last day counted; not before `employed_from`, at most ten years from `start`")
    employment_area: AreaCode | None = Field(default=None, description="only the caller's own area")
    suppress: Literal["true", "false"] | None = Field(
        default=None, description="true: small counts suppressed, as an outside reader sees them")


async def what_if_figures(request: web.Request, query: WhatIfQuery) -> dict:
    scope = scope_of(request)
    if not query.start <= query.employed_from <= query.until or (query.until - query.start).days > 366 * 10:
        raise invalid("until", "start <= employed_from <= until, at most ten years from start")
    try:
        result = what_if(query.clients, query.subsidy_days, query.start, query.employed_from, query.until)
    except LookupError as error:
        raise invalid("start", str(error)) from None
    return what_if_report(scope, result).as_json()


def _csv_export(name: str):
    async def handler(request: web.Request) -> web.Response:
        return await csv_export(request, name)
    handler.__name__ = name.replace("-", "_") + "_csv"
    return handler


def _xlsx_export(name: str):
    async def handler(request: web.Request) -> web.Response:
        return await xlsx_export(request, name)
    handler.__name__ = name.replace("-", "_") + "_xlsx"
    return handler


async def csv_export(request: web.Request, name: str) -> web.Response:
    report = await _report(request, name)
    table_name = request.query.get("table", report.tables[0].name)
    try:
        table = report.table(table_name)
    except LookupError:
        raise invalid("table", f"must be one of {', '.join(t.name for t in report.tables)}") from None
    return web.Response(text=as_csv(table), content_type="text/csv", charset="utf-8", headers={
        "Content-Disposition": f'attachment; filename="{report.name}-{table.name}.csv"'})


async def xlsx_export(request: web.Request, name: str) -> web.Response:
    report = await _report(request, name)
    return web.Response(body=as_xlsx(report), content_type=XLSX_TYPE, headers={
        "Content-Disposition": f'attachment; filename="{report.name}.xlsx"'})


ROUTES = [
    *(Route("GET", f"/reports/{name}", _json_report(name), f"The {name} report: tables, sources and notes",
            response=dict) for name in REPORTS),
    Route("GET", "/reports/what-if", what_if_figures, "What if N more clients were employed from a day on",
          response=dict, query=WhatIfQuery),
    *(Route("GET", f"/reports/{name}.csv", _csv_export(name), f"One table of the {name} report as CSV (`?table=`)")
      for name in REPORTS),
    *(Route("GET", f"/reports/{name}.xlsx", _xlsx_export(name),
            f"The {name} report as XLSX: a sheet a table and one of its rules and sources") for name in REPORTS),
    Route("GET", "/dashboard", dashboard, "The dashboard page (its figures come from the API with the token)",
          page=True),
    Route("GET", "/reports/clients-by-status", clients_by_status, "Clients by status and employment area",
          response=list[ClientsByStatus]),
    Route("GET", "/reports/placements-by-employer-type", placements_by_employer_type,
          "Placements by employer type and employment area", response=list[PlacementsByEmployerType]),
    Route("GET", "/reports/invoiced-totals", invoiced_totals, "Invoices, hours and euros billed by employment area",
          response=list[InvoicedTotal]),
]
