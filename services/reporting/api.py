"""HTTP API of reporting: the follow-up figures, optionally for one employment area."""
from decimal import Decimal

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy import func, select

from services.platform.http import RUNTIME, Route, callers_area
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


ROUTES = [
    Route("GET", "/reports/clients-by-status", clients_by_status, "Clients by status and employment area",
          response=list[ClientsByStatus]),
    Route("GET", "/reports/placements-by-employer-type", placements_by_employer_type,
          "Placements by employer type and employment area", response=list[PlacementsByEmployerType]),
    Route("GET", "/reports/invoiced-totals", invoiced_totals, "Invoices, hours and euros billed by employment area",
          response=list[InvoicedTotal]),
]
