"""Logs carry the trace id; spans leave the process over OTLP when an endpoint is configured."""
import asyncio
import json
import logging
import os
import sys

from aiohttp import web
from opentelemetry import trace

from services.platform.logs import JsonFormatter
from tests.support import local_http_server


def test_a_log_line_is_one_json_object_with_the_current_trace_id_and_the_extras(span_exporter):
    record = logging.makeLogRecord({"name": "polku.test", "levelname": "WARNING", "msg": "handler failed",
                                    "event_id": "e-1", "delivery": 2})
    with trace.get_tracer("test").start_as_current_span("work") as span:
        line = JsonFormatter("pathway").format(record)
    entry = json.loads(line)
    assert entry["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert (entry["service"], entry["level"], entry["message"]) == ("pathway", "WARNING", "handler failed")
    assert (entry["event_id"], entry["delivery"]) == ("e-1", 2)
    assert "\n" not in line


def test_outside_a_span_the_trace_id_is_null(span_exporter):
    entry = json.loads(JsonFormatter("intake").format(logging.makeLogRecord({"msg": "started"})))
    assert entry["trace_id"] is None


EXPORT_ONE_SPAN = """
from opentelemetry import trace
from services.platform.tracing import setup_tracing
setup_tracing("intake")
with trace.get_tracer("test").start_as_current_span("POST /clients"):
    pass
trace.get_tracer_provider().force_flush()
"""


async def exported_over_otlp(path: str, script: str) -> list[tuple[str, bytes]]:
    """What a collector at the process's OTEL_EXPORTER_OTLP_ENDPOINT receives on `path` from `script`."""
    received: list[tuple[str, bytes]] = []

    async def collect(request: web.Request) -> web.Response:
        received.append((request.content_type, await request.read()))
        return web.Response(status=200)

    async with local_http_server("POST", path, collect) as url:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, env=os.environ | {"OTEL_EXPORTER_OTLP_ENDPOINT": url})
        assert await asyncio.wait_for(process.wait(), 30) == 0
    assert received, f"the collector got nothing on {path}"
    return received


async def test_spans_are_exported_over_otlp_when_the_endpoint_is_set():
    content_type, body = (await exported_over_otlp("/v1/traces", EXPORT_ONE_SPAN))[0]
    assert content_type == "application/x-protobuf"
    assert b"POST /clients" in body and b"polku-intake" in body


EXPORT_ONE_METRIC = """
from opentelemetry import metrics
from services.platform.metrics import dead_lettered, setup_metrics
setup_metrics("pathway")
dead_lettered("pathway")
metrics.get_meter_provider().force_flush()
"""


async def test_metrics_are_exported_over_otlp_when_the_endpoint_is_set():
    _content_type, body = (await exported_over_otlp("/v1/metrics", EXPORT_ONE_METRIC))[0]
    assert b"polku.consumer.dead_letters" in body and b"polku-pathway" in body


def test_the_local_span_store_rolls_over_at_its_size_and_finds_a_trace_by_its_ids(tmp_path):
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from services.platform.span_store import LocalSpanExporter, find_trace, render

    provider = TracerProvider(resource=Resource.create({"service.name": "polku-intake"}))
    provider.add_span_processor(SimpleSpanProcessor(LocalSpanExporter(tmp_path, "intake", max_bytes=2000)))
    tracer = provider.get_tracer("test")
    for number in range(30):
        with tracer.start_as_current_span("POST /clients") as root:
            with tracer.start_as_current_span("publish POLKU", attributes={
                    "messaging.message.id": f"event-{number}", "messaging.message.conversation_id": f"flow-{number}"}):
                pass
    files = sorted(path.name for path in tmp_path.iterdir())
    assert files == ["intake.jsonl", "intake.jsonl.1"]
    assert sum(path.stat().st_size for path in tmp_path.iterdir()) < 2 * 2000 + 1000
    trace_id = format(root.get_span_context().trace_id, "032x")
    assert list(find_trace(tmp_path, "flow-29")) == [trace_id]
    assert list(find_trace(tmp_path, "event-29")) == [trace_id]
    assert find_trace(tmp_path, "event-0") == {}, "rolled over and dropped"
    shown = render(trace_id, find_trace(tmp_path, trace_id)[trace_id])
    assert shown[0].startswith(f"trace {trace_id}: 2 spans, services polku-intake, 0 error(s)")
    assert shown[1].endswith("ms  polku-intake: POST /clients")
    assert shown[2].endswith("ms    polku-intake: publish POLKU  id=event-29"), "a child, indented under its parent"
