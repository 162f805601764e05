"""An outside reporting consumer: follows one employment area's events with its restricted NATS user
(`reporting-<area>`) and keeps its own tally of events by type in a JSON file.

It needs nothing of Polku but nats-py: `polku bootstrap` creates the user's durable pull consumer, named
after it and filtered to `polku.events.<area>.>` (deploy/nats/users.conf); the user may pull from it
and ack, and create no consumer of its own. A tally
is saved before its messages are acked, and counts each event id once, so a crash or a redelivery
never counts an event twice or loses one.

    python -m examples.area_tally --server nats://127.0.0.1:4222 --area kemi \\
        --password "$POLKU_NATS_REPORTING_KEMI_PASSWORD" --tally kemi-tally.json
"""
import argparse
import asyncio
import json
import os
from pathlib import Path

import nats
from nats.errors import TimeoutError as FetchTimeout

STREAM = "POLKU"


def _load(path: Path) -> dict:
    if path.exists():
        return json.loads(path.read_text())
    return {"by_type": {}, "seen": []}


def _save(path: Path, tally: dict) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(tally, indent=1, sort_keys=True))
    os.replace(temporary, path)  # a crash leaves the old tally or the new one, never half of one


async def follow(server: str, area: str, password: str, tally_file: Path, idle_s: float = 2.0,
                 batch: int = 256) -> dict:
    """Take what the area's consumer has (until `idle_s` with nothing new); returns the tally."""
    user = f"reporting-{area}"
    nc = await nats.connect(server, user=user, password=password, inbox_prefix=f"_INBOX_{user}",
                            name=f"area-tally-{area}")
    try:
        js = nc.jetstream()
        subscription = await js.pull_subscribe_bind(user, stream=STREAM)
        tally = _load(tally_file)
        seen = set(tally["seen"])
        while True:
            try:
                messages = await subscription.fetch(batch, timeout=idle_s)
            except FetchTimeout:
                return tally
            for msg in messages:
                event = json.loads(msg.data)
                if event["id"] not in seen:
                    seen.add(event["id"])
                    tally["by_type"][event["type"]] = tally["by_type"].get(event["type"], 0) + 1
            tally["seen"] = sorted(seen)
            _save(tally_file, tally)
            for msg in messages:
                await msg.ack()
    finally:
        await nc.flush()  # the acks reach the server before the connection closes
        await nc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="nats://127.0.0.1:4222")
    parser.add_argument("--area", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--tally", type=Path, required=True)
    arguments = parser.parse_args()
    tally = asyncio.run(follow(arguments.server, arguments.area, arguments.password, arguments.tally))
    print(json.dumps(tally["by_type"], indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
