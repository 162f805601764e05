"""Structured JSON logs, one object a line, carrying the current trace id.

Log calls pass ids and counts in `extra`, never personal data: a client is its random id.
"""
import json
import logging
import sys
from datetime import UTC, datetime

from services.platform.tracing import current_trace_id

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
            "trace_id": current_trace_id(),
        }
        entry.update({key: value for key, value in record.__dict__.items() if key not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def setup_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # FastStream logs every message at INFO; the consumer logs what matters itself. Its logger comes
    # with a coloured plain-text handler of its own that does not propagate ("Connection broken with
    # UnexpectedEOF()" and a bare traceback when nats-server goes away): ours formats it instead.
    faststream = logging.getLogger("faststream")
    faststream.handlers[:] = []
    faststream.propagate = True
    faststream.setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
