"""Events of the employer service (the Employer and Placement aggregates)."""
from datetime import date
from typing import ClassVar, Literal
from uuid import UUID

from contracts.events.base import Event
from contracts.values import AreaCode, BusinessId, EmployerType, Money

PlacementKind = Literal["pay_subsidised_work", "work_trial", "gig_work", "apprenticeship", "open_market"]


class EmployerRegistered(Event):
    """An employer (työnantaja) was registered; organisations are not personal data."""

    service: ClassVar[str] = "employer"
    aggregate_type: ClassVar[str] = "Employer"
    employer_id: UUID
    business_id: BusinessId
    name: str
    employer_type: EmployerType
    employment_area: AreaCode


class PlacementStarted(Event):
    """A client started work at an employer; the foundation bills `hourly_billing_rate` for gig work."""

    service: ClassVar[str] = "employer"
    aggregate_type: ClassVar[str] = "Placement"
    placement_id: UUID
    client_id: UUID
    employer_id: UUID
    employer_type: EmployerType
    kind: PlacementKind
    starts_on: date
    hourly_billing_rate: Money
