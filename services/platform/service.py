"""Runs one service: database, outbox relay, event consumer and HTTP API, started and stopped together."""
import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from aiohttp import web
from faststream.nats import NatsBroker
from faststream.security import BaseSecurity, SASLPlaintext
from opentelemetry.instrumentation.utils import suppress_instrumentation
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.platform.access import allowed_roles
from services.platform.audit import AUDIT_ROUTES
from services.platform.auth import Principal, verifier_from
from services.platform.bus import inbox_prefix, parse_headers_plainly, seed_servers, tls_context
from services.platform.config import Settings
from services.platform.consumer import InboxConsumer, Subscription
from services.platform.database import create_engine, migrate
from services.platform.event_store import Cause
from services.platform import garbage, parking
from services.platform.idempotency import CLAIM, KeyTimes, purge_every
from services.platform.http import RUNTIME, Route, build_app, principal_of, stated_purpose
from services.platform.inbound import Inbound, answer
from services.platform.logs import setup_logging
from services.platform.metrics import EXPORT_INTERVAL_S, ServiceGauges, metrics_endpoint, setup_metrics
from services.platform.relay import OutboxRelay
from services.platform.relay_lease import RelayLease
from services.platform.tracing import setup_tracing, trace_sql
from services.platform.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceDefinition:
    """Everything that differs between services; the rest is this module, the same for all."""

    name: str
    description: str
    routes: list[Route]
    subscription: Subscription | None = None
    migrations: Path | None = None
    # Core NATS subjects it answers (request and reply), each built with the running service.
    inbound: tuple[Callable[["ServiceRuntime"], Inbound], ...] = ()
    # Work of its own that runs beside the API while the service runs (e.g. intake's retention erasure).
    tasks: tuple[Callable[["ServiceRuntime"], Awaitable[None]], ...] = ()
    # Work on its own database after the migrations and before it takes any event or request (e.g.
    # reporting counts the municipal share's tally anew after its rule file changed).
    prepare: tuple[Callable[[AsyncEngine], Awaitable[None]], ...] = ()


class ServiceRuntime:
    """The running parts of one service. HTTP handlers reach it as request.app[RUNTIME]."""

    def __init__(self, definition: ServiceDefinition, settings: Settings):
        self.definition, self.settings = definition, settings
        self.engine = create_engine(settings.resolved_database_url, sqlite_busy_timeout_s=settings.sqlite_busy_timeout_s)
        self.broker = NatsBroker(seed_servers(settings.nats_url), max_reconnect_attempts=-1, reconnect_time_wait=0.5,
                                 inbox_prefix=inbox_prefix(settings.nats_user),  # NATS permissions allow only its own
                                 security=_security(settings),
                                 logger=logging.getLogger("faststream"))
        self.relay: OutboxRelay | None = None
        self.consumer = (
            InboxConsumer(definition.subscription, self.engine, lambda: self.broker.config.connection_state.stream,
                          settings, on_commit=self.wake_relay, nc=lambda: self.broker.config.connection_state.connection)
            if definition.subscription else None
        )
        self.gauges = ServiceGauges(self)
        self._tasks: list[asyncio.Task] = []
        self._site: web.TCPSite | None = None
        self._runner: web.AppRunner | None = None

    def jetstream(self):
        """The JetStream context once connected, else None."""
        state = self.broker.config.connection_state
        return state.stream if state and state.connection.is_connected else None

    def wake_relay(self) -> None:
        if self.relay:
            self.relay.wake()

    def acting_as(self, actor: Principal, purpose: str) -> UnitOfWork:
        """For a caller that is not an HTTP request (a system on the bus): within its area, audited."""
        return UnitOfWork(self.engine, self.settings.service, Cause.new(), self.wake_relay, actor=actor,
                          purpose=purpose)

    def unit_of_work(self, request: web.Request | None = None) -> UnitOfWork:
        """For an HTTP request: acts as its caller, within the caller's area, audited."""
        if request is None:
            return UnitOfWork(self.engine, self.settings.service, Cause.new(), on_commit=self.wake_relay)
        return UnitOfWork(self.engine, self.settings.service, self._request_cause(request), self.wake_relay,
                          actor=principal_of(request), purpose=_purpose_of(request), claim=request.get(CLAIM))

    @staticmethod
    def _request_cause(request: web.Request) -> Cause:
        """An HTTP request starts a flow; a caller may pass its own correlation id to follow it."""
        try:
            return Cause(correlation_id=UUID(request.headers["X-Correlation-Id"]))
        except (KeyError, ValueError):
            return Cause.new()

    async def ready(self) -> dict[str, bool]:
        checks = {"database": False, "bus": False, "stream": False}
        try:
            with suppress_instrumentation():  # a probe is no part of any trace (a load balancer asks often)
                async with self.engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
            checks["database"] = True
        except Exception:
            log.warning("database not reachable", exc_info=True)
        state = self.broker.config.connection_state
        checks["bus"] = bool(state) and state.connection.is_connected
        if checks["bus"]:
            try:
                await asyncio.wait_for(state.stream.stream_info(self.settings.stream), 2)
                checks["stream"] = True
            except Exception:
                log.warning("stream not reachable")
        return checks

    async def start(self) -> None:
        setup_metrics(self.settings.service)
        if self.settings.trace_sql:
            trace_sql(self.engine)
        with suppress_instrumentation():  # a start's schema checks are no flow an operator follows
            await migrate(self.engine, self.definition.migrations)
        for prepare in self.definition.prepare:
            await prepare(self.engine)
        await self.broker.start()
        parse_headers_plainly(self.broker.config.connection_state.connection)
        if self.consumer:
            await self.consumer.create_if_missing()
            self._tasks.append(asyncio.create_task(self.consumer.run(), name=f"{self.settings.service}-consumer"))
            self._tasks.append(asyncio.create_task(parking.sweep_every(self), name=f"{self.settings.service}-parked"))
            try:
                await self.consumer.settings_differing_on_server()
            except Exception:  # a check for the operators, never a reason not to start
                log.warning("could not compare the consumer on the server with this service's settings",
                            exc_info=True)
        for make_inbound in self.definition.inbound:
            await answer(self.broker.config.connection_state.connection, make_inbound(self))
        self.relay = OutboxRelay(
            self.engine, self.broker.config.connection_state.stream, self.settings.stream,
            self.settings.relay_batch_size, self.settings.relay_idle_poll_s, self.settings.publish_timeout_s,
            # Named by host and port: an instance restarted after a crash takes its own lease back at once.
            lease=RelayLease(self.engine, self.settings.relay_lease_s,
                             holder=f"{socket.gethostname()}:{self.settings.resolved_http_port}"),
            service=self.settings.service, spans_up_to=self.settings.event_spans_up_to,
        )
        self._tasks.append(asyncio.create_task(self.relay.run(), name=f"{self.settings.service}-relay"))
        self._tasks.append(asyncio.create_task(purge_every(self.engine, KeyTimes.of(self.settings).kept),
                                               name=f"{self.settings.service}-idempotency-purge"))
        for task in self.definition.tasks:
            self._tasks.append(asyncio.create_task(task(self), name=f"{self.settings.service}-{task.__name__}"))
        if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):  # Prometheus refreshes the gauges as it scrapes
            self._tasks.append(asyncio.create_task(self.gauges.refresh_every(EXPORT_INTERVAL_S)))
        app = build_app(f"Polku {self.definition.name}", self.definition.description,
                        [*self.definition.routes, *AUDIT_ROUTES], self.ready, verifier_from(self.settings),
                        allowed_roles(self.definition.name))
        app[RUNTIME] = self
        app.router.add_get("/metrics", metrics_endpoint(self.gauges))
        app.router.add_get("/parked", parking.parked_endpoint(self))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.settings.http_host, self.settings.resolved_http_port)
        await self._site.start()
        log.info("service started", extra={"port": self.settings.resolved_http_port})

    async def stop(self) -> None:
        # Cancelled again until done: nats-py swallows a cancellation that lands while it queues a
        # flush (nats.aio.client.Client._flush_pending), and the consumer's loop would go on.
        while running := [task for task in self._tasks if not task.done()]:
            for task in running:
                task.cancel()
            await asyncio.wait(running, timeout=0.1)
        self.gauges.close()
        if self.relay:
            try:
                await self.relay.release()
            except Exception:
                log.warning("relay lease not released; another instance takes over when it runs out", exc_info=True)
        if self._runner:
            await self._runner.cleanup()
        await self._disconnect()
        await self.engine.dispose()

    async def _disconnect(self) -> None:
        """Drain the bus connection, or just close it when nats-server has gone: a connection that is
        reconnecting cannot drain (nats-py raises), and waiting for it would hold up the stop."""
        state = self.broker.config.connection_state
        connection = state.connection if state else None
        if connection is not None and not connection.is_connected:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 2)
        try:
            await asyncio.wait_for(self.broker.stop(), 10)
        except Exception as error:  # the bus is away: nothing is left to hand over
            log.info("bus connection closed without draining", extra={"error": f"{type(error).__name__}: {error}"})


def _security(settings: Settings) -> BaseSecurity | None:
    """The service's NATS user and, with POLKU_NATS_TLS_CA, TLS."""
    tls = tls_context(settings.nats_tls_ca)
    if settings.nats_user:
        return SASLPlaintext(username=settings.nats_user, password=settings.nats_password or "", ssl_context=tls)
    return BaseSecurity(ssl_context=tls) if tls else None


def _purpose_of(request: web.Request) -> str:
    """Why the caller acts, for the audit log: the X-Purpose header, else the endpoint itself."""
    return stated_purpose(request) or f"{request.method} {request.match_info.route.resource.canonical}"


async def serve(definition: ServiceDefinition, settings: Settings | None = None) -> None:
    settings = settings or Settings(service=definition.name)
    setup_logging(settings.service, settings.log_level)
    setup_tracing(settings.service, local_dir=settings.var_dir / "traces" if settings.local_traces else None,
                  local_max_bytes=int(settings.local_traces_mb * 1024 * 1024))
    runtime = ServiceRuntime(definition, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await runtime.start()
    garbage.settle()
    try:
        await stop.wait()
    finally:
        await runtime.stop()
        log.info("service stopped")
