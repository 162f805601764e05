"""One part of a rebuild in a process of its own (rebuild.py, Parallel): started by the rebuild, never by hand.

Reads its settings as JSON on standard input (rebuild.Parallel's fields, the stream, the batch size and the
part's event types), replays that part into the new tables, and writes a JSON line per batch on standard
output ({"batch": messages read}) and one at the end ({"replayed": messages read}). Logs go to standard error.
"""
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


class _Batches:
    """The rebuild's progress: each batch read, as a line for the first process to show."""

    def update(self, n: int) -> None:
        print(json.dumps({"batch": n}), flush=True)


async def main(settings: dict) -> None:
    engine = create_engine(settings["database_url"], statements_on_loop=False)
    nc = await connect(settings["nats_url"], "polku-rebuild-part", settings["nats_user"], settings["nats_password"],
                       tls_ca=Path(settings["nats_tls_ca"]) if settings["nats_tls_ca"] else None)
    try:
        part = tuple(EVENT_TYPES[name] for name in settings["event_types"])
        replayed = await replay_part(engine, nc, settings["stream"], part, settings["batch_size"], _Batches())
        print(json.dumps({"replayed": replayed}), flush=True)
    finally:
        await nc.close()
        await engine.dispose()


if __name__ == "__main__":
    # The first process's part is the largest and so the rebuild's length: this one gives way to it.
    os.nice(WORKER_NICENESS)
    setup_logging("reporting")
    asyncio.run(main(json.load(sys.stdin)))
