"""The base class of every event."""
from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    """A fact that happened, named in the past tense. Frozen: history is never rewritten.

    Events carry no personal data: a client is named by a random client id only.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: ClassVar[int] = 1
    service: ClassVar[str]
    aggregate_type: ClassVar[str]
