"""OpenTelemetry: one trace from an HTTP request through every event and consumer it causes."""
import os
import re
from pathlib import Path

from aiohttp import web
from opentelemetry import metrics, trace
from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from sqlalchemy.ext.asyncio import AsyncEngine

# HTTP spans and the http.server.request.duration metric by the stable conventions (http.route,
# http.response.status_code); probes and scrapes start no trace (an idle system must not fill the store).
os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")
os.environ.setdefault("OTEL_PYTHON_AIOHTTP_SERVER_EXCLUDED_URLS", "/health,/ready,/metrics,/openapi.json,/parked")
# A consumer's batch span links to the trace of each of its events (the SDK's default keeps 128).
MAX_LINKS = int(os.environ.get("OTEL_SPAN_LINK_COUNT_LIMIT", "1000"))
TRACEPARENT = re.compile(r"^\s*([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?\s*$")


def span_context_of(traceparent: str | None) -> trace.SpanContext:
    """The remote span a W3C `traceparent` names, by the rules of OpenTelemetry's propagator, read
    directly: a consumer links each event of a batch to its publisher, and the relay starts each publish
    span from the event's writer, where the propagator and a context cost twice as much. Invalid or
    missing: the invalid span context, as the propagator gives. Polku carries no tracestate or baggage
    (an envelope and a message have the traceparent alone), so none is read."""
    match = TRACEPARENT.match(traceparent or "")
    if match is None:
        return trace.INVALID_SPAN_CONTEXT
    version, trace_id, span_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest) or trace_id == "0" * 32 or span_id == "0" * 16:
        return trace.INVALID_SPAN_CONTEXT
    return trace.SpanContext(int(trace_id, 16), int(span_id, 16), is_remote=True,
                             trace_flags=trace.TraceFlags(int(flags, 16)))


def remote_parent(traceparent: str | None):
    """A context whose current span is the remote one `traceparent` names (none when it names none)."""
    return trace.set_span_in_context(trace.NonRecordingSpan(span_context_of(traceparent)))


def setup_tracing(service: str, exporter: SpanExporter | None = None, local_dir: Path | None = None,
                  local_max_bytes: int = 20 * 1024 * 1024) -> None:
    """Install the process's tracer provider once; OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set,
    and into the local span store under `local_dir` when given (services/platform/span_store.py).

    The traceparent travels in each event's envelope and in the NATS `traceparent` header.
    """
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return  # a process that hosts several services (a test) keeps the first provider
    provider = TracerProvider(resource=Resource.create({"service.name": f"polku-{service}"}),
                              span_limits=SpanLimits(max_links=MAX_LINKS))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    if local_dir is not None:
        from services.platform.span_store import LocalSpanExporter

        # A second's delay, not the default five: an operator looks at a trace right after the request.
        provider.add_span_processor(BatchSpanProcessor(LocalSpanExporter(local_dir, service, local_max_bytes),
                                                       schedule_delay_millis=1000))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)


def trace_sql(engine: AsyncEngine) -> None:
    """A span for every SQL statement of this engine.

    The instrumentor's own instrument(engine=...) works once per process (a second engine, as in
    tests that run several services in one process, would go untraced), so each engine gets its
    EngineTracer directly. The package declares support up to SQLAlchemy 2.0 only; its
    cursor-execute hooks work on 2.1 unchanged, and the trace test fails if SQL spans stop.
    """
    usage = metrics.get_meter(__name__).create_up_down_counter(
        "db.client.connections.usage", unit="connections", description="connections by state")
    _ShortNamedEngineTracer(trace.get_tracer("opentelemetry.instrumentation.sqlalchemy"), engine.sync_engine, usage)


class _ShortNamedEngineTracer(EngineTracer):
    """SQL span names are the operation and the database's name (`SELECT intake`), not the SQLite file's
    whole path: span names must be few (low-cardinality) for a trace store to group them."""

    def _operation_name(self, db_name, statement):
        return super()._operation_name(Path(db_name).stem if db_name else db_name, statement)


def traced_application(**kwargs) -> web.Application:
    """An aiohttp application whose requests start (or continue, from `traceparent`) a trace.

    The aiohttp-server instrumentation works by replacing web.Application, and its standalone
    middleware fails until it has been instrumented once; so instrument once, then build.
    """
    instrumentor = AioHttpServerInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()
    return web.Application(**kwargs)


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
