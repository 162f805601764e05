"""NATS permissions on a real nats-server that runs the generated users (services/platform/nats_permissions.py).

The server is the one `make run` starts, with the config `write_embedded_config` writes. Every
refusal is checked three ways where it applies: the client call fails (a JetStream request gets
no answer and times out), the server reports a permissions violation to the client, and the
stream shows nothing arrived. Each refusal has a positive control (ops, or the user's own subject,
does the same thing successfully), so a test fails if the permissions are too wide and the
end-to-end tests fail if they are too tight.
"""
import asyncio
import json
import logging
from datetime import date
from uuid import uuid4

import nats.errors
import pytest
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import NotFoundError
from sqlalchemy import select

from contracts.envelope import EventEnvelope
from contracts.events.intake import ClientEnrolled
from services.intake.service import SERVICE as INTAKE
from services.pathway.service import SERVICE as PATHWAY
from services.platform.bus import bootstrap_streams, connect, stream_configs
from services.platform.config import SERVICE_PORTS, Settings
from services.platform.database import create_engine, migrate
from services.platform.consumer import create_durable_consumers, durable_consumer_config
from services.platform.nats_permissions import (
    OPS_USER, area_consumer_config, area_consumer_user, inbox_prefix, service_subscriptions,
    write_embedded_config,
)
from services.platform.nats_server import LocalNatsServer, free_port
from services.platform.service import ServiceDefinition, ServiceRuntime
from services.platform.tables import audit_log, events, inbox
from services.reporting.service import SERVICE as REPORTING
from tests.integration.histories import append_clients, envelope_of
from tests.support import Runtimes, eventually

SERVICES = tuple(SERVICE_PORTS)
DENIED_TIMEOUT_S = 0.5  # a refused JetStream request is never answered: wait this long for nothing


class Secured:
    """The server with the generated users, and every user's password."""

    def __init__(self, server: LocalNatsServer, credentials: dict[str, str]):
        self.server, self.credentials = server, credentials
        self.log_start = 0

    def log(self) -> str:
        """What the server logged since the current test began."""
        return self.server.log_file.read_text()[self.log_start:]


@pytest.fixture(scope="module")
def secured(tmp_path_factory) -> Secured:
    directory = tmp_path_factory.mktemp("nats-secured")
    config, credentials = write_embedded_config(directory)
    server = LocalNatsServer(directory, config_file=config).start()
    yield Secured(server, credentials)
    server.stop()


@pytest.fixture(autouse=True)
def log_of_this_test(secured) -> None:
    secured.log_start = len(secured.server.log_file.read_text())


class Connection:
    """A client connected as one user, keeping the errors the server sent it."""

    def __init__(self, user: str):
        self.user, self.errors, self.nc = user, [], None

    async def open(self, secured: Secured) -> "Connection":
        async def keep(error: Exception) -> None:
            self.errors.append(str(error))

        self.nc = await connect(secured.server.url, f"test-{self.user}", self.user, secured.credentials[self.user],
                                error_cb=keep, max_reconnect_attempts=0)
        return self

    @property
    def js(self):
        return self.nc.jetstream()

    def violations(self) -> list[str]:
        return [error for error in self.errors if "permissions violation" in error.lower()]

    async def refused(self, kind: str, subject: str) -> bool:
        """The server told this client it may not publish/subscribe to `subject` (nats-py lower-cases it)."""
        wanted = f'permissions violation for {kind} to "{subject}"'.lower()
        for _ in range(40):
            if any(wanted in error.lower() for error in self.errors):
                return True
            await asyncio.sleep(0.05)
        return False


@pytest.fixture
async def connect_as(secured):
    connections: list[Connection] = []

    async def open_as(user: str) -> Connection:
        connection = await Connection(user).open(secured)
        connections.append(connection)
        return connection

    yield open_as
    for connection in connections:
        await connection.nc.close()


@pytest.fixture
async def ops(secured, connect_as) -> Connection:
    """The ops user, after bootstrap made empty streams and the services' durable consumers."""
    connection = await connect_as(OPS_USER)
    for _ in range(10):
        for config in stream_configs():
            try:
                await connection.js.delete_stream(config.name)
            except NotFoundError:
                pass
        await bootstrap_streams(connection.nc, replicas=1)
        # nats-server 2.15 sometimes brings back the last message of a stream deleted and at once
        # recreated under the same name (seen in about one of ten tries here): start again then.
        if all([(await connection.js.stream_info(config.name)).state.messages == 0 for config in stream_configs()]):
            break
    else:
        raise AssertionError("the streams do not come back empty after delete and create")
    await create_durable_consumers(connection.js, service_subscriptions(), Settings(service="ops"))
    return connection


async def messages_on(ops: Connection, subject: str, stream: str = "POLKU") -> int:
    info = await ops.js.stream_info(stream, subjects_filter=subject)
    return sum((info.state.subjects or {}).values())


def enrolled(area: str = "kemi") -> EventEnvelope:
    return envelope_of(ClientEnrolled(client_id=uuid4(), period=1, case_worker_id="cw-1",
                                      enrolled_on=date(2026, 9, 2)), 3, area)


# --- services publish their own events only ----------------------------------------------------

@pytest.mark.parametrize("service", SERVICES)
async def test_each_service_publishes_its_own_events_and_gets_the_pub_ack(ops, connect_as, service):
    user = await connect_as(service)
    subject = f"polku.events.kemi.{service}.Happened{uuid4().hex[:8]}"
    # As the relay publishes: pipelined, with the expected stream and the event id.
    ack = await asyncio.wait_for(await user.js.publish_async(
        subject, b"{}", stream="POLKU", headers={"Nats-Msg-Id": str(uuid4())}), 5)
    assert ack.stream == "POLKU" and not ack.duplicate
    assert (await ops.js.get_msg("POLKU", ack.seq)).subject == subject
    assert await messages_on(ops, subject) == 1
    assert user.violations() == []


@pytest.mark.parametrize(("service", "subject"), [
    ("intake", "polku.events.kemi.employer.PlacementStarted"),
    ("pathway", "polku.events.kemi.intake.ClientEnrolled"),
    ("payroll_billing", "polku.events.tornio.employer.PlacementStarted"),
    ("reporting", "polku.events.kemi.payroll_billing.EmployerInvoiced"),
    ("employer", "polku.deadletter.pathway"),  # another consumer's dead letters
    ("payroll_billing", "polku.deadletter.intake"),
])
async def test_a_service_cannot_publish_another_services_events(ops, connect_as, service, subject):
    user = await connect_as(service)
    stream = "POLKU_DEADLETTER" if subject.startswith("polku.deadletter.") else "POLKU"
    with pytest.raises(nats.errors.TimeoutError):
        await user.js.publish(subject, b"{}", stream=stream, timeout=DENIED_TIMEOUT_S,
                              headers={"Nats-Msg-Id": str(uuid4())})
    assert await user.refused("publish", subject)
    assert await messages_on(ops, subject, stream) == 0
    # The same message from a user that may send it is stored: the subject itself is fine.
    await ops.js.publish(subject, b"{}", stream=stream, headers={"Nats-Msg-Id": str(uuid4())})
    assert await messages_on(ops, subject, stream) == 1


@pytest.mark.parametrize("subject", ["polku.events.>", "polku.events.kemi.intake.ClientEnrolled", "_INBOX.>",
                                     "_INBOX_reporting.>", "_INBOX_reporting-kemi.>", ">"])
async def test_a_service_cannot_listen_to_events_or_read_another_users_inbox(ops, connect_as, subject):
    pathway = await connect_as("pathway")
    received = []

    async def keep(msg) -> None:
        received.append(msg)

    await pathway.nc.subscribe(subject, cb=keep)
    await pathway.nc.flush()
    assert await pathway.refused("subscription", subject)
    await ops.nc.publish("polku.events.kemi.intake.ClientEnrolled", b"{}")
    await ops.nc.publish(f"{inbox_prefix('reporting-kemi')}.x", b"{}")
    await ops.nc.publish(subject.replace(">", "x"), b"{}")  # a message the refused subscription would match
    await ops.nc.flush()
    await asyncio.sleep(0.2)
    assert received == []


async def test_a_service_cannot_change_its_consumer_or_use_another(ops, connect_as):
    pathway = await connect_as("pathway")
    wider = ConsumerConfig(name="pathway", durable_name="pathway", filter_subjects=["polku.events.>"],
                           ack_policy=AckPolicy.EXPLICIT)
    with pytest.raises(nats.errors.TimeoutError):
        await pathway.js.add_consumer("POLKU", wider, timeout=DENIED_TIMEOUT_S)
    assert await pathway.refused("publish", "$JS.API.CONSUMER.CREATE.POLKU.pathway")
    info = await ops.js.consumer_info("POLKU", "pathway")
    assert sorted(info.config.filter_subjects) == sorted(PATHWAY.subscription.filter_subjects)

    with pytest.raises(nats.errors.TimeoutError):
        await pathway.js.consumer_info("POLKU", "reporting", timeout=DENIED_TIMEOUT_S)
    assert await pathway.refused("publish", "$JS.API.CONSUMER.INFO.POLKU.reporting")
    own = await pathway.js.consumer_info("POLKU", "pathway")  # its own: allowed
    assert own.name == "pathway"

    await pathway.nc.publish("$JS.API.CONSUMER.MSG.NEXT.POLKU.reporting", b'{"batch": 1}',
                             reply=f"{inbox_prefix('pathway')}.steal")
    assert await pathway.refused("publish", "$JS.API.CONSUMER.MSG.NEXT.POLKU.reporting")
    await pathway.nc.publish("$JS.API.STREAM.MSG.GET.POLKU", b'{"seq": 1}', reply=f"{inbox_prefix('pathway')}.x")
    assert await pathway.refused("publish", "$JS.API.STREAM.MSG.GET.POLKU")


# --- the services work under their own users ---------------------------------------------------

@pytest.fixture
async def start_as_itself(secured, ops, database_url_factory, tmp_path):
    """Runs a service in this process, connected as its own NATS user."""
    runtimes = Runtimes()

    async def start(definition: ServiceDefinition, database_url: str | None = None, **overrides) -> ServiceRuntime:
        settings = Settings(
            service=definition.name, nats_url=secured.server.url,
            nats_user=definition.name, nats_password=secured.credentials[definition.name],
            database_url=database_url or await database_url_factory(definition.name), http_port=free_port(),
            signing_key_file=tmp_path / "jwt-es256.pem", relay_idle_poll_s=0.2, **overrides,
        )
        return await runtimes.start(definition, settings)

    yield start
    await runtimes.stop_all()


def violations_in_log(secured: Secured, users: list[str]) -> list[str]:
    return [line for line in secured.log().splitlines()
            if "Violation" in line and any(f'"$G/user:{user}"' in line for user in users)]


async def processed(runtime: ServiceRuntime) -> set[str]:
    async with runtime.engine.connect() as connection:
        return set((await connection.execute(select(inbox.c.event_id))).scalars())


async def test_intake_pathway_and_reporting_run_end_to_end_under_their_own_users(
        secured, ops, start_as_itself, database_url_factory):
    # Intake's relay publishes three events per client as `intake`; pathway and reporting consume
    # them through the consumers bootstrap made and ack them; pathway's relay publishes PathwayPlanned.
    intake_db = await database_url_factory("intake")
    engine = create_engine(intake_db)
    await migrate(engine, INTAKE.migrations)
    client_ids = await append_clients(engine, 2, "kemi") + await append_clients(engine, 1, "tornio")
    await engine.dispose()

    runtimes = {definition.name: await start_as_itself(definition, intake_db if definition is INTAKE else None)
                for definition in (INTAKE, PATHWAY, REPORTING)}
    for runtime in runtimes.values():
        assert await runtime.ready() == {"database": True, "bus": True, "stream": True}

    async def pathways_planned() -> bool:
        return await messages_on(ops, "polku.events.*.pathway.PathwayPlanned") == len(client_ids)

    await eventually(pathways_planned, what="PathwayPlanned of every client on the stream, from pathway's relay")
    assert await messages_on(ops, "polku.events.*.intake.>") == 3 * len(client_ids)

    async def reporting_took_all() -> bool:  # each client's three intake events and its PathwayPlanned
        return len(await processed(runtimes["reporting"])) == 4 * len(client_ids)

    await eventually(reporting_took_all, what="reporting processing every intake and pathway event")
    for consumer in ("pathway", "reporting"):
        async def acked() -> bool:
            info = await ops.js.consumer_info("POLKU", consumer)
            return info.num_pending == 0 and info.num_ack_pending == 0

        await eventually(acked, what=f"{consumer} acking everything it took")
        assert await runtimes[consumer].consumer.settings_differing_on_server() == {}, \
            "bootstrap made the consumer with the settings the service counts with"
    assert violations_in_log(secured, ["intake", "pathway", "reporting"]) == []


async def test_a_service_warns_when_bootstrap_made_its_consumer_with_other_settings(start_as_itself, ops, caplog):
    """Here bootstrap ran with the defaults and pathway with fewer tries and a shorter ack wait."""
    with caplog.at_level(logging.WARNING, logger="services.platform.consumer"):
        pathway = await start_as_itself(PATHWAY, max_deliver=2, ack_wait_s=2.01)
    warnings = [record for record in caplog.records if "run polku bootstrap" in record.getMessage()]
    defaults = Settings(service="pathway")
    expected = {"max_deliver": (defaults.max_deliver + 1, 3), "ack_wait": (defaults.ack_wait_s, 2.01)}
    assert [(record.consumer, set(record.differing)) for record in warnings] == [("pathway", set(expected))]
    assert await pathway.consumer.settings_differing_on_server() == expected

    # Bootstrap run again with the service's settings; 2.01 s comes back from the server as 2.009999999.
    await create_durable_consumers(ops.js, [PATHWAY.subscription], pathway.settings)
    assert await pathway.consumer.settings_differing_on_server() == {}


async def test_a_consumer_dead_letters_under_its_own_user(secured, ops, connect_as, start_as_itself):
    pathway = await start_as_itself(PATHWAY)
    intake = await connect_as("intake")
    await intake.js.publish("polku.events.kemi.intake.ClientEnrolled", b"not json", stream="POLKU",
                            headers={"Nats-Msg-Id": str(uuid4()), "ce-type": "ClientEnrolled"})

    async def dead_lettered() -> bool:
        return await messages_on(ops, "polku.deadletter.pathway", "POLKU_DEADLETTER") == 1

    await eventually(dead_lettered, what="pathway dead-lettering an undecodable message")

    async def terminated() -> bool:
        info = await ops.js.consumer_info("POLKU", "pathway")
        return info.num_pending == 0 and info.num_ack_pending == 0

    await eventually(terminated, what="pathway terminating the message after dead-lettering it")
    assert violations_in_log(secured, ["pathway"]) == []
    assert await pathway.ready() == {"database": True, "bus": True, "stream": True}


async def test_bootstrap_makes_the_same_consumer_a_service_makes_where_it_may(start_service, nc):
    """Without NATS users (the tests' session server) a service still creates its consumer itself.
    Bootstrap's consumer is the same one: bootstrapping over it updates nothing, so a consumer a
    service made before the users existed is taken over as it is."""
    runtime = await start_service(PATHWAY)
    js = nc.jetstream()
    made_by_service = (await js.consumer_info("POLKU", "pathway")).config
    assert made_by_service.filter_subjects == durable_consumer_config(PATHWAY.subscription, runtime.settings).filter_subjects
    await create_durable_consumers(js, [PATHWAY.subscription], runtime.settings)
    assert (await js.consumer_info("POLKU", "pathway")).config == made_by_service


# --- an area's reporting consumer reads that area only ------------------------------------------

async def publish_both_areas(ops: Connection) -> dict[str, int]:
    published = {"kemi": 0, "tornio": 0}
    for area, count in (("kemi", 3), ("tornio", 2)):
        for _ in range(count):
            envelope = enrolled(area)
            await ops.js.publish(envelope.nats_subject, envelope.model_dump_json().encode(), stream="POLKU",
                                 headers={"Nats-Msg-Id": str(envelope.id)})
            published[area] += 1
    return published


def area_consumer(area: str, filter_subject: str | None, **config) -> ConsumerConfig:
    name = area_consumer_user(area)
    return ConsumerConfig(name=name, durable_name=name, filter_subject=filter_subject, ack_policy=AckPolicy.EXPLICIT,
                          **config)


async def test_an_area_consumer_reads_its_own_areas_events(ops, connect_as):
    published = await publish_both_areas(ops)
    await ops.js.add_consumer("POLKU", area_consumer_config("kemi"))  # as polku bootstrap does
    kemi = await connect_as("reporting-kemi")
    subscription = await kemi.js.pull_subscribe_bind("reporting-kemi", stream="POLKU")
    messages = await subscription.fetch(10, timeout=2)
    assert len(messages) == published["kemi"]
    assert {EventEnvelope.model_validate_json(msg.data).employmentarea for msg in messages} == {"kemi"}
    for msg in messages:
        await msg.ack()
    await kemi.nc.flush()

    async def all_acked() -> bool:
        info = await kemi.js.consumer_info("POLKU", "reporting-kemi")
        return info.num_ack_pending == 0 and info.num_pending == 0

    await eventually(all_acked, what="reporting-kemi acking its messages")
    assert kemi.violations() == []


@pytest.mark.parametrize(("name_area", "filter_subject", "push"), [
    ("kemi", "polku.events.kemi.>", True),  # its own area, pushed to a subject anyone may listen on
    ("kemi", "polku.events.kemi.>", False),  # even its own pull consumer: bootstrap makes that one
    ("kemi", "polku.events.tornio.>", False),  # another area
    ("kemi", "polku.events.>", False),  # every area
    ("kemi", None, False),  # no filter: the whole stream
    ("tornio", "polku.events.kemi.>", False),  # under another consumer's name
])
async def test_an_area_consumer_cannot_create_or_change_a_consumer(ops, connect_as, name_area, filter_subject, push):
    await publish_both_areas(ops)
    kemi = await connect_as("reporting-kemi")
    config = area_consumer(name_area, filter_subject, **({"deliver_subject": "anyone.listening"} if push else {}))
    with pytest.raises(nats.errors.TimeoutError):
        await kemi.js.add_consumer("POLKU", config, timeout=DENIED_TIMEOUT_S)
    subject = f"$JS.API.CONSUMER.CREATE.POLKU.{config.name}" + (f".{filter_subject}" if filter_subject else "")
    assert await kemi.refused("publish", subject)
    with pytest.raises(NotFoundError):
        await ops.js.consumer_info("POLKU", config.name)


async def test_an_area_consumer_cannot_delete_its_consumer(ops, connect_as):
    await ops.js.add_consumer("POLKU", area_consumer_config("kemi"))
    kemi = await connect_as("reporting-kemi")
    with pytest.raises(nats.errors.TimeoutError):
        await kemi.nc.jetstream(timeout=DENIED_TIMEOUT_S).delete_consumer("POLKU", "reporting-kemi")
    assert await kemi.refused("publish", "$JS.API.CONSUMER.DELETE.POLKU.reporting-kemi")
    assert (await ops.js.consumer_info("POLKU", "reporting-kemi")).config.deliver_subject is None


async def test_an_area_consumer_cannot_get_messages_directly_count_them_or_publish(ops, connect_as):
    await publish_both_areas(ops)
    assert (await ops.js.get_msg("POLKU", 4)).subject.startswith("polku.events.tornio.")  # ops may
    kemi = await connect_as("reporting-kemi")
    refused_js = kemi.nc.jetstream(timeout=DENIED_TIMEOUT_S)  # get_msg and stream_info take no timeout
    with pytest.raises(nats.errors.TimeoutError):
        await refused_js.get_msg("POLKU", 4)
    assert await kemi.refused("publish", "$JS.API.STREAM.MSG.GET.POLKU")
    with pytest.raises(nats.errors.TimeoutError):
        await refused_js.get_msg("POLKU", 4, direct=True)
    assert await kemi.refused("publish", "$JS.API.DIRECT.GET.POLKU")
    await kemi.nc.publish("$JS.API.DIRECT.GET.POLKU.polku.events.tornio.intake.ClientEnrolled", b"",
                          reply=f"{inbox_prefix('reporting-kemi')}.x")
    assert await kemi.refused("publish", "$JS.API.DIRECT.GET.POLKU.polku.events.tornio.intake.ClientEnrolled")
    with pytest.raises(nats.errors.TimeoutError):
        await refused_js.stream_info("POLKU", subjects_filter="polku.events.tornio.>")
    assert await kemi.refused("publish", "$JS.API.STREAM.INFO.POLKU")
    for subject in ("polku.events.kemi.intake.ClientEnrolled", "polku.deadletter.reporting-kemi"):
        with pytest.raises(nats.errors.TimeoutError):
            await kemi.js.publish(subject, b"{}", timeout=DENIED_TIMEOUT_S)
        assert await kemi.refused("publish", subject)
    assert await messages_on(ops, "polku.events.>") == 5
    for subject in ("polku.events.kemi.>", "_INBOX.>", "_INBOX_reporting.>"):
        await kemi.nc.subscribe(subject)
        await kemi.nc.flush()
        assert await kemi.refused("subscription", subject)


async def test_the_server_logs_each_violation(secured, ops, connect_as):
    intake = await connect_as("intake")
    subject = f"polku.events.kemi.employer.Probe{uuid4().hex[:8]}"
    await intake.nc.publish(subject, b"{}")
    await intake.nc.flush()
    assert await intake.refused("publish", subject)

    async def logged() -> bool:
        return any(subject in line for line in violations_in_log(secured, ["intake"]))

    await eventually(logged, what="the violation in the server log")


# --- referrals over the bus -------------------------------------------------------------------------

def bus_referral(**overrides) -> bytes:
    return json.dumps({"sender_referral_id": "TE-2026-0001", "programme": "kemi_model", "employment_area": "kemi",
                       "municipality": "Kemi", "referred_by": "te_office", "age": 41, "gender": "female",
                       "labour_market_subsidy_days": 450, "unemployed_months": 16, "case_worker_id": "cw-bus"}
                      | overrides).encode()


async def test_a_referral_over_the_bus_is_answered_and_a_resent_one_is_harmless(start_as_itself, connect_as, ops):
    intake = await start_as_itself(INTAKE)
    sender = await connect_as("referrals-kemi")
    first = json.loads((await sender.nc.request("polku.referrals.kemi", bus_referral(), timeout=5)).data)
    assert (first["status"], first["client_status"], first["period"]) == (201, "enrolled", 1)
    again = json.loads((await sender.nc.request("polku.referrals.kemi", bus_referral(), timeout=5)).data)
    assert first["replayed"] is False
    assert again == first | {"replayed": True}, "the same sender id: the same client, nothing new"
    async with intake.engine.connect() as connection:
        stored = (await connection.execute(select(events.c.event_type))).scalars().all()
    assert stored == ["ClientReferred", "EntryFactsRecorded", "EligibilityAssessed", "ClientEnrolled"]
    async with intake.engine.connect() as connection:
        audited = (await connection.execute(select(audit_log.c.actor, audit_log.c.action, audit_log.c.purpose))).all()
    assert audited == [("referrals-kemi", "change: ClientReferred, EntryFactsRecorded, EligibilityAssessed, "
                                          "ClientEnrolled", "referral TE-2026-0001 over the bus")]
    await eventually(lambda: _published(ops, "polku.events.kemi.intake.ClientEnrolled"),
                     what="the same events on the stream as an HTTP referral gives")
    assert sender.violations() == []


async def _published(ops, subject: str) -> bool:
    return await messages_on(ops, subject) == 1


@pytest.mark.parametrize(("body", "field", "rule"), [
    (bus_referral(municipality="Ke\u0000mi"), "municipality", "control characters"),
    (bus_referral(person={"name": "A Person", "personal_identity_code": "131052-308T"}), "person", "never travels"),
    (bus_referral(employment_area="tornio"), "employment_area", "must be kemi"),
    (bus_referral(client_id=str(uuid4())), "client_id", "no client"),
    (b"not json", "body", "JSON"),
])
async def test_a_refused_bus_referral_gets_a_reply_naming_field_and_rule(start_as_itself, connect_as, body, field,
                                                                          rule):
    intake = await start_as_itself(INTAKE)
    sender = await connect_as("referrals-kemi")
    answer = json.loads((await sender.nc.request("polku.referrals.kemi", body, timeout=5)).data)
    assert answer["status"] == 422
    assert [error["field"] for error in answer["errors"]][:1] == [field] and rule in answer["errors"][0]["rule"]
    async with intake.engine.connect() as connection:
        assert (await connection.execute(select(events.c.event_type))).scalars().all() == []


async def test_a_referral_sender_may_publish_on_its_own_area_subject_only(connect_as, ops):
    sender = await connect_as("referrals-kemi")
    for subject in ("polku.referrals.tornio", "polku.events.kemi.intake.ClientReferred"):
        await sender.nc.publish(subject, b"{}")
        await sender.nc.flush()
        assert await sender.refused("publish", subject)
    listener = await connect_as("referrals-tornio")
    await listener.nc.subscribe("polku.referrals.kemi")
    assert await listener.refused("subscription", "polku.referrals.kemi")


async def test_a_returning_client_is_referred_over_the_bus_under_its_client_id(start_as_itself, connect_as):
    await start_as_itself(INTAKE)
    sender = await connect_as("referrals-kemi")
    refused = json.loads((await sender.nc.request("polku.referrals.kemi", bus_referral(
        sender_referral_id="TE-1", labour_market_subsidy_days=10, unemployed_months=2), timeout=5)).data)
    assert (refused["status"], refused["client_status"], refused["period"]) == (201, "not_eligible", 1)
    again = json.loads((await sender.nc.request("polku.referrals.kemi", bus_referral(
        sender_referral_id="TE-2", client_id=refused["client_id"]), timeout=5)).data)
    assert (again["client_id"], again["client_status"], again["period"]) == (refused["client_id"], "enrolled", 2)
    other_area = json.loads((await (await connect_as("referrals-tornio")).nc.request(
        "polku.referrals.tornio", bus_referral(sender_referral_id="TE-3", employment_area="tornio",
                                               client_id=refused["client_id"]), timeout=5)).data)
    assert other_area["status"] == 422 and other_area["errors"][0]["field"] == "client_id"


async def test_a_referral_over_the_bus_and_then_over_http_with_the_same_sender_id_is_one_client(
        start_as_itself, connect_as):
    import aiohttp

    from services.platform.auth import issue_dev_token
    intake = await start_as_itself(INTAKE)
    sender = await connect_as("referrals-kemi")
    over_bus = json.loads((await sender.nc.request("polku.referrals.kemi", bus_referral(
        sender_referral_id="TE-BOTH-1"), timeout=5)).data)
    assert over_bus["status"] == 201 and over_bus["replayed"] is False
    token = issue_dev_token(intake.settings, "te-system", ["integration"], "kemi")
    body = json.loads(bus_referral(sender_referral_id="TE-BOTH-1"))
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http, \
            http.post(f"http://127.0.0.1:{intake.settings.http_port}/clients", json=body) as response:
        assert response.status == 201 and response.headers["Idempotent-Replayed"] == "true"
        assert (await response.json())["client_id"] == over_bus["client_id"]
    async with intake.engine.connect() as connection:
        referred = (await connection.execute(select(events.c.event_type).where(
            events.c.event_type == "ClientReferred"))).scalars().all()
    assert len(referred) == 1
