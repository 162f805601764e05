"""Metrics as Prometheus reads them from a running service's /metrics, moved by real commands and events."""
import asyncio
import json
import re
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from services.intake.service import SERVICE as INTAKE
from services.pathway.service import SERVICE as PATHWAY
from services.reporting.service import SERVICE as REPORTING
from tests.integration.probe import Probe, client_of, create_probe_table, enrolled_envelope, publish
from tests.support import BOTH_DATABASES, bearer, caught_up, eventually, referral_body


async def scrape(runtime) -> dict[tuple[str, frozenset], float]:
    """Every sample of the service's /metrics: (name, labels) → value."""
    async with aiohttp.ClientSession() as http, \
            http.get(f"http://127.0.0.1:{runtime.settings.http_port}/metrics") as response:
        assert response.status == 200
        text = await response.text()
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples, name: str, **labels: str) -> float:
    """The sum over the samples of `name` whose labels include `labels` (0 when none)."""
    wanted = set(labels.items())
    return sum(found for (sample, sample_labels), found in samples.items() if sample == name and wanted <= sample_labels)


async def refer(runtime, token, count: int = 1) -> None:
    async with aiohttp.ClientSession(headers=bearer(token("integration"))) as http:
        for _ in range(count):
            async with http.post(f"http://127.0.0.1:{runtime.settings.http_port}/clients",
                                 json=referral_body()) as response:
                assert response.status == 201, await response.text()


@BOTH_DATABASES
async def test_commands_and_events_move_the_metrics(start_service, nc, token):
    intake, pathway = await start_service(INTAKE), await start_service(PATHWAY)
    before = await scrape(pathway)
    await refer(intake, token, 3)
    await eventually(lambda: caught_up(pathway), what="pathway caught up")

    served = await scrape(intake)
    assert value(served, "http_server_request_duration_seconds_count", http_route="/clients",
                 http_request_method="POST", http_response_status_code="201") >= 3
    assert value(served, "http_server_request_duration_seconds_bucket", http_route="/clients", le="+Inf") >= 3

    async def drained() -> bool:  # the relay deletes its rows once the acks are in: a moment after the consumer
        return value(await scrape(intake), "polku_outbox_backlog", polku_service="intake") == 0

    await eventually(drained, what="intake's outbox backlog shown as 0")
    assert value(served, "polku_relay_active", polku_service="intake") == 1
    # Each referral: ClientReferred, EligibilityAssessed, ClientEnrolled, CaseWorkerAssigned, … all published
    assert value(served, "messaging_client_sent_messages_total", polku_service="intake") >= 3
    assert value(served, "messaging_client_operation_duration_seconds_count", polku_service="intake") >= 1

    async def handled() -> bool:
        after = await scrape(pathway)
        return (value(after, "messaging_client_consumed_messages_total", messaging_consumer_group_name="pathway")
                - value(before, "messaging_client_consumed_messages_total", messaging_consumer_group_name="pathway")
                ) >= 3

    await eventually(handled, what="pathway's consumed count up by the three referrals' events")
    after = await scrape(pathway)
    assert value(after, "messaging_process_duration_seconds_count", messaging_consumer_group_name="pathway") >= 1
    assert value(after, "polku_consumer_lag", messaging_consumer_group_name="pathway") == 0


async def test_a_dead_letter_raises_its_count(start_service, nc):
    pathway = await start_service(PATHWAY)
    label = {"messaging_consumer_group_name": "pathway"}
    before = value(await scrape(pathway), "polku_consumer_dead_letters_total", **label)
    # A message on a subject pathway takes that no code can decode goes to the dead letters at once.
    await nc.jetstream().publish("polku.events.kemi.intake.ClientEnrolled", b"{not json", stream="POLKU",
                                 headers={"Nats-Msg-Id": "undecodable-1"})

    async def counted() -> bool:
        return value(await scrape(pathway), "polku_consumer_dead_letters_total", **label) == before + 1

    await eventually(counted, what="the dead-letter count up by one")


async def test_a_stopped_consumers_lag_grows_and_returns_to_zero_after_restart(start_service, nc, token):
    intake, pathway = await start_service(INTAKE), await start_service(PATHWAY)
    label = {"messaging_consumer_group_name": "pathway"}
    consumer_task = next(task for task in pathway._tasks if task.get_name() == "pathway-consumer")
    consumer_task.cancel()
    await asyncio.gather(consumer_task, return_exceptions=True)
    await refer(intake, token, 2)

    async def lagging() -> bool:
        return value(await scrape(pathway), "polku_consumer_lag", **label) >= 2

    await eventually(lagging, what="pathway's lag growing while its consumer is stopped")
    assert value(await scrape(pathway), "polku_consumer_stream_lag", **label) >= 2

    pathway._tasks.append(asyncio.create_task(pathway.consumer.run(), name="pathway-consumer"))

    async def back_to_zero() -> bool:
        samples = await scrape(pathway)
        return value(samples, "polku_consumer_lag", **label) == 0 and \
            value(samples, "polku_consumer_ack_pending", **label) == 0

    await eventually(back_to_zero, what="pathway's lag back to 0 after its consumer restarted")
    assert value(await scrape(pathway), "polku_consumer_stream_lag", **label) == 0



DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards" / "polku-dashboard.json"
PROMQL_WORDS = {"sum", "max", "min", "avg", "rate", "increase", "histogram_quantile", "by", "without", "le"}


def dashboard_metric_names() -> dict[str, set[str]]:
    """Each panel's title → the metric names its queries select."""
    panels = json.loads(DASHBOARD.read_text())["panels"]
    names = {}
    for panel in panels:
        found = set()
        for target in panel["targets"]:
            expr = re.sub(r"\{[^}]*\}", "", target["expr"])  # label matchers
            expr = re.sub(r"\b(by|without)\s*\([^)]*\)", "", expr)  # grouping labels
            expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
            found |= {token for token in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", expr) if token not in PROMQL_WORDS}
        names[panel["title"]] = found
    return names


async def test_every_dashboard_panel_queries_a_metric_the_services_expose(start_service, nc, token):
    runtimes = [await start_service(INTAKE), await start_service(PATHWAY), await start_service(REPORTING)]
    await refer(runtimes[0], token, 2)
    await nc.jetstream().publish("polku.events.kemi.intake.ClientEnrolled", b"{not json", stream="POLKU",
                                 headers={"Nats-Msg-Id": "undecodable-2"})
    await eventually(lambda: caught_up(runtimes[2]), what="reporting caught up")
    exposed = set()
    for runtime in runtimes:
        exposed |= {name for name, _labels in await scrape(runtime)}
    panels = dashboard_metric_names()
    assert len(panels) >= 12 and all(panels.values())
    missing = {title: names - exposed for title, names in panels.items() if names - exposed}
    assert not missing, f"panels query metrics no service exposes: {missing}"


async def test_a_failing_handler_counts_redeliveries_then_a_dead_letter_and_marks_its_spans(
        start_service, nc, span_exporter):
    probe = Probe()
    runtime = await start_service(probe.definition(), max_deliver=3)
    await create_probe_table(runtime.engine)
    label = {"messaging_consumer_group_name": "probe"}
    before = await scrape(runtime)
    poison = enrolled_envelope()
    probe.failing.add(client_of(poison))
    await publish(nc.jetstream(), poison)

    async def dead_lettered() -> bool:
        return value(await scrape(runtime), "polku_consumer_dead_letters_total", **label) == \
            value(before, "polku_consumer_dead_letters_total", **label) + 1

    await eventually(dead_lettered, what="the poison message's dead letter counted")
    after = await scrape(runtime)
    assert value(after, "polku_consumer_redeliveries_total", **label) - \
        value(before, "polku_consumer_redeliveries_total", **label) == 2, "deliveries 2 and 3 were redeliveries"
    failed = [span for span in span_exporter.get_finished_spans()
              if span.attributes.get("messaging.message.id") == str(poison.id) and "process" in span.name]
    assert len(failed) == 3 and all(span.status.status_code.name == "ERROR" for span in failed)
    assert "RuntimeError: probe refuses client" in failed[0].status.description


@BOTH_DATABASES
async def test_an_outbox_not_published_shows_its_backlog_and_the_age_of_its_oldest_row(start_service, nc, token):
    intake = await start_service(INTAKE)
    relay_task = next(task for task in intake._tasks if task.get_name() == "intake-relay")
    relay_task.cancel()  # as when NATS is unreachable: the commands commit, their events wait
    await asyncio.gather(relay_task, return_exceptions=True)
    await refer(intake, token, 2)
    await asyncio.sleep(1.2)
    samples = await scrape(intake)
    assert value(samples, "polku_outbox_backlog", polku_service="intake") >= 2
    assert 1.0 <= value(samples, "polku_outbox_oldest_age_seconds", polku_service="intake") < 30
