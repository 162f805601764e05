"""Personal data of a client: who may read it, the client's consents to share it, and erasure."""
from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.events.base import Event
from contracts.values import not_before
from contracts.events.intake import ClientDataErased, ConsentRecorded, ConsentScope, ConsentWithdrawn, Partner
from services.intake.domain.client import Client, Consent, ensure_own_client, existing, not_erased
from services.platform.auth import Principal
from services.platform.errors import Forbidden, NotFound, RuleViolated, StateConflict


class RecordConsent(BaseModel):
    """The client's consent (suostumus) to share some personal data with one partner for a while."""

    model_config = ConfigDict(extra="forbid")

    partner: Partner
    scope: list[ConsentScope] = Field(min_length=1, description="contact_details: name, e-mail and phone; "
                                                                 "personal_data: name and personal identity code")
    valid_from: date
    valid_to: date = Field(description="the last day the consent is in force")

    @field_validator("scope")
    @classmethod
    def _each_scope_once(cls, scope: list[str]) -> list[str]:
        if len(set(scope)) != len(scope):
            raise ValueError("name each scope at most once")
        return scope

    _valid_to_not_before_valid_from = not_before("valid_from", "valid_to")


class EraseClientData(BaseModel):
    """Erase the client's personal data (crypto-shredding); the anonymous history stays."""

    model_config = ConfigDict(extra="forbid")

    reason: Literal["client_request", "retention_period_ended"]


def read_personal_data(client: Client, client_id, actor: Principal) -> None:
    """Raises unless the actor may read the client's personal data now."""
    ensure_own_client(client, client_id, actor)
    not_erased(client, client_id)


def store_personal_data(client: Client, client_id, actor: Principal) -> None:
    """The referring system (a referral over the bus sends the person this way) or the own case worker
    gives or corrects the person; never after an erasure."""
    if "integration" in actor.roles:
        existing(client, client_id)
    else:
        ensure_own_client(client, client_id, actor)
    not_erased(client, client_id)


def record_consent(client: Client, client_id, consent_id: UUID, actor: Principal, command: RecordConsent,
                   today: date) -> list[Event]:
    ensure_own_client(client, client_id, actor)
    if client.erased_on is not None:
        raise StateConflict(f"the personal data of client {client_id} was erased on {client.erased_on.isoformat()}: "
                            "there is nothing left to share")
    if command.valid_to < today:
        raise RuleViolated("valid_to", "must not be in the past: the consent would never be in force")
    return [ConsentRecorded(client_id=client_id, consent_id=consent_id, partner=command.partner,
                            scope=tuple(command.scope), valid_from=command.valid_from, valid_to=command.valid_to,
                            recorded_on=today)]


def withdraw_consent(client: Client, client_id, consent_id: UUID, actor: Principal, today: date) -> list[Event]:
    """Effective at once: nothing is shared under the consent from today on."""
    ensure_own_client(client, client_id, actor)
    consent = next((consent for consent in client.consents if consent.consent_id == consent_id), None)
    if consent is None:
        raise NotFound(f"client {client_id} has no consent {consent_id}")
    if consent.withdrawn_on is not None:
        raise StateConflict(f"consent {consent_id} was withdrawn already on {consent.withdrawn_on.isoformat()}")
    return [ConsentWithdrawn(client_id=client_id, consent_id=consent_id, withdrawn_on=today)]


def consents_to_share(client: Client, client_id, partner: str, scopes: list[str], today: date) -> list[Consent]:
    """The consents under which every scope may be shared with the partner today; Forbidden naming the
    scopes that no consent in force covers."""
    existing(client, client_id)
    not_erased(client, client_id)
    missing = [scope for scope in scopes
               if not any(consent.covers(partner, scope, today) for consent in client.consents)]
    if missing:
        raise Forbidden(f"client {client_id} has no consent in force on {today.isoformat()} to share "
                        f"{' or '.join(missing)} with {partner}")
    return [consent for consent in client.consents if any(consent.covers(partner, scope, today) for scope in scopes)]


def erase(client: Client, client_id, actor: Principal, command: EraseClientData, today: date) -> list[Event]:
    """A manager (within their area) or the client's own case worker may erase; once is enough."""
    if "manager" in actor.roles:
        existing(client, client_id)
    else:
        ensure_own_client(client, client_id, actor)
    if client.erased_on is not None:
        raise StateConflict(f"the personal data of client {client_id} was erased already on "
                            f"{client.erased_on.isoformat()}")
    return [ClientDataErased(client_id=client_id, reason=command.reason, erased_on=today)]


def erase_after_retention(client: Client, client_id, today: date, referred_by: date) -> list[Event]:
    """The retention period of a referral that never led to an enrolment ended: a client never enrolled
    in any period, last referred on or before `referred_by`, and not erased yet, is erased."""
    if client.erased_on is not None or not client.periods:
        return []
    if any(period.enrolled_on is not None for period in client.periods) or client.current.referred_on > referred_by:
        return []
    return [ClientDataErased(client_id=client_id, reason="retention_period_ended", erased_on=today)]
