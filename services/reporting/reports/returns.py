"""Return: costs against income and savings as "1 EUR in gives x EUR back", every input beside it."""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.reports.document import Report, Scope, Source, Table, hundredths
from services.reporting.reports.municipal_share import municipal_share_by_month
from services.reporting.reports.queries import days_within, in_scope
from services.reporting.rules.municipal_share import share_rules
from services.reporting.tables import clients, invoice_tally, payroll_runs, placements, subsidy_claims

ESTIMATES_FILE = Path(__file__).parents[1] / "rules" / "return_estimates.yaml"
DAYS_A_MONTH = Decimal("30.4375")  # 365.25 / 12
CENT = Decimal("0.01")
FORMULA = "return = (income + savings) / costs"


@dataclass(frozen=True)
class ReturnInput:
    name: str
    side: str  # income | saving | cost
    euros: Decimal
    source: str


def return_ratio(inputs: list[ReturnInput]) -> Decimal | None:
    """x in "1 EUR in gives x EUR back"; None without costs to divide by."""
    back = sum((i.euros for i in inputs if i.side in ("income", "saving")), Decimal(0))
    costs = sum((i.euros for i in inputs if i.side == "cost"), Decimal(0))
    return (back / costs).quantize(CENT) if costs else None


@cache
def city_estimates(path: Path = ESTIMATES_FILE) -> list[dict]:
    return yaml.safe_load(path.read_text())["estimates"]


async def _client_months(connection: AsyncConnection, scope: Scope, until: date, first, last, *where) -> Decimal:
    """Client-months of the rows' spans within the scope, up to `until`."""
    days = (await connection.execute(
        select(days_within(connection, first, last, scope.first_day, min(filter(None, (scope.last_day, until)))))
        .where(*where))).scalar()
    return Decimal(round(days)) / DAYS_A_MONTH


async def _sum_cents(connection: AsyncConnection, amount, *where) -> Decimal:
    return hundredths((await connection.execute(select(func.coalesce(func.sum(amount), 0)).where(*where))).scalar())


async def _payroll_inputs(connection: AsyncConnection, scope: Scope) -> list[ReturnInput]:
    """Payroll runs whose period starts in the scope (a correcting run's differences included), the invoices
    issued in it and the subsidies claimed for its months."""
    runs = in_scope(scope, payroll_runs.c.employment_area, payroll_runs.c.period_start)
    wage_costs = (payroll_runs.c.gross_wages_cents + payroll_runs.c.holiday_compensation_cents
                  + payroll_runs.c.employer_contributions_cents)
    issued = in_scope(scope, invoice_tally.c.employment_area, invoice_tally.c.issued_on)
    claimed = in_scope(scope, subsidy_claims.c.employment_area, subsidy_claims.c.period_start)
    return [
        ReturnInput("invoices_paid", "income", await _sum_cents(connection, invoice_tally.c.paid_net_cents, *issued),
                    "payroll_billing's PaymentReceived (paid_total) of the invoices issued in the period (EmployerInvoiced), "
                    "up to what is payable after any credit note (InvoiceCredited), less its VAT share"),
        ReturnInput("pay_subsidies_claimed", "income",
                    await _sum_cents(connection, subsidy_claims.c.amount_cents, *claimed,
                                     subsidy_claims.c.kind == "pay_subsidy"),
                    "payroll_billing's PaySubsidyClaimed (amount) for the months starting in the period"),
        ReturnInput("municipal_supplements_claimed", "income",
                    await _sum_cents(connection, subsidy_claims.c.amount_cents, *claimed,
                                     subsidy_claims.c.kind == "municipal_supplement"),
                    "payroll_billing's MunicipalSupplementClaimed (Kemi-lisä, amount) for the months starting in the period"),
        ReturnInput("payroll_costs", "cost", await _sum_cents(connection, wage_costs, *runs),
                    "payroll_billing's PayrollRunClosed: gross wages + holiday compensation + employer contributions "
                    "of the runs whose period starts in the period"),
        ReturnInput("expense_allowances", "cost",
                    await _sum_cents(connection, payroll_runs.c.expense_allowances_cents, *runs),
                    "payroll_billing's PayrollRunClosed: expense allowances (work trial, rehabilitative work) of those runs"),
    ]


async def returns(connection: AsyncConnection, scope: Scope, today: date) -> Report:
    rules = share_rules()
    saved = sum((figures[3] for figures in (await municipal_share_by_month(connection, scope, today)).values()),
                Decimal(0))
    paid_work = await _client_months(connection, scope, today, placements.c.starts_on, placements.c.ended_on,
                                     placements.c.employment_area == scope.area,
                                     placements.c.kind.in_(rules.paid_work_kinds))
    enrolled = await _client_months(connection, scope, today, clients.c.enrolled_on, clients.c.exited_on,
                                    clients.c.employment_area == scope.area, clients.c.enrolled_on.is_not(None))
    basis = {"paid_work_months": paid_work, "enrolled_months": enrolled}
    inputs = [
        *await _payroll_inputs(connection, scope),
        ReturnInput("municipal_share_saved", "saving", saved.quantize(CENT),
                    "the municipal share report (clients with entry facts; rules in municipal_share.yaml)"),
    ]
    for estimate in (e for e in city_estimates() if e["employment_area"] == scope.area):
        months = basis[estimate["basis"]]
        inputs.append(ReturnInput(estimate["name"], estimate["side"],
                                  (months * Decimal(estimate["euros"])).quantize(CENT),
                                  f"{estimate['euros']} EUR x {months.quantize(CENT)} {estimate['basis']}: "
                                  f"{estimate['source']}"))
    ratio = return_ratio(inputs)
    summary = Table("return", "1 EUR in gives x EUR back", "1 euro sisään, x euroa takaisin",
                    ["formula", "income_and_savings_eur", "costs_eur", "x"],
                    [[FORMULA, sum((i.euros for i in inputs if i.side != "cost"), Decimal(0)),
                      sum((i.euros for i in inputs if i.side == "cost"), Decimal(0)), ratio]])
    table = Table("return_inputs", "Every input of the return figure", "Tuottoluvun kaikki syötteet",
                  ["input", "side", "euros", "source"], [[i.name, i.side, i.euros, i.source] for i in inputs])
    return Report("return", scope, [summary, table],
                  sources=[Source(i.name, i.source) for i in inputs],
                  notes=["Payroll's figures count by the period they belong to: invoices by issue date, payroll runs "
                         "and claims by the first day of their period. Until payroll's events land an input is 0."])
