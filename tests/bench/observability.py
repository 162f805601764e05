"""The live command path with and without tracing and metrics (`make bench`, last stage).

The five services as processes, as `make run` starts them (tests/load's closed loop of mixed
commands over HTTP), once as they run (spans to the local store, metrics) and once with
`OTEL_SDK_DISABLED=true` (the SDK's own switch: no spans, no metrics, the same code otherwise).
The two take turns, `rounds` times each, and the best run of each counts: the machine's speed
drifts more between minutes than the difference measured.

    python -m tests.bench.observability [--seconds 10] [--concurrency 8] [--rounds 2]
"""
import argparse
import asyncio
import json
import tempfile
from pathlib import Path

import aiohttp

from services.devrun import LocalSystem
from services.platform.processes import SERVICES
from tests.load.commands import Workload
from tests.load.run_load import closed_loop, free_port_block

MODES = {"on": {}, "off": {"OTEL_SDK_DISABLED": "true"}}


async def _closed_loop(system: LocalSystem, seconds: float, concurrency: int) -> dict:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        workload = Workload(http, system.services.url, system.token)
        await workload.seed(employers=5, employments=max(16, concurrency * 2))
        run = await closed_loop(workload.send, concurrency, seconds, workload.choose)
    return run.figures()


def measure(work: Path, seconds: float = 10.0, concurrency: int = 8, rounds: int = 2) -> dict:
    best: dict[str, dict] = {}
    for round_ in range(rounds):
        for mode, env in MODES.items():
            system = LocalSystem(work / f"{mode}-{round_}" / "var", first_port=free_port_block(),
                                 service_env={name: dict(env) for name in SERVICES})
            try:
                system.start()
                figures = asyncio.run(_closed_loop(system, seconds, concurrency))
            finally:
                system.stop()
            if mode not in best or figures["commands_per_s"] > best[mode]["commands_per_s"]:
                best[mode] = figures
    on, off = best["on"]["commands_per_s"], best["off"]["commands_per_s"]
    return {"concurrency": concurrency, "seconds": seconds, "with_tracing_and_metrics": best["on"],
            "without": best["off"], "observability_cost": round(1 - on / off, 3) if off else None}


def describe(figures: dict) -> str:
    on, off = figures["with_tracing_and_metrics"], figures["without"]
    return (f"live command path, concurrency {figures['concurrency']}: with tracing and metrics "
            f"{on['commands_per_s']:,.0f} commands/s (p99 {on['p99_ms']} ms), without "
            f"{off['commands_per_s']:,.0f} commands/s (p99 {off['p99_ms']} ms): observability costs "
            f"{figures['observability_cost']:.0%} of throughput")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="polku-observability-") as work:
        figures = measure(Path(work), args.seconds, args.concurrency, args.rounds)
    print(describe(figures))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
