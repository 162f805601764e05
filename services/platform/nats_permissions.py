"""NATS users and what each may publish and subscribe to, from the code's own knowledge of the services.

One user per service, one read-only user per employment area for reporting consumers outside
the system, and `ops` for bootstrap and the operations commands. `users()` is the one source:
`make run` writes it with random passwords into var/nats/ (`write_embedded_config`), and
deploy/nats/users.conf is generated from it with passwords taken from environment variables
(`python -m services.platform.nats_permissions` rewrites the file, `--check` fails when it is
stale; tests/unit/test_deploy.py runs the check).

What a user may do is a list of subjects, so the rules follow the subjects the clients send:

- events: `polku.events.<area>.<service>.<EventType>`; a service publishes `polku.events.*.<service>.>`
  only, so it cannot publish another service's events; a dead letter goes to
  `polku.deadletter.<consumer>`.
- JetStream API: a service's durable consumer is created by `polku bootstrap` (ops) with the
  service's filter (`services.platform.consumer.create_durable_consumers`). The service itself
  may only look it up (`$JS.API.CONSUMER.INFO.<stream>.<consumer>`, which nats-py's
  pull_subscribe does first and then skips the create), pull from it
  (`$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>`) and ack/nak/term
  (`$JS.ACK.<stream>.<consumer>.>`); `/ready` asks `$JS.API.STREAM.INFO.<stream>`. It may not
  create or change a consumer: a consumer of several filter subjects is created on
  `$JS.API.CONSUMER.CREATE.<stream>.<consumer>` with the filters only in the request body, which a
  permission cannot see, so a service allowed to create its consumer could widen its filter to
  every event.
- an area consumer (`reporting-<area>`) is created by `polku bootstrap` too, as a pull consumer
  filtered to `polku.events.<area>.>` (`area_consumer_config`); its user may look it up, pull and
  ack, and neither create, change nor delete a consumer: one allowed to create its own could make
  it a push consumer with any `deliver_subject`, and the server would then publish the area's
  events to whoever listens there. It gets no `$JS.API.STREAM.MSG.GET`, `$JS.API.DIRECT.GET` or
  `$JS.API.STREAM.INFO` (which would read or count messages of every area) and may publish
  nothing else.
- replies: every client receives its JetStream replies and pulled messages on an inbox. Each
  user has its own inbox prefix (`_INBOX_<user>`; `bus.connect` and the service runtime set it)
  and may subscribe to nothing else, so no user can read another's pulled messages or
  subscribe to the event subjects directly.
"""
import argparse
import importlib
import json
import secrets
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from contracts.envelope import SUBJECT_ROOT, event_subject
from services.areas import areas
from services.platform.bus import inbox_prefix
from services.platform.config import SERVICE_PORTS, Settings
from services.platform.dead_letters import DEAD_LETTER_ROOT
from services.platform.key_files import write_private

if TYPE_CHECKING:
    from nats.js.api import ConsumerConfig

    from services.platform.consumer import Subscription

OPS_USER = "ops"
# Employment areas whose TE-office and city systems send referrals over the bus, each as the user
# `referrals-<area>`, which may publish on `polku.referrals.<area>` only (intake answers there); and
# that have a read-only reporting consumer user, `reporting-<area>`: every area of services/areas.yaml.
# Add an area there and regenerate deploy/nats/users.conf.
REFERRAL_AREAS = tuple(areas())
REFERRAL_ROOT = "polku.referrals"
REPORTING_AREAS = tuple(areas())
DEPLOY_USERS_FILE = Path(__file__).resolve().parents[2] / "deploy" / "nats" / "users.conf"
EMBEDDED_CONFIG = "auth.conf"
EMBEDDED_CREDENTIALS = "credentials.json"


@dataclass(frozen=True)
class NatsUser:
    """A user and its permissions; `publish`/`subscribe` None means unrestricted (ops only)."""

    name: str
    description: str
    publish: tuple[str, ...] | None = None
    subscribe: tuple[str, ...] | None = None


def area_consumer_user(area: str) -> str:
    return f"reporting-{area}"


def area_filter(area: str) -> str:
    """Every event of one employment area: the only filter an area consumer may have."""
    return f"{SUBJECT_ROOT}.{area}.>"


def area_consumer_config(area: str) -> "ConsumerConfig":
    """The durable pull consumer of an area's reporting user, as `polku bootstrap` creates it: no
    deliver_subject, so the server sends its messages only to whoever pulls as that user."""
    from nats.js.api import AckPolicy, ConsumerConfig

    name = area_consumer_user(area)
    return ConsumerConfig(name=name, durable_name=name, filter_subject=area_filter(area), ack_policy=AckPolicy.EXPLICIT)


def password_variable(user: str) -> str:
    """The environment variable deploy/nats/users.conf takes the user's password from."""
    return f"POLKU_NATS_{user.upper().replace('-', '_')}_PASSWORD"


def _subscriptions_by_service() -> dict[str, "Subscription | None"]:
    return {service: importlib.import_module(f"services.{service}.service").SERVICE.subscription
            for service in SERVICE_PORTS}


def service_subscriptions() -> list["Subscription"]:
    """What the services consume, from their ServiceDefinitions: the durable consumers bootstrap creates."""
    return [subscription for subscription in _subscriptions_by_service().values() if subscription]


def consumers_by_service() -> dict[str, str | None]:
    """Each service's durable consumer name (None: consumes nothing)."""
    return {service: subscription.consumer if subscription else None
            for service, subscription in _subscriptions_by_service().items()}


def referrals_user(area: str) -> str:
    return f"referrals-{area}"


def referral_sender(area: str) -> NatsUser:
    name = referrals_user(area)
    return NatsUser(name, f"a TE-office or city system of employment area {area}: sends referrals to intake on "
                          f"{REFERRAL_ROOT}.{area} and reads the answers on its own inbox",
                    (f"{REFERRAL_ROOT}.{area}",), (f"{inbox_prefix(name)}.>",))


def service_user(service: str, consumer: str | None, stream: str,
                 referral_areas: Iterable[str] = REFERRAL_AREAS) -> NatsUser:
    publish = [event_subject("*", service, ">"), f"$JS.API.STREAM.INFO.{stream}"]
    subscribe = [f"{inbox_prefix(service)}.>"]
    if service == "intake":  # answers referrals on the bus, each on its sender's own inbox
        subscribe.append(f"{REFERRAL_ROOT}.*")
        publish += [f"{inbox_prefix(referrals_user(area))}.>" for area in referral_areas]
    if consumer:
        publish += [
            f"$JS.API.CONSUMER.INFO.{stream}.{consumer}",
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}",
            f"$JS.ACK.{stream}.{consumer}.>",
            f"{DEAD_LETTER_ROOT}.{consumer}",
        ]
    what = f"consumes through its durable consumer {consumer}" if consumer else "consumes nothing"
    return NatsUser(service, f"service {service}: publishes its own events, {what}",
                    tuple(publish), tuple(subscribe))


def area_user(area: str, stream: str) -> NatsUser:
    name = area_consumer_user(area)
    return NatsUser(
        name, f"read-only reporting consumer of employment area {area}: one durable consumer, "
              f"named {name}, filtered to {area_filter(area)}",
        (
            f"$JS.API.CONSUMER.INFO.{stream}.{name}",
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{name}",
            f"$JS.ACK.{stream}.{name}.>",
        ),
        (f"{inbox_prefix(name)}.>",),
    )


def users(consumers: Mapping[str, str | None] | None = None, areas: Iterable[str] = REPORTING_AREAS,
          stream: str = Settings.model_fields["stream"].default) -> list[NatsUser]:
    consumers = consumers_by_service() if consumers is None else consumers
    return [
        NatsUser(OPS_USER, "operations: polku bootstrap, dead-letters, rebuild; everything"),
        *(service_user(service, consumer, stream) for service, consumer in consumers.items()),
        *(area_user(area, stream) for area in areas),
        *(referral_sender(area) for area in REFERRAL_AREAS),
    ]


# --- nats-server configuration ------------------------------------------------------------------

def _quoted(value: str) -> str:
    return json.dumps(value)


def authorization_block(all_users: Iterable[NatsUser], passwords: Mapping[str, str] | None = None) -> str:
    """An `authorization { users: [...] }` block; passwords given literally, else `$POLKU_NATS_<USER>_PASSWORD`.

    The users stay in the global account, where JetStream is enabled by the server's `jetstream`
    block and where existing stores already keep the streams.
    """
    lines = ["authorization {", "  users: ["]
    for user in all_users:
        password = _quoted(passwords[user.name]) if passwords is not None else f"${password_variable(user.name)}"
        lines += [f"    # {user.description}", "    {", f"      user: {_quoted(user.name)}",
                  f"      password: {password}"]
        if user.publish is not None or user.subscribe is not None:
            lines.append("      permissions: {")
            for kind, subjects in (("publish", user.publish), ("subscribe", user.subscribe)):
                if subjects is not None:
                    lines += [f"        {kind}: {{ allow: [", *(f"          {_quoted(subject)}" for subject in subjects),
                              "        ] }"]
            lines.append("      }")
        lines.append("    }")
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def deploy_users_conf(all_users: Iterable[NatsUser] | None = None) -> str:
    return (
        "# GENERATED by `python -m services.platform.nats_permissions` from\n"
        "# services/platform/nats_permissions.py: do not edit; tests/unit/test_deploy.py fails when stale.\n"
        "# One NATS user per service, per employment area's reporting consumer, and ops; each password\n"
        "# comes from the environment variable POLKU_NATS_<USER>_PASSWORD (docker-compose.yml).\n"
        + authorization_block(users() if all_users is None else all_users)
    )


# --- the embedded default (`make run`) -----------------------------------------------------------

def embedded_credentials(directory: Path, names: Iterable[str]) -> dict[str, str]:
    """Random passwords, made on first use and kept in `<directory>/credentials.json` (mode 0600)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / EMBEDDED_CREDENTIALS
    credentials = json.loads(path.read_text()) if path.exists() else {}
    missing = [name for name in names if name not in credentials]
    if missing:
        credentials |= {name: secrets.token_urlsafe(24) for name in missing}
        write_private(path, (json.dumps(credentials, indent=2) + "\n").encode())
    return credentials


def write_embedded_config(directory: Path, all_users: list[NatsUser] | None = None) -> tuple[Path, dict[str, str]]:
    """The nats-server config of `make run` (mode 0600) and every user's password."""
    all_users = users() if all_users is None else all_users
    credentials = embedded_credentials(directory, [user.name for user in all_users])
    path = directory / EMBEDDED_CONFIG
    write_private(path, ("# Written by `polku run` from services/platform/nats_permissions.py on every start.\n"
                         + authorization_block(all_users, credentials)).encode())
    return path, credentials


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="write deploy/nats/users.conf from the services' own knowledge")
    parser.add_argument("--check", action="store_true", help="fail when the committed file is stale")
    args = parser.parse_args(argv)
    wanted = deploy_users_conf()
    if args.check:
        if not DEPLOY_USERS_FILE.exists() or DEPLOY_USERS_FILE.read_text() != wanted:
            print(f"{DEPLOY_USERS_FILE} is stale: run python -m services.platform.nats_permissions", file=sys.stderr)
            return 1
        return 0
    DEPLOY_USERS_FILE.write_text(wanted)
    print(f"wrote {DEPLOY_USERS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
