"""The CloudEvents 1.0 envelope every event travels in, and the subjects it travels on."""
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.values import AreaCode

SUBJECT_ROOT = "polku.events"
ALL_EVENTS = f"{SUBJECT_ROOT}.>"


class EventEnvelope(BaseModel):
    """CloudEvents 1.0 attributes plus Polku's extensions (lower-case, as CloudEvents requires).

    Sent in structured mode: this whole object is the message body; `id` is also the
    `Nats-Msg-Id` header, so JetStream drops a duplicate publish inside its window.
    """

    # The published schema says what every envelope carries: specversion (required by CloudEvents)
    # and the attributes with defaults are always written, so they are required there too.
    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_serialization_defaults_required=True)

    specversion: Literal["1.0"] = "1.0"
    id: UUID
    source: str = Field(description="/polku/<service>")
    type: str = Field(description="the event's class name, e.g. ClientEnrolled")
    time: AwareDatetime = Field(description="when the event was recorded, with its UTC offset")
    subject: str = Field(description="the aggregate id")
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str = Field(pattern=r"^urn:polku:event:[A-Za-z][A-Za-z0-9]*:\d+$",
                            description="urn:polku:event:<type>:<schema version>")
    aggregatetype: str
    aggregateid: str
    aggregateversion: int = Field(ge=1)
    employmentarea: AreaCode
    correlationid: UUID
    causationid: UUID | None = None
    traceparent: str | None = None
    data: dict[str, Any]

    @property
    def service(self) -> str:
        return self.source.rsplit("/", 1)[-1]

    @property
    def schema_version(self) -> int:
        return int(self.dataschema.rsplit(":", 1)[-1])

    @property
    def nats_subject(self) -> str:
        return event_subject(self.employmentarea, self.service, self.type)


def event_subject(area: str = "*", service: str = "*", event_type: str = "*") -> str:
    """polku.events.<area>.<service>.<type>: one filter takes a type, a service or an area."""
    return f"{SUBJECT_ROOT}.{area}.{service}.{event_type}"


def dataschema_for(event_type: str, schema_version: int) -> str:
    return f"urn:polku:event:{event_type}:{schema_version}"
