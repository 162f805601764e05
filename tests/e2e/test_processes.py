"""End to end: the services as separate processes, as `make run` starts them, driven over HTTP."""
import asyncio
import json
import time
from datetime import date
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import aiohttp
import pytest

from services.demo import load_demo
from services.platform.nats_server import free_port
from services.platform.processes import SERVICES, ServiceProcesses
from tests.support import bearer, employer_body, once_client_known, referral_body

pytestmark = pytest.mark.e2e


REFERRAL = referral_body(case_worker="cw-e2e", referred_by="city", age=44, gender="male",
                         labour_market_subsidy_days=800, unemployed_months=30)


async def _post(http: aiohttp.ClientSession, url: str, body: dict, id_field: str, token: str) -> str:
    async with http.post(url, json=body, headers=bearer(token)) as response:
        return (await response.json())[id_field]


def _status(url: str, token: str) -> int:
    try:
        with urlopen(Request(url, headers=bearer(token)), timeout=5) as response:
            return response.status
    except HTTPError as error:
        return error.code


def get_json(url: str, token: str | None = None):
    with urlopen(Request(url, headers=bearer(token) if token else {}), timeout=5) as response:
        return json.load(response)


def wait_until(check, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout_s} s")
        time.sleep(0.2)


def invoices_reported(reporting_url: str, expected: int, token) -> bool:
    return sum(row["invoices"] for area in ("kemi", "tornio")
               for row in get_json(f"{reporting_url}/reports/invoiced-totals", token("manager", area))) == expected


@pytest.fixture
def processes(nc, nats_server, tmp_path, signing_key_file):
    services = ServiceProcesses(nats_server.url, tmp_path / "var", {name: free_port() for name in SERVICES},
                                extra_env={"POLKU_SIGNING_KEY_FILE": str(signing_key_file)})
    services.start_all()
    yield services
    services.stop_all()


async def test_five_service_processes_run_the_demo_flow_and_stop_cleanly(processes, token):
    await asyncio.to_thread(processes.wait_ready)
    for service in SERVICES:
        assert get_json(f"{processes.url(service)}/health") == {"status": "alive"}
        ready = get_json(f"{processes.url(service)}/ready")
        assert ready == {"ready": True, "checks": {"database": True, "bus": True, "stream": True}}, service
        assert get_json(f"{processes.url(service)}/openapi.json")["openapi"].startswith("3.")

    created = await load_demo(processes.url, token)
    reporting = processes.url("reporting")
    await asyncio.to_thread(wait_until, lambda: invoices_reported(reporting, created["invoices"], token), 30,
                            "reporting counting the demo's invoices")
    totals = get_json(f"{reporting}/reports/invoiced-totals", token("manager", "kemi"))
    assert totals == [{"employment_area": "kemi", "invoices": 3, "hours": "40", "amount": "1040"}]

    # A killed consumer process loses nothing: restarted, it takes what came while it was down.
    processes.stop("payroll_billing", kill=True)
    # Meanwhile, a placement's whole life through the APIs: a foundation, its agreement, the start,
    # an extension and the end.
    employer, coordinator = processes.url("employer"), token("employer_coordinator")
    async with aiohttp.ClientSession(raise_for_status=True) as http:
        client_id = await _post(http, f"{processes.url('intake')}/clients", REFERRAL, "client_id",
                                token("case_worker"))
        employer_id = await _post(http, f"{employer}/employers", employer_body(
            business_id="2233445-8", name="Kemin työvalmennussäätiö (test)", employer_type="foundation"),
            "employer_id", coordinator)
        await _post(http, f"{employer}/employers/{employer_id}/agreements", {
            "scope": ["pay_subsidised_work"], "valid_from": "2026-01-01", "valid_to": "2027-12-31"}, "agreement_id",
            coordinator)
        placement = await once_client_known(http, f"{employer}/placements", bearer(coordinator), {
            "client_id": client_id, "employer_id": employer_id, "kind": "pay_subsidised_work",
            "starts_on": "2026-11-01", "planned_end_on": "2027-01-31", "schedule": {"hours_per_week": "30"},
            "hourly_billing_rate": "20.00", "pay_subsidy_decision": "PT-2026-0999"})
        placement_id = placement["placement_id"]
        await _post(http, f"{employer}/placements/{placement_id}/extension", {"planned_end_on": "2027-04-30"},
                    "placement_id", coordinator)
        await _post(http, f"{employer}/placements/{placement_id}/ending", {
            "ended_on": "2027-03-31", "ending": "hired_by_employer"}, "placement_id", coordinator)
    ended = get_json(f"{employer}/placements/{placement_id}", coordinator)
    assert (ended["planned_end_on"], ended["ended_on"], ended["ending"]) == (
        "2027-04-30", "2027-03-31", "hired_by_employer")
    processes.start("payroll_billing")
    await asyncio.to_thread(processes.wait_ready)
    await asyncio.to_thread(wait_until, lambda: _status(f"{processes.url('payroll_billing')}/employments/"
                                                        f"{placement_id}", token("payroll_clerk")) == 200,
                            30, "the employment opened")

    # The journey as processes: the placement is a step of the pathway, started, extended and ended by
    # the employer's events; the exit closes the pathway.
    pathway = f"{processes.url('pathway')}/clients/{client_id}/pathway"
    await asyncio.to_thread(wait_until, lambda: [step["ending"] for step in get_json(
        pathway, token("case_worker"))["steps"] if step["placement_id"] == placement_id] == ["hired_by_host"], 30,
        "the placement's step on the pathway, ended when the employer hired the client")
    async with aiohttp.ClientSession(raise_for_status=True) as http:
        today = str(date.today())
        await http.post(f"{processes.url('intake')}/clients/{client_id}/exit",
                        headers=bearer(token("case_worker", "kemi", "cw-e2e")),
                        json={"exited_on": today, "status_at_exit": "employed_company", "status_on": today,
                              "qualification_gained": False})
    await asyncio.to_thread(wait_until, lambda: get_json(pathway, token("case_worker"))["state"] == "closed", 30,
                            "the pathway closed at the exit")
    assert [(step["step_kind"], step["planned_end_on"], step["ending"])
            for step in get_json(pathway, token("case_worker"))["steps"]] == [
        ("pay_subsidised_work", "2027-04-30", "hired_by_host")]
    # The demo's journeys: follow-ups due for the case worker whose token drove them, some overdue.
    due = get_json(f"{processes.url('intake')}/follow-ups", token("case_worker"))["follow_ups"]
    assert due and any(row["overdue"] for row in due)

    running = dict(processes.processes)
    processes.stop_all()
    assert {name: process.returncode for name, process in running.items()} == {name: 0 for name in SERVICES}, \
        "SIGTERM stops each service cleanly"
