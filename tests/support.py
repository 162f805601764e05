"""Helpers the integration and end-to-end tests share (fixtures are in conftest.py)."""
import asyncio
from datetime import date
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from uuid import uuid4

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.demo_payroll import bank_notification
from services.employer.service import SERVICE as EMPLOYER
from services.intake.service import SERVICE as INTAKE
from services.pathway.service import SERVICE as PATHWAY
from services.payroll_billing.service import SERVICE as PAYROLL_BILLING
from services.platform.config import Settings
from services.platform.database import create_engine
from services.platform.nats_server import free_port
from services.platform.service import ServiceDefinition, ServiceRuntime
from services.platform.tables import outbox
from services.reporting.service import SERVICE as REPORTING

# The five services by name, in the order `make run` starts them (the `five_services` fixture).
DEFINITIONS = {"intake": INTAKE, "pathway": PATHWAY, "employer": EMPLOYER, "payroll_billing": PAYROLL_BILLING,
               "reporting": REPORTING}

# Tests that touch transactions take `database_url_factory` and run on both databases.
BOTH_DATABASES = pytest.mark.parametrize(
    "database_url_factory",
    ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    indirect=True,
)


@asynccontextmanager
async def rebuild_engine(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """An engine on `engine`'s database as `polku rebuild` makes it: on SQLite, statements on aiosqlite's own
    thread rather than the event loop's (a service's), which reporting's batch writes take in one hand-over."""
    rebuilding = create_engine(engine.url.render_as_string(hide_password=False), statements_on_loop=False)
    try:
        yield rebuilding
    finally:
        await rebuilding.dispose()


def referral_body(area: str = "kemi", case_worker: str = "cw-own", **overrides: Any) -> dict[str, Any]:
    """A POST /clients body for an eligible client (450 subsidy days), enrolled with `case_worker`."""
    return {"programme": "kemi_model", "employment_area": area, "municipality": area.capitalize(),
            "referred_by": "te_office", "age": 34,
            "gender": "female", "labour_market_subsidy_days": 450, "unemployed_months": 16,
            "case_worker_id": case_worker} | overrides


def employer_body(**overrides: Any) -> dict[str, Any]:
    """A POST /employers body: the City of Kemi (a valid Y-tunnus)."""
    return {"business_id": "0210427-6", "name": "Kemin kaupunki", "employer_type": "city_unit",
            "employment_area": "kemi"} | overrides


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def get_json(url: str, token: str):
    """GET a JSON document as the token's caller; any status but 2xx fails."""
    async with aiohttp.ClientSession(raise_for_status=True, headers=bearer(token)) as http, \
            http.get(url) as response:
        return await response.json()


def url_of(runtimes) -> Callable[[str], str]:
    """`url(service)`: the base URL of one of the in-process services (the `five_services` fixture)."""
    return lambda service: f"http://127.0.0.1:{runtimes[service].settings.http_port}"


def operations(openapi: dict) -> list[tuple[str, str]]:
    """Every (METHOD, path template) of an OpenAPI document."""
    return [(method.upper(), path) for path, methods in openapi["paths"].items() for method in methods]


def fill_path(template: str, ids: dict[str, str] | None = None) -> str:
    """The path with each {parameter} replaced by `ids[parameter]`, or a random UUID where none is given."""
    return re.sub(r"\{([^}]+)\}", lambda match: (ids or {}).get(match[1]) or str(uuid4()), template)


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 15.0, what: str = "condition") -> None:
    """Wait for something asynchronous (a relay, a consumer) to happen; fail naming what did not."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout_s} s")
        await asyncio.sleep(0.05)



async def caught_up(runtime) -> bool:
    """The service's consumer has taken every message on the stream that it filters for."""
    info = await runtime.broker.config.connection_state.stream.consumer_info("POLKU", runtime.settings.service)
    return info.num_pending == 0 and info.num_ack_pending == 0


async def settled(runtimes) -> None:
    """Every outbox published and every consumer caught up, twice over: a consumer's own events
    must have been published and taken too. A consumer alone can look caught up before a relay
    has published what it is to take."""
    async def quiet() -> bool:
        for runtime in runtimes:
            async with runtime.engine.connect() as connection:
                if (await connection.execute(select(func.count()).select_from(outbox))).scalar_one():
                    return False
            if runtime.consumer and not await caught_up(runtime):
                return False
        return True

    await eventually(quiet, what="every outbox published and every consumer caught up")
    await eventually(quiet, what="still settled")


BUSINESS_IDS = {"kemi": "0210427-6", "tornio": "1013712-3"}


async def create_history(url: Callable[[str], str], token: Callable[..., str], area: str,
                         case_worker: str | None = None, person: dict | None = None,
                         referred_on: str | None = None) -> dict[str, str]:
    """Through the APIs, as the roles that do it in real life: a referral (an eligible client, owned by
    `case_worker`, with `person` for intake's vault when given, on `referred_on` or today), an employer, a
    placement, the employment it opens with its wage terms, an approved timesheet, a payroll run, an invoice
    and a bank notification that part pays it, a hidden opening, two gig tasks and a proposal of the client
    for the opening. Returns the ids by path parameter name: client_id, employer_id, agreement_id,
    placement_id, employment_id, opening_id, task_id (and task_ids, both gig tasks), proposal_id,
    invoice_id, run_id."""
    case_worker = case_worker or f"cw-{area}"
    async with aiohttp.ClientSession(raise_for_status=True) as http:
        async with http.post(f"{url('intake')}/clients", headers=bearer(token("case_worker", area, case_worker)),
                             json=referral_body(area, case_worker, **({"person": person} if person else {}),
                                                **({"referred_on": referred_on} if referred_on else {}))
                             ) as response:
            client_id = (await response.json())["client_id"]
        coordinator = bearer(token("employer_coordinator", area))
        async with http.post(f"{url('employer')}/employers", headers=coordinator, json={
                "business_id": BUSINESS_IDS.get(area, "2719034-2"), "name": f"{area} foundation (test)",
                "employer_type": "foundation", "employment_area": area}) as response:
            employer_id = (await response.json())["employer_id"]
        async with http.post(f"{url('employer')}/employers/{employer_id}/agreements", headers=coordinator, json={
                "scope": ["pay_subsidised_work", "gig_work"], "valid_from": "2026-01-01",
                "valid_to": "2027-12-31"}) as response:
            agreement_id = (await response.json())["agreement_id"]
        async with http.post(f"{url('employer')}/openings", headers=coordinator, json={
                "employer_id": employer_id, "title": "Kiinteistöhuolto", "hours_per_week": "30",
                "starts_on": "2026-10-01", "source": "hidden"}) as response:
            opening_id = (await response.json())["opening_id"]
        task_ids = []
        for day in ("2026-10-05", "2026-10-06"):  # 20 hours in one week: enough for a gig job
            async with http.post(f"{url('employer')}/gig-tasks", headers=coordinator, json={
                    "employer_id": employer_id, "works_on": day, "starts_at": "08:00", "ends_at": "18:00",
                    "municipality": "Kemi", "place": "Sauvosaari", "hourly_billing_rate": "24.00"}) as response:
                task_ids.append((await response.json())["task_id"])
        proposal_id = (await once_client_known(http, f"{url('employer')}/proposals", coordinator, {
            "client_id": client_id, "opening_id": opening_id}))["proposal_id"]
        placement_id = (await once_client_known(http, f"{url('employer')}/placements", coordinator, {
            "client_id": client_id, "employer_id": employer_id, "kind": "pay_subsidised_work",
            "starts_on": "2026-09-01", "planned_end_on": "2027-02-28", "schedule": {"hours_per_week": "20"},
            "hourly_billing_rate": "24.50", "pay_subsidy_decision": "PT-2026-0001"}))["placement_id"]
        clerk = bearer(token("payroll_clerk", area))
        employment = f"{url('payroll_billing')}/employments/{placement_id}"

        async def opened() -> bool:
            async with http.get(employment, headers=clerk, raise_for_status=False) as response:
                return response.status == 200

        await eventually(opened, what=f"employment {placement_id} opened")
        await http.post(f"{employment}/wage-terms", headers=clerk, json={
            "hourly_wage": "12.37", "collective_agreement": "Yleinen työehtosopimus (test)", "hours_per_week": "20",
            "valid_from": "2026-09-01"})
        await http.post(f"{employment}/timesheets", headers=clerk, json={
            "period_start": "2026-09-01", "period_end": "2026-09-30",
            "days": [{"works_on": f"2026-09-0{day}", "hours": "7.5"} for day in (1, 2, 3, 4, 7)]})
        async with http.post(f"{url('payroll_billing')}/payroll-runs", headers=clerk, json={
                "pay_period": "month", "period_start": "2026-09-01", "period_end": "2026-09-30"}) as response:
            run_id = (await response.json())["run"]["run_id"]
        async with http.post(f"{url('payroll_billing')}/invoices", headers=clerk, json={
                "employer_id": employer_id, "period_start": "2026-09-01", "period_end": "2026-09-30",
                "issued_on": "2026-10-01"}) as response:
            invoice = await response.json()
        # The bank's notification: a part payment of the invoice, and a payment no reference matches.
        await http.post(f"{url('payroll_billing')}/payments/camt054", headers=clerk | {
            "Content-Type": "application/xml"}, data=bank_notification(
                (f"{area}-1", "100.00", invoice["rf_reference"]), (f"{area}-2", "10.00", "12344"),
                booked_on=date(2026, 10, 10)))
        invoice_id = invoice["invoice_id"]
    return {"client_id": client_id, "employer_id": employer_id, "placement_id": placement_id,
            "employment_id": placement_id, "agreement_id": agreement_id, "opening_id": opening_id,
            "task_id": task_ids[0], "task_ids": ",".join(task_ids), "proposal_id": proposal_id,
            "invoice_id": invoice_id, "run_id": run_id}


async def once_client_known(http: aiohttp.ClientSession, target: str, headers: dict[str, str], body: dict) -> dict:
    """POST a placement or proposal once the employer service has heard of the client's enrolment (from
    the bus): until then it is refused naming `client_id`, with nothing written."""
    answer: dict = {}

    async def placed() -> bool:
        nonlocal answer
        async with http.post(target, headers=headers, json=body, raise_for_status=False) as response:
            answer = await response.json()
            if response.status == 422 and answer["errors"][0]["field"] == "client_id":
                return False
            if response.status != 201:
                raise AssertionError(f"POST {target} answered {response.status}: {answer}")
            return True

    await eventually(placed, what=f"the employer service heard of client {body['client_id']}")
    return answer


class Runtimes:
    """The service runtimes a test started in its own process, stopped in reverse order at its end."""

    def __init__(self):
        self.started: list = []

    async def start(self, definition: ServiceDefinition, settings: Settings) -> ServiceRuntime:
        runtime = ServiceRuntime(definition, settings)
        await runtime.start()
        self.started.append(runtime)
        return runtime

    async def stop_all(self) -> None:
        for runtime in reversed(self.started):
            await runtime.stop()


@asynccontextmanager
async def local_http_server(method: str, path: str, handler) -> AsyncIterator[str]:
    """A one-route aiohttp server on a free local port, standing in for an outside system; yields its URL."""
    app = web.Application()
    app.router.add_route(method, path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
