"""Employment areas: a caller sees and changes the data of its own area only.

Kemi data is created through the APIs with Kemi tokens (and a smaller Tornio history beside it).
Every read endpoint is discovered from the services' OpenAPI documents, so a new one is covered
as soon as it exists: a Kemi caller of each allowed role reads it (200), the same user with the
same role in Tornio finds nothing there (404: invisible, not 403, which would confirm that it
exists). Reports hold only the caller's area's rows, and writes cannot reach into another area.
"""
import re
from datetime import date, timedelta

import aiohttp
import pytest
from sqlalchemy import func, select

from services.platform.access import allowed_roles
from services.platform.tables import audit_log, events
from tests.support import DEFINITIONS, bearer, caught_up, create_history, eventually, fill_path, operations, \
    url_of

OWNER = "cw-kemi-owner"  # the case worker the Kemi client is assigned to
PERSON = {"name": "Maija Meikäläinen", "personal_identity_code": "131052-308T", "email": "maija@example.fi"}
# Every read sends a purpose (personal-data reads require one) and these query parameters.
PURPOSE = {"X-Purpose": "supervision"}
QUERIES = {"/clients/{client_id}/shared-data": {"partner": "te_office", "scope": "contact_details"}}
REPORT_QUERIES = {"/reports/what-if": {"clients": "3", "subsidy_days": "400", "start": "2024-01-01",
                                       "employed_from": "2024-02-01", "until": "2024-06-30"}}
# Endpoints whose Kemi side this setup cannot satisfy, with the reason; only the Tornio side is checked.
def user_of(role: str) -> str:
    """One user id per role, the same in both areas: only the area differs between the two callers.
    The case worker is the one who owns the Kemi client, for endpoints that check ownership."""
    return OWNER if role == "case_worker" else f"user-{role}"

OCTOBER = {"period_start": "2026-10-01", "period_end": "2026-10-31", "days": [{"works_on": "2026-10-01", "hours": "5"}]}


@pytest.fixture
async def histories(five_services, token):
    """Kemi and Tornio histories, with reporting caught up on both."""
    url = url_of(five_services)
    kemi = await create_history(url, token, "kemi", case_worker=OWNER, person=PERSON)
    tornio = await create_history(url, token, "tornio")
    # The client consents to sharing contact details with the TE office (intake's shared-data endpoint).
    async with aiohttp.ClientSession(raise_for_status=True) as http:
        await http.post(f"{url('intake')}/clients/{kemi['client_id']}/consents",
                        headers=bearer(token("case_worker", "kemi", OWNER)),
                        json={"partner": "te_office", "scope": ["contact_details"], "valid_from": str(date.today()),
                              "valid_to": str(date.today() + timedelta(days=30))})

    async def pathways_planned() -> bool:
        async with aiohttp.ClientSession() as http:
            for area, ids in (("kemi", kemi), ("tornio", tornio)):
                async with http.get(f"{url('pathway')}/clients/{ids['client_id']}/pathway",
                                    headers=bearer(token("manager", area))) as response:
                    if response.status != 200 or not any(
                            step["placement_id"] for step in (await response.json())["steps"]):
                        return False
        return True

    await eventually(pathways_planned, what="pathways planned with the placement step")
    for service in ("pathway", "payroll_billing", "reporting"):
        await eventually(lambda: caught_up(five_services[service]), what=f"{service} caught up")
    return url, kemi, tornio


async def _documents(url) -> dict[str, dict]:
    async with aiohttp.ClientSession() as http:
        documents = {}
        for service in DEFINITIONS:
            async with http.get(f"{url(service)}/openapi.json") as response:
                documents[service] = await response.json()
        return documents


async def test_every_read_endpoint_shows_kemi_data_to_kemi_and_hides_it_from_tornio(histories, token):
    url, kemi, _ = histories
    reads = [(service, path) for service, document in (await _documents(url)).items()
             for method, path in operations(document) if method == "GET" and "{" in path]
    assert {"/clients/{client_id}", "/clients/{client_id}/pathway", "/employers/{employer_id}",
            "/placements/{placement_id}", "/employments/{employment_id}"} <= {path for _, path in reads}

    wrong, checked = [], 0
    async with aiohttp.ClientSession() as http:
        for service, path in reads:
            unknown = set(re.findall(r"\{([^}]+)\}", path)) - set(kemi)
            assert not unknown, f"{service} GET {path}: no Kemi id for {unknown}; give create_history one"
            target, query = url(service) + fill_path(path, kemi), QUERIES.get(path, {})
            allowed = allowed_roles(service)[f"GET {path}"]
            assert allowed, f"{service} GET {path} allows no role"
            for role in sorted(allowed):
                checked += 1
                async with http.get(target, params=query,
                                    headers=bearer(token(role, "kemi", user_of(role))) | PURPOSE) as response:
                    if response.status != 200:
                        wrong.append(f"{service} GET {path} as a Kemi {role}: {response.status} "
                                     f"{await response.text()}")
                async with http.get(target, params=query,
                                    headers=bearer(token(role, "tornio", user_of(role))) | PURPOSE) as response:
                    body = await response.text()
                    leaked = [value for value in kemi.values() if value in body and value not in target]
                    if response.status != 404:
                        wrong.append(f"{service} GET {path} as a Tornio {role}: {response.status}, not 404")
                    elif leaked:
                        wrong.append(f"{service} GET {path}: the 404 for a Tornio {role} names Kemi ids {leaked}")
    assert checked >= 10
    assert not wrong, "\n".join(wrong)


async def test_reports_hold_only_the_callers_area(histories, token):
    url, _, _ = histories
    reports = [(service, path) for service, document in (await _documents(url)).items()
               for method, path in operations(document)
               if service == "reporting" and method == "GET" and "{" not in path and path != "/audit"]
    assert len(reports) >= 3, reports
    async with aiohttp.ClientSession() as http:
        for service, path in reports:
            for role in sorted(allowed_roles(service)[f"GET {path}"]):
                target = url(service) + path
                for area, other in (("kemi", "tornio"), ("tornio", "kemi")):
                    caller = bearer(token(role, area, user_of(role)))
                    query = REPORT_QUERIES.get(path, {})
                    async with http.get(target, params=query, headers=caller) as response:
                        assert response.status == 200, f"{path} as a {area} {role}: {await response.text()}"
                        body = await response.read()
                        rows = await response.json() if response.content_type == "application/json" else None
                    if isinstance(rows, dict):  # a follow-up report: its area, and tables of that area's figures
                        assert rows["employment_area"] == area and rows["tables"], f"{path} as a {area} {role}"
                    elif rows is not None:
                        assert rows, f"{path} as a {area} {role}: the area's own rows are there"
                        assert {row["employment_area"] for row in rows} == {area}, f"{path} as a {area} {role}: {rows}"
                    async with http.get(target, params=query | {"employment_area": other}, headers=caller) as response:
                        assert response.status == 403, f"{path}?employment_area={other} as a {area} {role}"
                        assert other in (await response.json())["detail"]
                    async with http.get(target, params=query | {"employment_area": area}, headers=caller) as response:
                        assert response.status == 200
                        if rows is None:  # an export: the XLSX file carries its own timestamps
                            assert response.content_type == "text/csv" or path.endswith(".xlsx")
                            assert path.endswith(".xlsx") or await response.read() == body
                        else:
                            assert await response.json() == rows


async def _counts(runtime) -> tuple[int, int]:
    async with runtime.engine.connect() as connection:
        return ((await connection.execute(select(func.count()).select_from(events))).scalar_one(),
                (await connection.execute(select(func.count()).select_from(audit_log))).scalar_one())


async def test_writes_cannot_reach_into_another_area(histories, five_services, token):
    url, kemi, tornio = histories
    before = {service: await _counts(five_services[service]) for service in ("employer", "payroll_billing")}
    coordinator = bearer(token("employer_coordinator", "tornio", user_of("employer_coordinator")))
    clerk = bearer(token("payroll_clerk", "tornio", user_of("payroll_clerk")))
    placement = {"kind": "pay_subsidised_work", "starts_on": "2026-10-01", "schedule": {"hours_per_week": "20"},
                 "hourly_billing_rate": "20.00", "pay_subsidy_decision": "PT-2026-0002"}
    async with aiohttp.ClientSession() as http:
        for client_id in (kemi["client_id"], tornio["client_id"]):
            async with http.post(f"{url('employer')}/placements", headers=coordinator, json={
                    "client_id": client_id, "employer_id": kemi["employer_id"], **placement}) as response:
                assert response.status == 422, await response.text()
                assert (await response.json())["detail"] == f"employer_id: no employer {kemi['employer_id']}"
        # A Kemi client cannot be placed with a Tornio employer either.
        async with http.post(f"{url('employer')}/placements", headers=coordinator, json={
                "client_id": kemi["client_id"], "employer_id": tornio["employer_id"], **placement}) as response:
            assert response.status == 422, await response.text()
            assert (await response.json())["errors"] == [{"field": "client_id", "rule": (
                f"client {kemi['client_id']} is not a client of employment area tornio")}]
        async with http.post(f"{url('employer')}/employers", headers=coordinator, json={
                "business_id": "2719034-2", "name": "Kemi employer from Tornio", "employer_type": "company",
                "employment_area": "kemi"}) as response:
            assert response.status == 403, await response.text()
            assert "employment_area" in (await response.json())["detail"]
        employment = f"{url('payroll_billing')}/employments/{kemi['employment_id']}"
        async with http.post(f"{employment}/timesheets", headers=clerk, json=OCTOBER) as response:
            assert response.status == 404, await response.text()
        async with http.post(f"{url('payroll_billing')}/invoices", headers=clerk, json={
                "employer_id": kemi["employer_id"], "period_start": "2026-09-01", "period_end": "2026-09-30",
                "issued_on": "2026-11-01"}) as response:
            assert response.status == 422 and "not registered in area tornio" in await response.text()
        async with http.get(f"{url('payroll_billing')}/invoices/{kemi['invoice_id']}/finvoice.xml",
                            headers=clerk) as response:
            assert response.status == 404, await response.text()

        # The same requests on Tornio's own data succeed: the refusals were about the area.
        async with http.post(f"{url('employer')}/placements", headers=coordinator, json={
                "client_id": tornio["client_id"], "employer_id": tornio["employer_id"], **placement}) as response:
            assert response.status == 201, await response.text()
            new_employment = f"{url('payroll_billing')}/employments/{(await response.json())['placement_id']}"
        async with http.post(f"{url('payroll_billing')}/employments/{tornio['employment_id']}/timesheets",
                             headers=clerk, json=OCTOBER) as response:
            assert response.status == 201, await response.text()

        async def opened() -> bool:
            async with http.get(new_employment, headers=clerk) as response:
                return response.status == 200

        await eventually(opened, what="the employment of the new Tornio placement opened")

    after = {service: await _counts(five_services[service]) for service in ("employer", "payroll_billing")}
    # Only the Tornio writes: PlacementStarted with its audit entry; EmploymentOpened (by the consumer, not
    # audited) and TimesheetApproved with its entry. Nothing from the refused ones.
    assert after["employer"] == (before["employer"][0] + 1, before["employer"][1] + 1)
    assert after["payroll_billing"] == (before["payroll_billing"][0] + 2, before["payroll_billing"][1] + 1)
