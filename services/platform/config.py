"""Configuration from environment variables; every default runs the embedded setup."""
import base64
import binascii
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICE_PORTS = {"intake": 8101, "pathway": 8102, "employer": 8103, "payroll_billing": 8104, "reporting": 8105}


class Settings(BaseSettings):
    """Read once at start. Every variable is documented in README.md, "Configuration"."""

    # hide_input_in_errors: an invalid secret (POLKU_MASTER_KEY, a password) never appears in the error.
    model_config = SettingsConfigDict(env_prefix="POLKU_", frozen=True, populate_by_name=True,
                                      hide_input_in_errors=True)

    service: str = Field(description="which service this process runs")
    var_dir: Path = Path("var")
    database_url: str | None = Field(default=None, description="default: SQLite file var/<service>.db")
    nats_url: str = Field(
        default="nats://127.0.0.1:4222", validation_alias=AliasChoices("POLKU_NATS_URL", "NATS_URL")
    )
    nats_user: str | None = Field(default=None, description="this service's own NATS user (deploy/nats/)")
    nats_password: str | None = None
    nats_tls_ca: Path | None = Field(default=None, description="the authority that signed the NATS nodes' "
                                     "certificates: connect with TLS (deploy/nats/node-tls.conf)")
    stream: str = "POLKU"
    dead_letter_stream: str = "POLKU_DEADLETTER"
    http_host: str = "127.0.0.1"
    http_port: int | None = Field(default=None, description="default: the service's port in SERVICE_PORTS")
    sqlite_busy_timeout_s: float = Field(default=30.0, gt=0, description="how long a SQLite statement waits for "
                                         "another writer's lock; then the consumer pauses as in an outage")
    max_deliver: int = Field(default=5, ge=1, description="deliveries before a message is dead-lettered")
    # 1+5+15+40 = 61 s of retries, longer than one redelivery after the ack wait (30 s): a message whose
    # holder died is back before another that failed beside it runs out of tries.
    nak_delays_s: tuple[float, ...] = Field(default=(1.0, 5.0, 15.0, 40.0), description="back-off before try 2, 3, …")
    max_ack_pending: int = Field(default=2000, ge=1, description="delivered but unacknowledged messages a consumer may have")
    ack_wait_s: float = Field(default=30.0, gt=0, description="redeliver a message not acked within this time")
    consumer_batch_size: int = Field(default=1000, ge=1, description="most events a consumer applies in one transaction")
    event_spans_up_to: int = Field(default=50, ge=0, description="a batch of more events (a consumer catching up) has "
                                   "one span linked to every event's trace instead of a span per event; "
                                   "a relay batch of more rows has one span")
    pull_wait_s: float = Field(default=5.0, gt=0, description="how long an idle consumer's pull waits before asking again")
    relay_batch_size: int = Field(default=1000, ge=1)
    relay_idle_poll_s: float = 1.0
    publish_timeout_s: float = 10.0
    relay_lease_s: float = Field(default=10.0, gt=0, description="an instance's hold on its outbox relay; "
                                 "another instance takes over this long after the holder died")
    idempotency_keys_kept_h: float = Field(default=24.0, gt=0, description="how long an Idempotency-Key and its "
                                           "answer are kept; after that the key is free again and deleted")
    idempotency_open_s: float = Field(default=30.0, gt=0, description="how long a claimed key without a kept answer "
                                      "counts as still answering (409); after that a retry gets 410, the change recorded")
    max_parked_s: float = Field(default=86400.0, gt=0, description="an event parked longer than this waiting for "
                                "a prerequisite is dead-lettered with the reason")
    retention_interval_s: float = Field(default=3600.0, gt=0, description="how often intake erases the personal "
                                        "data whose retention period ended (services/intake/retention.yaml)")
    local_traces: bool = Field(default=True, description="keep spans under var/traces/ for `polku trace`")
    local_traces_mb: float = Field(default=20.0, gt=0, description="size of a service's span file before it rolls over")
    trace_sql: bool = Field(default=False, description="a span for every SQL statement: for finding a slow query; "
                                                       "it costs a fifth of a consumer's CPU")
    log_level: str = "INFO"
    jwks_url: str | None = Field(default=None, description="the identity provider's JWKS; unset: the local dev key")
    jwt_issuer: str = Field(default="polku-local", description="the `iss` every token must carry")
    jwt_audience: str = Field(default="polku", description="the `aud` every token must carry")
    jwt_leeway_s: float = Field(default=30.0, ge=0, le=120, description="clock difference allowed in exp, nbf and iat")
    jwks_cache_s: float = Field(default=300.0, gt=0, description="how long the identity provider's keys are kept")
    signing_key_file: Path | None = Field(default=None, description="default: var/keys/jwt-es256.pem")
    master_key: SecretStr | None = Field(
        default=None, description="intake's vault master key, base64 of 32 random bytes; wraps every client's key. "
                                  "Default: var/keys/vault-master.key, created on first run")

    @field_validator("master_key")
    @classmethod
    def _master_key_is_32_bytes(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and master_key_bytes(value.get_secret_value()) is None:
            raise ValueError("must be the base64 of 32 random bytes, e.g. "
                             "`python -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())'`")
        return value

    @property
    def retry_budget_s(self) -> float:
        """The back-off a failing message gets before it is dead-lettered."""
        delays = self.nak_delays_s
        return sum(delays[min(attempt, len(delays) - 1)] for attempt in range(self.max_deliver - 1))

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.var_dir / self.service}.db"

    @property
    def resolved_signing_key_file(self) -> Path:
        return self.signing_key_file or self.var_dir / "keys" / "jwt-es256.pem"

    @property
    def resolved_master_key_file(self) -> Path:
        """Where the embedded default keeps the vault's master key when POLKU_MASTER_KEY is not set."""
        return self.var_dir / "keys" / "vault-master.key"

    @property
    def resolved_http_port(self) -> int:
        return self.http_port if self.http_port is not None else SERVICE_PORTS[self.service]


def master_key_bytes(text: str) -> bytes | None:
    """The 32 bytes of a base64 master key, or None when the text is not one."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if len(key) == 32 else None
