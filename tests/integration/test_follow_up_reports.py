"""The follow-up reports over HTTP against figures counted by hand from the events; suppression for
outsiders; CSV and XLSX with the API's figures; refusals that name the field."""
import csv
import io
from decimal import Decimal

import aiohttp
import pytest
from openpyxl import load_workbook

from services.reporting.service import SERVICE as REPORTING
from tests.integration.follow_up_history import (EXPECTED_KEMI, EXPECTED_KEMI_BILLING, EXPECTED_KEMI_RETURN,
                                                 EXPECTED_ROVANIEMI,
                                                 publish_follow_up_histories)
from tests.support import BOTH_DATABASES, bearer, caught_up, eventually, get_json

pytestmark = BOTH_DATABASES


@pytest.fixture
async def reporting(start_service, nc):
    runtime = await start_service(REPORTING)
    await publish_follow_up_histories(nc.jetstream())
    await eventually(lambda: caught_up(runtime), what="reporting took the follow-up history")
    return f"http://127.0.0.1:{runtime.settings.http_port}"


def tables_of(report: dict) -> dict[str, list]:
    return {table["name"]: table["rows"] for table in report["tables"]}


async def test_outcomes_equal_the_figures_counted_by_hand(reporting, token):
    report = await get_json(f"{reporting}/reports/outcomes", token("manager", "kemi"))
    assert report["employment_area"] == "kemi" and report["suppressed_under"] is None
    tables = tables_of(report)
    for name, rows in EXPECTED_KEMI.items():
        assert tables[name] == rows, name
    tornio = tables_of(await get_json(f"{reporting}/reports/outcomes", token("manager", "tornio")))
    assert tornio["clients_by_status"] == [["enrolled", 1]] and tornio["exits_by_status"] == []
    assert tornio["clients_by_municipality"] == [["Tornio", 1, True]]
    assert tornio["placements_by_kind_and_ending"] == [["open_market", "ongoing", 1]]


async def test_a_returning_clients_earlier_exit_stays_counted(reporting, token):
    tables = tables_of(await get_json(f"{reporting}/reports/outcomes", token("manager", "rovaniemi")))
    for name, rows in EXPECTED_ROVANIEMI.items():
        assert tables[name] == rows, name
    march = tables_of(await get_json(f"{reporting}/reports/outcomes?from=2026-03-01&to=2026-03-31",
                                     token("manager", "rovaniemi")))
    assert march["exits_by_status"] == [["in_education_or_training", 1]], "the first period's exit, in its month"


async def test_a_date_range_counts_what_falls_in_it(reporting, token):
    tables = tables_of(await get_json(f"{reporting}/reports/outcomes?from=2026-02-01&to=2026-02-28",
                                      token("manager", "kemi")))
    assert tables["clients_by_status"] == [["enrolled", 1], ["exited", 1], ["referred", 1]]
    assert tables["placements_by_kind_and_ending"] == [["gig_work", "completed", 1],
                                                       ["pay_subsidised_work", "hired_by_employer", 1]]
    assert tables["openings_by_month"] == [["2026-02", 2, 1, 0]]
    assert tables["in_service_by_month"] == [["2026-02", 2, 0, 5]], "three in service before February, two enrolled"


async def test_an_outside_reader_sees_small_counts_suppressed_and_is_told(reporting, token):
    report = await get_json(f"{reporting}/reports/outcomes", token("integration", "kemi"))
    tables = tables_of(report)
    assert report["suppressed_under"] == 5
    assert tables["clients_by_municipality"] == [["Kemi", 6, True]]  # 6 is shown
    assert tables["clients_by_status"] == [["enrolled", None], ["exited", None], ["referred", None]]
    assert tables["time_to_first_placement"] == [["enrolment_to_first_placement", None, None, None]]
    assert any("not shown" in note for note in report["notes"])
    asked = await get_json(f"{reporting}/reports/outcomes?suppress=true", token("manager", "kemi"))
    assert tables_of(asked)["clients_by_status"] == [["enrolled", None], ["exited", None], ["referred", None]]
    assert tables_of(asked)["clients_by_month"] == [["2026-01", None, None], ["2026-02", None, None]]


async def test_billing_esf_and_the_plan(reporting, token):
    billing = tables_of(await get_json(f"{reporting}/reports/billing", token("manager", "kemi")))
    assert billing["billing_by_month"] == EXPECTED_KEMI_BILLING
    tornio = tables_of(await get_json(f"{reporting}/reports/billing", token("manager", "tornio")))
    assert tornio["billing_by_month"] == [["2026-04", 1, "4.00", "80.00", "100.40", "0.00", "100.40", "0.00", "0.00", 0]]
    esf = tables_of(await get_json(f"{reporting}/reports/esf", token("manager", "kemi")))
    # Counted by hand from follow_up_history: female c1, c3, c4; male c2, c5 (inactive, ISCED 5, disability).
    plus = {row[0]: row[3:] for row in esf["esf_2021_2027"]}  # female, male, non-binary, unknown, total
    assert plus["participants"] == [3, 2, 0, 0, 5]
    assert plus["EECO02"] == plus["EECO03"] == plus["EECO09"] == [3, 1, 0, 0, 4]
    assert plus["EECO04"] == plus["EECO11"] == plus["EECO12"] == [0, 1, 0, 0, 1]
    assert plus["EECO07"] == [1, 0, 0, 0, 1]  # c3 is 25-29
    assert plus["EECR04"] == [1, 1, 0, 0, 2]  # c1 on the day, c2 nine days after leaving
    assert plus["EECR02"] == plus["EECR03"] == [0, 0, 0, 0, 0]  # c4's status came 30 days after
    assert plus["EECR05"] == [0, 1, 0, 0, 1]
    old = {row[0]: row[3:] for row in esf["esf_2014_2020"]}  # female, male, unknown, total
    assert old["CR02"] == old["CR03"] == [1, 0, 0, 1] and old["CR04"] == [1, 1, 0, 2] and old["CR06"] == [0, 1, 0, 1]
    plan = {row[1]: row[2:] for row in esf["planned_vs_realised"] if row[0] == "S20649"}
    assert plan == {"participants": [300, 5], "companies": [12, 1], "public_funding_eur": ["708203", "560094"]}


async def test_return_shows_its_formula_and_every_input(reporting, token):
    report = await get_json(f"{reporting}/reports/return?to=2026-06-30", token("manager", "kemi"))
    tables = tables_of(report)
    inputs = {row[0]: row for row in tables["return_inputs"]}
    assert {name: inputs[name][2] for name in EXPECTED_KEMI_RETURN} == EXPECTED_KEMI_RETURN
    assert all(inputs[name][3] for name in EXPECTED_KEMI_RETURN), "every input names its source"
    assert "PayrollRunClosed" in inputs["payroll_costs"][3] and "PaymentReceived" in inputs["invoices_paid"][3]
    # Paid work in the area by 30.6.: gig 2.2.-1.3. (28 days) and pay-subsidised 10.2.-31.5. (111 days).
    months = Decimal(28 + 111) / Decimal("30.4375")
    assert inputs["social_assistance_per_client_month"][2] == str((months * 420).quantize(Decimal("0.01")))
    formula, back, costs, x = tables["return"][0]
    assert formula == "return = (income + savings) / costs"
    assert Decimal(x) == (Decimal(back) / Decimal(costs)).quantize(Decimal("0.01"))
    assert Decimal(costs) == sum(Decimal(row[2]) for row in inputs.values() if row[1] == "cost")
    assert Decimal(back) == sum(Decimal(row[2]) for row in inputs.values() if row[1] != "cost")


async def test_municipal_share_and_what_employment_saved(reporting, token):
    # Tornio's client: referred Monday 5.1.2026 with 400 subsidy days, in open-market work from Wednesday 7.1.
    # The first period (5.1.-1.2.) has 20 benefit days: 2 paid, 18 not. In 2026 the 2025 model applies
    # (unverified data): 400 days reached before the period give 40 %; 37.21 EUR a day.
    report = await get_json(f"{reporting}/reports/municipal-share?to=2026-02-01", token("manager", "tornio"))
    assert tables_of(report)["municipal_share_by_month"] == [["2026-02", 1, 18, "29.77", "267.91"]]
    assert {"steps_2025", "UNVERIFIED"} <= {word.strip(":(") for source in report["sources"] if not source["verified"]
                                            for word in (source["figure"] + " " + source["source"]).split()}


async def test_what_if_uses_the_ladder(reporting, token):
    report = await get_json(f"{reporting}/reports/what-if?clients=10&subsidy_days=400&start=2024-01-01"
                            "&employed_from=2024-01-29&until=2024-02-25", token("manager", "kemi"))
    summary = tables_of(report)["what_if_summary"][0]
    assert summary[-1] == "3721.00"  # 10 clients x 20 days x 37.21 x 50 %
    assert any(source["verified"] is False for source in report["sources"]), "the 2025 model says it is unverified"


async def test_exports_open_with_the_apis_figures(reporting, token):
    manager = token("manager", "kemi")
    report = await get_json(f"{reporting}/reports/outcomes", manager)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{reporting}/reports/outcomes.csv?table=placements_by_kind_and_ending",
                            headers=bearer(manager)) as response:
            assert response.status == 200 and response.content_type == "text/csv"
            rows = list(csv.reader(io.StringIO(await response.text())))
        async with http.get(f"{reporting}/reports/outcomes.xlsx", headers=bearer(manager)) as response:
            assert response.status == 200
            workbook = load_workbook(io.BytesIO(await response.read()))
    assert rows == [["kind", "ending", "placements"],
                    *[[str(value) for value in row] for row in tables_of(report)["placements_by_kind_and_ending"]]]
    assert workbook.sheetnames == [table["name"] for table in report["tables"]] + ["rules_and_sources"]
    for table in report["tables"]:
        sheet = [list(row) for row in workbook[table["name"]].iter_rows(values_only=True)]
        assert sheet[0] == table["columns"]
        for cells, row in zip(sheet[1:], table["rows"], strict=True):
            for cell, value in zip(cells, row, strict=True):
                if isinstance(cell, (int, float)) and not isinstance(cell, bool):
                    assert Decimal(str(cell)) == Decimal(str(value)), table["name"]
                else:
                    assert cell == value, table["name"]
    gig = [list(row) for row in workbook["gig_hours_by_month"].iter_rows(values_only=True)]
    assert gig[1] == ["2026-02", 1, 7.5], "hours are a number in the sheet, not text"
    sources = [row[0] for row in workbook["rules_and_sources"].iter_rows(values_only=True)]
    assert "hidden jobs" in sources


@pytest.mark.parametrize("query, field", [("from=2026-13-01", "from"), ("from=2026-03-01&to=2026-02-01", "to"),
                                          ("suppress=maybe", "suppress")])
async def test_a_bad_query_is_422_naming_the_field(reporting, token, query, field):
    async with aiohttp.ClientSession() as http, http.get(f"{reporting}/reports/outcomes?{query}",
                                                         headers=bearer(token("manager", "kemi"))) as response:
        assert response.status == 422
        assert (await response.json())["errors"][0]["field"] == field


async def test_another_areas_figures_are_refused(reporting, token):
    async with aiohttp.ClientSession() as http:
        for path in ("/reports/outcomes?employment_area=tornio", "/reports/outcomes.xlsx?employment_area=tornio"):
            async with http.get(reporting + path, headers=bearer(token("manager", "kemi"))) as response:
                assert response.status == 403, path
        async with http.get(f"{reporting}/reports/outcomes.csv?table=nothing",
                            headers=bearer(token("manager", "kemi"))) as response:
            assert response.status == 422 and (await response.json())["errors"][0]["field"] == "table"


@pytest.mark.parametrize("query, field", [("clients=0", "clients"), ("subsidy_days=-1", "subsidy_days"),
                                          ("start=2024-02-30", "start"), ("until=2024-01-28", "until"),
                                          ("colour=red", "colour")])
async def test_what_if_documents_its_query_and_refuses_what_breaks_it(reporting, token, query, field):
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{reporting}/openapi.json") as response:
            operation = (await response.json())["paths"]["/reports/what-if"]["get"]
        named = {parameter["name"]: parameter["required"] for parameter in operation["parameters"]
                 if parameter["in"] == "query"}
        assert named == {"clients": True, "subsidy_days": True, "start": True, "employed_from": True, "until": True,
                         "employment_area": False, "suppress": False}
        valid = {"clients": "3", "subsidy_days": "400", "start": "2024-01-01", "employed_from": "2024-01-29",
                 "until": "2024-02-25"}
        asked = valid | dict([query.split("=")])
        async with http.get(f"{reporting}/reports/what-if", params=asked,
                            headers=bearer(token("manager", "kemi"))) as response:
            assert response.status == 422
            assert field in [error["field"] for error in (await response.json())["errors"]]
