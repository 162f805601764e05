"""One part of a rebuild in a process of its own (rebuild.py, Parallel): started by the rebuild, never by hand.

Reads its settings as JSON on standard input (rebuild.Parallel's fields, the stream, the batch size and the
part's event types), replays that part into the new tables, and writes a JSON line per batch on standard
output ({"batch": messages read}) and one at the end ({"replayed": messages read}). Logs, and anything else
printed, go to standard error. It ends with the process that started it (Linux).
"""
import ctypes
import signal
import asyncio
import json
import os
import sys
from pathlib import Path

from services.platform.bus import connect
from services.platform.database import create_engine
from services.platform.logs import setup_logging
from services.reporting.projections import PROJECTORS
from services.reporting.rebuild import replay_part

WORKER_NICENESS = 10
EVENT_TYPES = {event_type.__name__: event_type for event_type in PROJECTORS}


PR_SET_PDEATHSIG = 1  # prctl(2)


class _Batches:
    """The rebuild's progress: each batch read, as a line for the first process to show, on the output the
    first process reads; `sys.stdout` is standard error, so no other print can break those lines."""

    def __init__(self) -> None:
        self.lines = os.fdopen(os.dup(sys.stdout.fileno()), "w")
        sys.stdout = sys.stderr

    def update(self, n: int) -> None:
        self.say({"batch": n})

    def say(self, report: dict) -> None:
        self.lines.write(json.dumps(report) + "\n")
        self.lines.flush()


def _end_with_parent() -> None:
    """A first process killed outright (SIGKILL) leaves no one to stop this one, which would go on writing
    new tables that the next rebuild makes anew."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


async def main(settings: dict) -> None:
    engine = create_engine(settings["database_url"], statements_on_loop=False)
    nc = await connect(settings["nats_url"], "polku-rebuild-part", settings["nats_user"], settings["nats_password"],
                       tls_ca=Path(settings["nats_tls_ca"]) if settings["nats_tls_ca"] else None)
    try:
        part = tuple(EVENT_TYPES[name] for name in settings["event_types"])
        progress = _Batches()
        replayed = await replay_part(engine, nc, settings["stream"], part, settings["batch_size"], progress)
        progress.say({"replayed": replayed})
    finally:
        await nc.close()
        await engine.dispose()


if __name__ == "__main__":
    _end_with_parent()
    # The first process's part is the largest and so the rebuild's length: this one gives way to it.
    os.nice(WORKER_NICENESS)
    setup_logging("reporting")
    asyncio.run(main(json.load(sys.stdin)))
