"""Events of the intake service (the Client aggregate)."""
from datetime import date
from typing import ClassVar, Literal
from uuid import UUID

from contracts.events.base import Event
from contracts.values import AgeBand, AreaCode, Gender

TargetGroup = Literal["long_term_unemployed", "structurally_unemployed", "youth", "over_54", "partially_able_to_work"]


class ClientEvent(Event):
    service: ClassVar[str] = "intake"
    aggregate_type: ClassVar[str] = "Client"
    client_id: UUID


class ClientReferred(ClientEvent):
    """A job seeker (työnhakija-asiakas) was referred to the employment services."""

    referred_by: Literal["te_office", "city", "self", "other"]
    employment_area: AreaCode
    municipality: str
    age_band: AgeBand
    gender: Gender
    referred_on: date


class EligibilityAssessed(ClientEvent):
    """Eligibility was decided; `criterion` names the rule that matched, so it can be explained."""

    eligible: bool
    criterion: str | None
    rule_source: str | None
    target_groups: tuple[TargetGroup, ...]


class ClientEnrolled(ClientEvent):
    """The client was enrolled and got one named case worker (oma työntekijä)."""

    case_worker_id: str
    enrolled_on: date


Partner = Literal["te_office", "foundation", "education_provider"]
# What a consent lets intake share: contact_details = name, e-mail and phone; personal_data = name and
# personal identity code. Free-text notes are never shared.
ConsentScope = Literal["contact_details", "personal_data"]


class ClientDataErased(ClientEvent):
    """The client's personal data was erased (crypto-shredded): intake deleted the client's key and the
    encrypted data from its vault. The anonymous history of the client stays as it was."""

    reason: Literal["client_request", "retention_period_ended"]
    erased_on: date


class ConsentRecorded(ClientEvent):
    """The client consented (suostumus) to intake sharing some of their personal data with a partner
    from `valid_from` to `valid_to`, both days included. The data itself never travels on the bus."""

    consent_id: UUID
    partner: Partner
    scope: tuple[ConsentScope, ...]
    valid_from: date
    valid_to: date
    recorded_on: date


class ConsentWithdrawn(ClientEvent):
    """The client withdrew a consent; nothing is shared under it from `withdrawn_on` on."""

    consent_id: UUID
    withdrawn_on: date
