"""The five services in this process, on a real nats-server: the demo flow, traces, rebuild, conflicts."""
import asyncio
import json
from datetime import date
from decimal import Decimal
from typing import get_args

import aiohttp
import pytest
from nats.js.api import StreamConfig
from sqlalchemy import select

from contracts.events.intake import ClientStatus
from services.demo import load_demo
from services.platform.event_store import requeue_from
from services.platform.relay import OutboxRelay
from services.platform.tables import events
from services.reporting.rebuild import rebuild
from services.reporting.service import SERVICE as REPORTING
from services.reporting.tables import PROJECTION_TABLES
from tests.integration.histories import append_clients, stored_event_ids
from tests.integration.probe import CrashBeforeMarking
from tests.support import BOTH_DATABASES, DEFINITIONS, bearer, caught_up, eventually, get_json, url_of


async def projection_rows(engine) -> dict[str, list[tuple]]:
    async with engine.connect() as connection:
        return {table.name: [tuple(row) for row in await connection.execute(
            select(table).order_by(*table.primary_key.columns))] for table in PROJECTION_TABLES}


@BOTH_DATABASES
async def test_the_demo_flow_reaches_every_service_and_reporting_counts_it(five_services, nc, token):
    url = url_of(five_services)
    created = await load_demo(url, token)
    kemi, tornio = token("manager", "kemi"), token("manager", "tornio")
    assert created == {"clients": 22, "employers": 6, "placements": 8, "invoices": 3, "payroll_runs": 2,
                       "payments": 3, "claims": 3}

    async def invoices_reported() -> bool:
        totals = (await get_json(f"{url('reporting')}/reports/invoiced-totals", kemi)
                  + await get_json(f"{url('reporting')}/reports/invoiced-totals", tornio))
        return sum(row["invoices"] for row in totals) == 3

    await eventually(invoices_reported, what="reporting counting the three invoices")
    await eventually(lambda: caught_up(five_services["reporting"]), what="reporting caught up")

    # The gig job's 40 h at 26.00 €/h, invoiced to the three Kemi employers whose tasks it did (net of VAT);
    # nothing is invoiced in Tornio, whose foundation employs in its own pay subsidised job.
    assert await get_json(f"{url('reporting')}/reports/invoiced-totals", kemi) == [
        {"employment_area": "kemi", "invoices": 3, "hours": "40", "amount": "1040"}]
    assert await get_json(f"{url('reporting')}/reports/invoiced-totals", tornio) == []
    statuses = (await get_json(f"{url('reporting')}/reports/clients-by-status", kemi)
                + await get_json(f"{url('reporting')}/reports/clients-by-status", tornio))
    assert sum(row["clients"] for row in statuses) == 22
    assert {row["status"] for row in statuses} == {"enrolled", "not_eligible", "exited"}
    assert {row["status"] for row in statuses} <= set(get_args(ClientStatus)), "one vocabulary with intake's"
    assert await get_json(f"{url('reporting')}/reports/placements-by-employer-type?employment_area=tornio",
                          tornio) == [{"employment_area": "tornio", "employer_type": "company", "placements": 1},
                                      {"employment_area": "tornio", "employer_type": "foundation", "placements": 1}]

    # Pathway planned a pathway for an enrolled client and started a step for each placement.
    placements = await _placements_of(five_services["employer"].engine)
    client_id, placement_id = placements[0]["client_id"], placements[0]["placement_id"]
    await eventually(lambda: _has_started_step(url, client_id, placement_id, token("case_worker", "kemi")),
                     what="pathway starting the placement step")

    # Rebuild from the stream, in several batches, ends in the tables the live consumer wrote.
    reporting = five_services["reporting"]
    live = await projection_rows(reporting.engine)
    assert sum(len(rows) for rows in live.values()) > 0
    await reporting.stop()  # nothing else writes the tables while they are rebuilt
    replayed = await rebuild(reporting.engine, nc, "POLKU", batch_size=7, show_progress=False)
    assert replayed == (await nc.jetstream().stream_info("POLKU")).state.messages
    assert await projection_rows(reporting.engine) == live


async def _placements_of(engine) -> list[dict]:
    """Each PlacementStarted's data, with its employment area."""
    async with engine.connect() as connection:
        rows = await connection.execute(select(events.c.envelope).where(events.c.event_type == "PlacementStarted")
                                        .order_by(events.c.position))
        return [envelope["data"] | {"employment_area": envelope["employmentarea"]}
                for envelope in (json.loads(text) for (text,) in rows)]


async def _has_started_step(url, client_id: str, placement_id: str, token: str) -> bool:
    async with aiohttp.ClientSession(headers=bearer(token)) as http, \
            http.get(f"{url('pathway')}/clients/{client_id}/pathway") as response:
        return response.status == 200 and [step["state"] for step in (await response.json())["steps"]
                                           if step["placement_id"] == placement_id] == ["started"]


async def test_one_trace_runs_from_the_http_request_through_every_event_and_consumer(start_service, span_exporter,
                                                                                   token):
    services = {name: await start_service(definition, trace_sql=True) for name, definition in DEFINITIONS.items()}
    url = url_of(services)
    span_exporter.clear()
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    async with aiohttp.ClientSession(raise_for_status=True) as http:
        async with http.post(f"{url('intake')}/clients", headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01",
                                                                  **bearer(token("integration"))},
                             json={"programme": "kemi_model", "employment_area": "kemi", "municipality": "Kemi",
                                   "referred_by": "te_office",
                                   "age": 30, "gender": "female", "labour_market_subsidy_days": 600,
                                   "unemployed_months": 20, "case_worker_id": "cw-1"}) as response:
            client_id = (await response.json())["client_id"]

    def spans_of_trace():
        return [span for span in span_exporter.get_finished_spans()
                if format(span.context.trace_id, "032x") == trace_id]

    async def pathway_planned_and_reported() -> bool:
        names = {span.name for span in spans_of_trace()}
        return {"pathway process ClientEnrolled", "reporting process PathwayPlanned"} <= names or \
            {"pathway process ClientEnrolled", "reporting process ClientEnrolled"} <= names

    await eventually(pathway_planned_and_reported, what="consumer spans in the request's trace")
    spans = spans_of_trace()
    names = {span.name for span in spans}
    assert any(name.startswith("POST") for name in names), names
    assert "reporting process ClientReferred" in names and "pathway process ClientEnrolled" in names
    consumer = next(span for span in spans if span.name == "pathway process ClientEnrolled")
    assert consumer.attributes["messaging.consumer.group.name"] == "pathway"
    sql_in_consumer = [span for span in spans if span.parent and span.parent.span_id == consumer.context.span_id]
    assert any(span.attributes.get("db.system") or span.attributes.get("db.system.name") for span in
               sql_in_consumer), "the consumer's SQL statements are in the trace"
    pathway = await get_json(f"{url('pathway')}/clients/{client_id}/pathway", token("case_worker"))
    assert pathway["client_id"] == client_id


@BOTH_DATABASES
async def test_a_relay_killed_between_publish_and_mark_leaves_no_duplicate_in_projections(
        start_service, engine_factory, nc, token):
    reporting = await start_service(REPORTING)
    # A window shorter than the outage, so the stream keeps the second copies and only idempotence is left.
    js = nc.jetstream()
    config: StreamConfig = (await js.stream_info("POLKU")).config
    await js.update_stream(config.evolve(duplicate_window=0.2))
    intake = await engine_factory("intake")
    await append_clients(intake, 3)

    with pytest.raises(ConnectionError):
        await CrashBeforeMarking(intake, js, "POLKU").publish_pending()
    await asyncio.sleep(0.5)
    assert await OutboxRelay(intake, js, "POLKU").publish_pending() == 9
    assert (await js.stream_info("POLKU")).state.messages == 18, "every event is on the stream twice"

    await eventually(lambda: caught_up(reporting), what="reporting took all 18 messages")
    assert await get_json(f"http://127.0.0.1:{reporting.settings.http_port}/reports/clients-by-status",
                          token("manager")) == [{"employment_area": "kemi", "status": "enrolled", "clients": 3}]

    # The republish command puts the whole log back in the outbox; still three clients.
    assert await requeue_from(intake, 1) == 9
    assert await OutboxRelay(intake, js, "POLKU").publish_pending() == 9
    await eventually(lambda: caught_up(reporting), what="reporting took the republished copies")
    live = await projection_rows(reporting.engine)
    assert len(live["report_clients"]) == 3
    assert [row[-1] for row in live["report_clients"]] == [3, 3, 3], "each client row at version 3"
    assert len(await stored_event_ids(intake)) == 9


@BOTH_DATABASES
async def test_concurrent_writers_to_one_employment_lose_nothing(five_services, token):
    url = url_of(five_services)
    created = await load_demo(url, token)
    clerk = token("payroll_clerk", "kemi")
    assert created["placements"] == 8
    placement = next(placement for placement in await _placements_of(five_services["employer"].engine)
                     if placement["kind"] == "pay_subsidised_work" and placement["employment_area"] == "kemi")
    employment = f"{url('payroll_billing')}/employments/{placement['placement_id']}"
    await eventually(lambda: _exists(employment, clerk), what="the employment opened")
    before = await get_json(employment, clerk)

    async def approve(http, day: int) -> int:
        async with http.post(f"{employment}/timesheets", json={
                "period_start": date(2026, 10, day).isoformat(), "period_end": date(2026, 10, day).isoformat(),
                "days": [{"works_on": date(2026, 10, day).isoformat(), "hours": "1"}]}) as response:
            return response.status

    async with aiohttp.ClientSession(headers=bearer(clerk)) as http:
        # Weekdays only: at most 6 days of gig work in a calendar week, across timesheets.
        statuses = await asyncio.gather(*(approve(http, day) for day in range(1, 21)
                                          if date(2026, 10, day).weekday() < 5))
    assert set(statuses) <= {201, 409} and 201 in statuses, statuses
    after = await get_json(employment, clerk)
    assert Decimal(after["approved_hours"]) - Decimal(before["approved_hours"]) == statuses.count(201), \
        "every accepted timesheet counted, every refused one left no trace"


async def _exists(resource: str, token: str) -> bool:
    async with aiohttp.ClientSession(headers=bearer(token)) as http, http.get(resource) as response:
        return response.status == 200
