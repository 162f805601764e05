"""`polku status`: what is healthy, what is behind, what needs attention, in one table.

Reads what an operator would otherwise gather by hand: each service's /ready and /metrics (its
outbox and relay) and /parked (the events its consumer keeps waiting for a prerequisite), each durable consumer and the streams on NATS (as the ops user), and the
dead letters per consumer. A line that needs attention makes the command exit 1, so it can be
a cron check.
"""
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from nats.aio.client import Client
from prometheus_client.parser import text_string_to_metric_families

from services.platform.dead_letters import DEAD_LETTER_ROOT


@dataclass(frozen=True)
class Thresholds:
    outbox_age_s: float = 60.0  # an outbox row older than this: the relay cannot publish
    stalled_after_s: float = 60.0  # a consumer with work and no delivery for this long: stopped or stuck
    stream_full_ratio: float = 0.9
    parked_age_s: float = 300.0  # an event parked this long waits for something that is late


@dataclass(frozen=True)
class Line:
    section: str
    name: str
    state: str  # "ok" or "ATTENTION"
    detail: str

    @property
    def needs_attention(self) -> bool:
        return self.state != "ok"


def _line(section: str, name: str, bad: bool, detail: str) -> Line:
    return Line(section, name, "ATTENTION" if bad else "ok", detail)


async def service_lines(urls: Sequence[tuple[str, str]], thresholds: Thresholds) -> list[Line]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as http:
        found = await asyncio.gather(*(_service_line(http, name, url, thresholds) for name, url in urls))
    return [line for lines in found for line in lines]


async def _service_line(http: aiohttp.ClientSession, name: str, url: str, thresholds: Thresholds) -> list[Line]:
    try:
        async with http.get(f"{url}/ready") as response:
            ready = await response.json()
        async with http.get(f"{url}/metrics") as response:
            samples = _samples(await response.text())
        async with http.get(f"{url}/parked") as response:
            parked = (await response.json())["parked"]
    except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as error:
        return [_line("service", name, True, f"{url} unreachable ({type(error).__name__})")]
    backlog = samples.get("polku_outbox_backlog", 0)
    oldest = samples.get("polku_outbox_oldest_age_seconds", 0)
    active = samples.get("polku_relay_active", 0)
    failing = [check for check, ok in ready.get("checks", {}).items() if not ok]
    detail = (f"{url} {'ready' if ready.get('ready') else 'NOT READY: ' + ', '.join(failing)}; "
              f"outbox {backlog:.0f} rows, oldest {oldest:.0f} s; relay {'active' if active else 'standby'}")
    if parked:
        detail += f"; {len(parked)} parked, the oldest {parked[0]['parked_s']:.0f} s"
    lines = [_line("service", name, not ready.get("ready") or oldest > thresholds.outbox_age_s, detail)]
    # Each parked event: waiting is normal for seconds; one waiting long is named (and dead-lettered at
    # POLKU_MAX_PARKED_S).
    lines += [_line("parked", f"{name} {event['event_id']}", event["parked_s"] > thresholds.parked_age_s,
                    f"{event['event_type']} {event['parked_s']:.0f} s, waiting for {event['waiting_for']}: "
                    f"{event['reason']}") for event in parked]
    return lines


def _samples(text: str) -> dict[str, float]:
    return {sample.name: sample.value for family in text_string_to_metric_families(text)
            for sample in family.samples}


async def bus_lines(nc: Client, stream: str, dead_letter_stream: str, consumers: Sequence[str],
                    thresholds: Thresholds) -> list[Line]:
    js = nc.jetstream()
    info = await js.stream_info(stream)
    state, lines = info.state, []
    limit = info.config.max_bytes if info.config.max_bytes and info.config.max_bytes > 0 else None
    detail = f"{state.messages} messages, {state.bytes / 1e6:.1f} MB, last sequence {state.last_seq}"
    if limit:
        detail += f", {state.bytes / limit:.0%} of its {limit / 1e6:.0f} MB"
    lines.append(_line("stream", stream, bool(limit) and state.bytes > thresholds.stream_full_ratio * limit, detail))
    lines.append(_cluster_line(stream, info.cluster))
    dead = (await js.stream_info(dead_letter_stream, subjects_filter=f"{DEAD_LETTER_ROOT}.>")).state.subjects or {}
    now = datetime.now(UTC)
    for consumer in consumers:
        try:
            consumer_info = await js.consumer_info(stream, consumer)
        except Exception as error:
            lines.append(_line("consumer", consumer, True, f"not found on {stream} ({type(error).__name__})"))
            continue
        lag = (consumer_info.num_pending or 0) + (consumer_info.num_ack_pending or 0)
        last_active = consumer_info.delivered.last_active if consumer_info.delivered else None
        idle_s = (now - last_active).total_seconds() if last_active else None
        stalled = lag > 0 and not consumer_info.num_waiting and (idle_s is None or idle_s > thresholds.stalled_after_s)
        letters = dead.get(f"{DEAD_LETTER_ROOT}.{consumer}", 0)
        detail = (f"lag {lag} ({consumer_info.num_pending or 0} not delivered, {consumer_info.num_ack_pending or 0} "
                  f"unacknowledged), redelivered {consumer_info.num_redelivered or 0}, dead letters {letters}, "
                  f"pulling {consumer_info.num_waiting or 0}"
                  + (f", last delivery {idle_s:.0f} s ago" if idle_s is not None else ""))
        if stalled:
            detail += " — STALLED: nobody pulling"
        lines.append(_line("consumer", consumer, stalled or letters > 0, detail))
    return lines


def _cluster_line(stream: str, cluster) -> Line:
    if cluster is None or not cluster.replicas:
        leader = cluster.leader if cluster else None
        return _line("nats", stream, False, f"single server{f' {leader}' if leader else ''}, no replicas")
    behind = [peer.name for peer in cluster.replicas if not peer.current or peer.offline]
    replicas = ", ".join(f"{peer.name} {'current' if peer.current and not peer.offline else 'BEHIND'}"
                         f" (lag {peer.lag or 0})" for peer in cluster.replicas)
    return _line("nats", stream, not cluster.leader or bool(behind),
                 f"leader {cluster.leader or 'NONE'}; replicas {replicas}")


def render(lines: Sequence[Line]) -> str:
    width = max((len(line.name) for line in lines), default=10)
    return "\n".join(f"{line.section:<9} {line.name:<{width}}  {line.state:<9}  {line.detail}" for line in lines)
