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


async def test_spans_are_exported_over_otlp_when_the_endpoint_is_set():
    received: list[tuple[str, bytes]] = []

    async def collect(request: web.Request) -> web.Response:
        received.append((request.content_type, await request.read()))
        return web.Response(status=200)

    async with local_http_server("POST", "/v1/traces", collect) as url:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", EXPORT_ONE_SPAN, env=os.environ | {"OTEL_EXPORTER_OTLP_ENDPOINT": url})
        assert await asyncio.wait_for(process.wait(), 30) == 0
    assert received, "the collector got nothing"
    content_type, body = received[0]
    assert content_type == "application/x-protobuf"
    assert b"POST /clients" in body and b"polku-intake" in body
