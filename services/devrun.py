"""`make run`: a local nats-server, the streams, the five services and the demo history, until Ctrl-C."""
import asyncio
import json
import os
import signal
import time
from pathlib import Path
from urllib.request import Request, urlopen

from services.demo import AREAS, load_demo
from services.platform.auth import ROLES, issue_dev_token
from services.platform.config import Settings
from services.platform.bus import bootstrap_streams, connect
from services.platform.consumer import create_durable_consumers
from services.platform.nats_permissions import (
    EMBEDDED_CREDENTIALS, OPS_USER, service_subscriptions, write_embedded_config,
)
from services.platform.nats_server import LocalNatsServer
from services.platform.processes import SERVICES, ServiceProcesses


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


class LocalSystem:
    """nats-server (unless POLKU_NATS_URL names one), the streams, the consumers and the five services
    as processes under `var_dir`: what `make run` starts, and what `make load` measures."""

    def __init__(self, var_dir: Path, first_port: int = 8101,
                 service_env: dict[str, dict[str, str]] | None = None):
        """`service_env[name]`: more environment for that service (e.g. its own POLKU_DATABASE_URL)."""
        self.var_dir, self.first_port, self.service_env = var_dir, first_port, service_env or {}
        self.server: LocalNatsServer | None = None
        self.services: ServiceProcesses | None = None
        self.credentials: dict[str, str] = {}
        self.nats_url = os.environ.get("POLKU_NATS_URL") or os.environ.get("NATS_URL")
        self.settings = Settings(service="devrun", var_dir=var_dir)

    def token(self, role: str, area: str) -> str:
        return issue_dev_token(self.settings, f"demo-{role.replace('_', '-')}-{area}", [role], area)

    def start(self) -> "LocalSystem":
        if not self.nats_url:
            # Our own server runs the NATS users of nats_permissions.py: each service connects as
            # itself; passwords are made on first run and kept in var/nats/credentials.json.
            config, self.credentials = write_embedded_config(self.var_dir / "nats")
            self.server = LocalNatsServer(self.var_dir / "nats", config_file=config).start()
            self.nats_url = self.server.url
        self.services = ServiceProcesses(
            self.nats_url, self.var_dir, {name: self.first_port + i for i, name in enumerate(SERVICES)},
            service_env={name: self.service_env.get(name, {}) | (
                {"POLKU_NATS_USER": name, "POLKU_NATS_PASSWORD": self.credentials[name]} if self.credentials else {})
                for name in SERVICES},
        )
        print(f"NATS with JetStream at {self.nats_url}")
        if self.credentials:
            print(f"NATS users and passwords: {self.var_dir / 'nats' / EMBEDDED_CREDENTIALS} "
                  f"(polku commands connect as POLKU_NATS_USER={OPS_USER})")
        asyncio.run(_bootstrap(self.nats_url, self.settings, self.credentials))
        self.services.start_all()
        self.services.wait_ready()
        return self

    def stop(self) -> None:
        if self.services:
            self.services.stop_all()
        if self.server:
            self.server.stop()


def run() -> int:
    # From the first line: a SIGTERM during start-up must also stop what has started so far.
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    system = LocalSystem(Path(os.environ.get("POLKU_VAR_DIR", "var")).resolve(),
                         int(os.environ.get("POLKU_FIRST_PORT", "8101")))
    try:
        system.start()
        services, var_dir = system.services, system.var_dir
        marker = var_dir / "demo-loaded.json"
        if not marker.exists():
            created = asyncio.run(load_demo(services.url, system.token))
            marker.write_text(json.dumps(created))
            print(f"demo history loaded: {created}")
        created = json.loads(marker.read_text())
        _print_where_to_look(services, created, system.token)
        print("Ctrl-C stops everything.", flush=True)
        while True:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        # A second Ctrl-C or SIGTERM must not cut the clean stop short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("stopping…")
        system.stop()
    return 0


async def _bootstrap(nats_url: str, settings: Settings, credentials: dict[str, str]) -> None:
    """Streams and the services' consumers, as the ops user; one replica on our own single server.

    On someone else's server (`credentials` empty: its users are the environment's), existing
    streams and consumers are left as they are.
    """
    ours = bool(credentials)
    user, password = (OPS_USER, credentials[OPS_USER]) if ours else (settings.nats_user, settings.nats_password)
    nc = await connect(nats_url, "polku-devrun", user, password)
    try:
        await bootstrap_streams(nc, replicas=1, update_existing=ours)
        await create_durable_consumers(nc.jetstream(), service_subscriptions(), settings, update_existing=ours)
    finally:
        await nc.close()


def _reports(reporting_url: str, token) -> dict[str, list[dict]]:
    """Each area's figures, as that area's manager sees them."""
    reports: dict[str, list[dict]] = {}
    for report in ("clients-by-status", "placements-by-employer-type", "invoiced-totals"):
        reports[report] = []
        for area in AREAS:
            request = Request(f"{reporting_url}/reports/{report}",
                              headers={"Authorization": f"Bearer {token('manager', area)}"})
            with urlopen(request, timeout=5) as response:
                reports[report] += json.load(response)
    return reports


def _caught_up(reports: dict[str, list[dict]], created: dict[str, int]) -> bool:
    """Reporting is fed asynchronously; it has caught up when it counts what the demo created."""
    counted = {
        "clients": sum(row["clients"] for row in reports["clients-by-status"]),
        "placements": sum(row["placements"] for row in reports["placements-by-employer-type"]),
        "invoices": sum(row["invoices"] for row in reports["invoiced-totals"]),
    }
    return all(counted[key] >= created.get(key, 0) for key in counted)


def _print_where_to_look(services: ServiceProcesses, created: dict[str, int], token) -> None:
    reporting = services.url("reporting")
    deadline = time.monotonic() + 30
    reports = _reports(reporting, token)
    while not _caught_up(reports, created) and time.monotonic() < deadline:
        time.sleep(0.5)
        reports = _reports(reporting, token)
    print()
    print(f"{'service':<16} {'URL':<24} OpenAPI")
    for service in SERVICES:
        print(f"{service:<16} {services.url(service):<24} {services.url(service)}/openapi.json")
    print()
    for report, rows in reports.items():
        print(f"{reporting}/reports/{report}")
        for row in rows:
            print("   " + "  ".join(f"{key}={value}" for key, value in row.items()))
    print()
    print("Operations: `polku status` (health, lag, dead letters), `polku trace ID` (a trace, correlation or "
          f"event id; spans under {services.var_dir / 'traces'}), metrics at each service's /metrics; docs/runbook.md")
    print()
    print(f"Development tokens for area {AREAS[0]}, valid 8 h (`polku token ROLE --area AREA` makes more):")
    for role in ROLES:
        print(f"   {role:<21} {token(role, AREAS[0])}")
    print()
    intake = services.url("intake")
    print(f"The demo's journeys belong to the case_worker above: {intake}/caseload and {intake}/follow-ups "
          f"(due and overdue); a client's pathway: {services.url('pathway')}/clients/<client_id>/pathway")
    print()
