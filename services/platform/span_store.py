"""Spans kept on local disk, so an operator of the embedded default reads traces without installing anything.

Each service appends its finished spans as JSON lines to `<var>/traces/<service>.jsonl`; when a file
passes its size it becomes `<service>.jsonl.1` (the one before is dropped), so the store stays
bounded. `polku trace ID` reads every service's files and prints the trace as a tree.
Spans carry ids, names, timings and the attributes the services set; never personal data.
"""
import json
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import StatusCode

# The attributes `polku trace` finds a flow by or shows; the rest stay with the OTLP export.
KEPT_ATTRIBUTES = ("messaging.message.id", "messaging.message.conversation_id", "messaging.consumer.group.name",
                   "messaging.destination.name", "messaging.batch.message_count", "polku.event.type",
                   "http.response.status_code", "http.route", "db.system", "db.system.name")
FIND_BY = ("messaging.message.id", "messaging.message.conversation_id")


class LocalSpanExporter(SpanExporter):
    def __init__(self, directory: Path, service: str, max_bytes: int = 20 * 1024 * 1024):
        self.path = Path(directory) / f"{service}.jsonl"
        self.service, self.max_bytes = service, max_bytes
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._closed = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._closed:
            return SpanExportResult.FAILURE
        text = "".join(json.dumps(self._record(span), separators=(",", ":")) + "\n" for span in spans)
        with self._lock:
            try:
                if self.path.exists() and self.path.stat().st_size > self.max_bytes:
                    os.replace(self.path, self.path.with_name(self.path.name + ".1"))
                with open(self.path, "a", encoding="utf-8") as file:
                    file.write(text)
            except OSError:
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def _record(self, span: ReadableSpan) -> dict:
        context, parent = span.get_span_context(), span.parent
        attributes = span.attributes or {}
        error = None
        if span.status.status_code is StatusCode.ERROR:
            error = span.status.description or "error"
            for event in span.events:
                if event.name == "exception":
                    error = f"{event.attributes.get('exception.type')}: {event.attributes.get('exception.message')}"
        return {
            "trace_id": format(context.trace_id, "032x"), "span_id": format(context.span_id, "016x"),
            "parent_id": format(parent.span_id, "016x") if parent else None,
            "service": (span.resource.attributes.get("service.name") if span.resource else None) or self.service,
            "name": span.name, "kind": span.kind.name.lower(), "start": span.start_time, "end": span.end_time,
            "error": error,
            "attributes": {key: attributes[key] for key in KEPT_ATTRIBUTES if key in attributes},
            "links": [format(link.context.trace_id, "032x") for link in span.links],
        }

    def shutdown(self) -> None:
        self._closed = True


@dataclass
class Span:
    record: dict
    children: list["Span"] = field(default_factory=list)

    @property
    def duration_ms(self) -> float:
        return ((self.record["end"] or self.record["start"]) - self.record["start"]) / 1e6


def read_spans(directory: Path) -> Iterator[dict]:
    for path in sorted(Path(directory).glob("*.jsonl*")):
        with open(path, encoding="utf-8") as file:
            for line in file:
                try:
                    yield json.loads(line)
                except ValueError:
                    continue  # a line cut short by a crash


def find_trace(directory: Path, wanted: str) -> dict[str, list[dict]]:
    """Every span of the traces `wanted` names: a trace id, or an event id or correlation id that a
    span carries; by trace id."""
    wanted = wanted.strip().lower()
    spans = list(read_spans(directory))
    trace_ids = {span["trace_id"] for span in spans if span["trace_id"] == wanted or any(
        str(span["attributes"].get(key, "")).lower() == wanted for key in FIND_BY)}
    # A batch span linked to one of them is the root of its own trace: it comes along with its children.
    linked = {span["trace_id"]: trace_id for span in spans for trace_id in trace_ids.intersection(span.get("links", ()))
              if span["trace_id"] not in trace_ids}
    found: dict[str, list[dict]] = {trace_id: [] for trace_id in trace_ids}
    for span in spans:
        if span["trace_id"] in found:
            found[span["trace_id"]].append(span)
        elif span["trace_id"] in linked:
            found[linked[span["trace_id"]]].append(span | {"linked": not span["parent_id"]})
    return found


def tree(records: Iterable[dict]) -> list[Span]:
    """Roots in start order, each with its children: a span whose parent is not stored is a root."""
    spans = {record["span_id"]: Span(record) for record in records}
    roots = []
    for span in spans.values():
        parent = spans.get(span.record["parent_id"] or "")
        (parent.children if parent else roots).append(span)
    for span in spans.values():
        span.children.sort(key=lambda child: child.record["start"])
    return sorted(roots, key=lambda span: span.record["start"])


def render(trace_id: str, records: list[dict]) -> list[str]:
    roots = tree(records)
    start = min(record["start"] for record in records)
    services = sorted({record["service"] for record in records})
    errors = sum(1 for record in records if record["error"])
    lines = [f"trace {trace_id}: {len(records)} spans, services {', '.join(services)}, "
             f"{errors} error(s)"]

    def walk(span: Span, depth: int) -> None:
        record = span.record
        offset_ms = (record["start"] - start) / 1e6
        detail = " ".join(f"{key.rsplit('.', 1)[-1]}={value}" for key, value in record["attributes"].items()
                          if key in ("messaging.message.id", "http.response.status_code",
                                     "messaging.batch.message_count"))
        marker = " (linked batch)" if record.get("linked") else ""
        error = f"  ERROR {record['error']}" if record["error"] else ""
        lines.append(f"{offset_ms:>9.1f} ms {span.duration_ms:>8.1f} ms  {'  ' * depth}"
                     f"{record['service']}: {record['name']}{marker}"
                     f"{'  ' + detail if detail else ''}{error}")
        for child in span.children:
            walk(child, depth + 1)

    for root in roots:
        walk(root, 0)
    return lines
