"""What the employer service knows of a client: anonymous facts from intake's and pathway's events.

Kept to check a placement (the client is enrolled, in the employer's area) and to match clients
to work. Never a name or an identity code: those stay in intake's vault.
"""
from dataclasses import dataclass, field
from uuid import UUID

from services.platform.errors import RuleViolated


@dataclass(frozen=True)
class ClientFacts:
    client_id: UUID
    employment_area: str
    enrolled: bool = False
    exited: bool = False
    case_worker_id: str | None = None
    municipality: str | None = None
    age_band: str | None = None
    months_unemployed: int | None = None
    priority_groups: tuple[str, ...] = ()
    skill_tags: frozenset[str] = field(default_factory=frozenset)
    hours_in_steps: int = 0  # hours a week the client's current pathway steps take; 0 when free


def ensure_placeable(client: ClientFacts | None, client_id: UUID, area: str) -> ClientFacts:
    """A placement is for an enrolled client of the employer's own area, who has not left."""
    if client is None or client.employment_area != area:
        raise RuleViolated("client_id", f"client {client_id} is not a client of employment area {area}")
    if client.exited:
        raise RuleViolated("client_id", f"client {client_id} has left the services; refer them again first")
    if not client.enrolled:
        raise RuleViolated("client_id", f"client {client_id} is not enrolled")
    return client
