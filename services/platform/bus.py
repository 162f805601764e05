"""The NATS JetStream bus: connecting, and creating the streams once from deploy/nats/streams.yaml."""
import logging
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nats
import yaml
from nats.aio.client import Client
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

STREAMS_FILE = Path(__file__).resolve().parents[2] / "deploy" / "nats" / "streams.yaml"
log = logging.getLogger(__name__)


def inbox_prefix(user: str | None) -> str:
    """The user's own inbox root: replies and pulled messages arrive on `<prefix>.<unique>`, and the
    NATS permissions (services/platform/nats_permissions.py) let a user read its own inbox only."""
    return f"_INBOX_{user}" if user else "_INBOX"


def seed_servers(url: str) -> list[str]:
    """POLKU_NATS_URL names one server or several, comma-separated: the client tries each in turn
    and then learns the rest of the cluster from the one that answers."""
    return [server.strip() for server in url.split(",") if server.strip()]


def tls_context(ca_file: Path | None) -> ssl.SSLContext | None:
    """With POLKU_NATS_TLS_CA: TLS to the nodes, whose certificates that authority signed (deploy/nats)."""
    return ssl.create_default_context(cafile=str(ca_file)) if ca_file else None


async def connect(url: str, name: str, user: str | None = None, password: str | None = None,
                  tls_ca: Path | None = None, **options) -> Client:
    """`url`: one or several seed servers (seed_servers); `tls_ca`: the authority of the nodes'
    certificates (TLS). `options` go to nats.connect (e.g. error_cb) and override the defaults here."""
    return await nats.connect(seed_servers(url), **{
        "name": name,
        "user": user,
        "password": password,
        "tls": tls_context(tls_ca),
        # A user receives replies on its own inbox, the only one its NATS permissions let it read.
        "inbox_prefix": inbox_prefix(user),
        "max_reconnect_attempts": -1,  # keep trying: a restarted server must not strand a service
        "reconnect_time_wait": 0.5,
        **options,
    })


def stream_configs(replicas: int | None = None, path: Path = STREAMS_FILE) -> list[StreamConfig]:
    """The stream settings of deploy/nats/streams.yaml; `replicas` overrides for a single node."""
    spec = yaml.safe_load(path.read_text())
    return [
        StreamConfig(
            name=stream["name"],
            description=stream["description"],
            subjects=stream["subjects"],
            storage=StorageType(stream["storage"]),
            retention=RetentionPolicy(stream["retention"]),
            num_replicas=replicas or stream["replicas"],
            max_age=stream["max_age_s"],
            duplicate_window=stream["duplicate_window_s"],
            deny_delete=stream["deny_delete"],
            deny_purge=stream["deny_purge"],
        )
        for stream in spec["streams"]
    ]


async def bootstrap_streams(nc: Client, replicas: int | None = None, update_existing: bool = True) -> list[str]:
    """Create or update Polku's streams. Run once per deployment, never by a service.

    `update_existing=False` only creates missing streams: for a developer pointing `polku run`
    at a server someone else configured.
    """
    js = nc.jetstream()
    names = []
    for config in stream_configs(replicas):
        try:
            await js.stream_info(config.name)
            if update_existing:
                await js.update_stream(config)
                log.info("stream updated", extra={"stream": config.name})
        except NotFoundError:
            await js.add_stream(config)
            log.info("stream created", extra={"stream": config.name})
        names.append(config.name)
    return names


class PlainHeaders:
    """The one method nats-py calls on its header parser (email.parser.BytesParser), for NATS headers.

    NATS headers are `Name: value` lines: no folding or encoding. Decoded and stripped as nats-py
    does; of a repeated name the last value wins, as in nats-py's own dict of the parsed headers.
    The email parser took a seventh of a consumer's time catching up (profiled, 2026-11).
    """

    @staticmethod
    def parsebytes(raw: bytes) -> dict[str, str]:
        headers = {}
        for line in raw.decode("ascii", "surrogateescape").split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip()] = value.strip()
        return headers


def parse_headers_plainly(nc: Client) -> object | None:
    """Swap nats-py's (private, pinned version) header parser; returns the one it had, None where a
    nats-py has no such attribute (it then parses as before, only slower)."""
    original = getattr(nc, "_hdr_parser", None)
    if original is not None:
        nc._hdr_parser = PlainHeaders()
    return original


@contextmanager
def plain_header_parsing(nc: Client) -> Iterator[None]:
    """The plain parser while reading, for a connection that is not ours to change for good."""
    original = parse_headers_plainly(nc)
    try:
        yield
    finally:
        if original is not None:
            nc._hdr_parser = original
