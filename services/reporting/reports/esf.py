"""ESF indicators of the area's participants (both programme periods, by gender) and each project's
plan against what the events show."""
from decimal import Decimal
from functools import cache
from pathlib import Path

import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.reports.document import Report, Scope, Source, Table
from services.reporting.reports.queries import in_scope, total
from services.reporting.rules.esf import GENDERS, INDICATORS, SOURCES, counts_of
from services.reporting.tables import esf_tally, placements

PLANS_FILE = Path(__file__).parents[1] / "rules" / "plans.yaml"


@cache
def project_plans(path: Path = PLANS_FILE) -> list[dict]:
    return yaml.safe_load(path.read_text())["projects"]


async def esf(connection: AsyncConnection, scope: Scope) -> Report:
    # The participants the projection tallied per indicator, by gender (projections._esf_cells): a row per
    # indicator, not every client.
    tally = esf_tally.c
    cells = (await connection.execute(
        select(tally.indicator, *(total(column) for column in (tally.participants, tally.female, tally.male,
                                                                tally.non_binary)))
        .where(*in_scope(scope, tally.employment_area, tally.enrolled_on))
        .group_by(tally.indicator))).all()
    tables = [_indicators(variant, counts_of(cells, variant)) for variant in INDICATORS]
    tables.append(await _plans(connection, scope))
    return Report("esf", scope, tables, sources=[
        *(Source(f"ESF indicators {variant.replace('_', '-')}", source) for variant, source in SOURCES.items()),
        *(Source(f"plan of {plan['code']}", plan["source"]) for plan in project_plans()),
        Source("participants", "clients enrolled in the period (intake's ClientEnrolled); entry facts, exit and "
                               "six-month status from intake's journey events"),
    ])


def _indicators(variant: str, counts: dict[str, dict[str, int]]) -> Table:
    labels = {indicator.code: indicator for indicator in INDICATORS[variant]}
    columns = [*GENDERS[variant], "unknown", "total"]
    rows = [[code, labels[code].label_en if code in labels else "participants",
             labels[code].label_fi if code in labels else "osallistujat", *(by_gender[c] for c in columns)]
            for code, by_gender in sorted(counts.items(), key=lambda item: item[0] != "participants")]
    years = variant.replace("_", "-")
    return Table(f"esf_{variant}", f"ESF indicators {years} by gender", f"ESR-indikaattorit {years} sukupuolen mukaan",
                 ["indicator", "label_en", "label_fi", *columns], rows, counts=tuple(columns))


async def _plans(connection: AsyncConnection, scope: Scope) -> Table:
    rows = []
    for plan in (plan for plan in project_plans() if plan["employment_area"] == scope.area):
        window = Scope(scope.area, max(filter(None, (scope.first_day, plan["valid_from"]))),
                       min(filter(None, (scope.last_day, plan["valid_to"]))))
        participants = (await connection.execute(
            select(func.coalesce(total(esf_tally.c.participants), 0))
            .where(esf_tally.c.indicator == "participants", esf_tally.c.programme.in_(plan["programmes"]),
                   *in_scope(window, esf_tally.c.employment_area, esf_tally.c.enrolled_on)))).scalar()
        companies = (await connection.execute(
            select(func.count(func.distinct(placements.c.employer_id)))
            .where(placements.c.employer_type == "company",
                   *in_scope(window, placements.c.employment_area, placements.c.starts_on)))).scalar()
        planned = plan["planned"]
        rows += [[plan["code"], "participants", planned["participants"], participants],
                 [plan["code"], "companies", planned["companies"], companies],
                 [plan["code"], "public_funding_eur", Decimal(planned["public_funding_eur"]),
                  Decimal(plan["public_funding_realised_eur"])]]
    return Table("planned_vs_realised", "Project plan against realised", "Hankesuunnitelma ja toteuma",
                 ["project", "figure", "planned", "realised"], rows)
