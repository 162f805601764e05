"""The Client aggregate: pure functions that decide events from a command and the current state.

Personal data (name, personal identity code, contact details, notes) is part of a command only: it
goes to intake's vault (services/intake/vault.py), never into an event. The rules about who may
see or share it are here, as pure functions of the client's state and the caller.
"""
import re
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Annotated, Literal
from uuid import UUID

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from stdnum.exceptions import InvalidChecksum, InvalidComponent
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.fi import hetu

from contracts.events.base import Event
from contracts.events.intake import (ClientDataErased, ClientEnrolled, ClientReferred, ConsentRecorded, ConsentScope,
                                     ConsentWithdrawn, EligibilityAssessed, Partner, TargetGroup)
from contracts.values import AgeBand, AreaCode, Gender
from services.platform.auth import Principal
from services.platform.errors import Forbidden, Gone, NotFound, RuleViolated, StateConflict
from services.platform.event_store import AggregateKind

# --- personal data ----------------------------------------------------------------------------------

HETU_FORMAT = ("DDMMYY, a century sign (+ for the 1800s; -, Y, X, W, V or U for the 1900s; A, B, C, D, E or F "
               "for the 2000s), a three-digit individual number and a check character, e.g. 131052-308T")
CENTURIES = {"+": 1800, **dict.fromkeys("-YXWVU", 1900), **dict.fromkeys("ABCDEF", 2000)}


def _valid_personal_identity_code(value: str) -> str:
    """Henkilötunnus, checked by python-stdnum (which knows the century signs added in 2023) and
    normalised to upper case. The error names the rule broken, never the value."""
    try:
        return hetu.validate(value)
    except InvalidChecksum:
        rule = "the check character does not match the birth date and individual number (mod 31)"
    except InvalidComponent:
        rule = _broken_component(hetu.compact(value))
    except StdnumValidationError:
        rule = f"wrong format: must be {HETU_FORMAT}"
    raise ValueError(f"not a valid personal identity code (henkilötunnus): {rule}")


def _broken_component(code: str) -> str:
    """stdnum says only "invalid component": which one, for the error."""
    try:
        date(CENTURIES[code[6]] + int(code[4:6]), int(code[2:4]), int(code[0:2]))
    except ValueError:
        return "the birth date (DDMMYY and the century sign) is not a calendar date"
    if int(code[7:10]) >= 900:
        return "individual numbers 900-999 are temporary identifiers, not personal identity codes"
    return "the individual number must be from 002 to 899"


PersonalIdentityCode = Annotated[str, AfterValidator(_valid_personal_identity_code), Field(
    description=f"Finnish personal identity code (henkilötunnus): {HETU_FORMAT}", examples=["131052-308T"])]


def _matching(pattern: str, rule: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(rule)
        return value

    return AfterValidator(check)


Email = Annotated[str, Field(max_length=254),
                  _matching(r"[^@\s]+@[^@\s]+\.[^@\s]+", "must be an e-mail address, name@domain")]
Phone = Annotated[str, _matching(r"\+?[0-9][0-9 -]{4,19}", "must be a phone number: 5 to 20 digits, spaces and "
                                                            "hyphens, optionally after a +")]


class PersonalData(BaseModel):
    """Who the client is (henkilötiedot). Kept only in intake's vault, encrypted with the client's own
    key; never in an event, a log or an error. No field shows in repr() and a validation error never
    quotes the input, so a logged object or error reveals nothing."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, hide_input_in_errors=True)

    name: str = Field(min_length=1, max_length=200, repr=False)
    personal_identity_code: PersonalIdentityCode = Field(repr=False)
    email: Email | None = Field(default=None, repr=False, description="an e-mail address, name@domain")
    phone: Phone | None = Field(default=None, repr=False, description="a phone number, e.g. +358 40 123 4567")
    notes: str | None = Field(default=None, max_length=4000, repr=False,
                              description="the case worker's free-text notes; never shared with partners")


# What each consent scope lets intake share. Free-text notes are never shared.
SHARED_FIELDS: dict[str, tuple[str, ...]] = {
    "contact_details": ("name", "email", "phone"),
    "personal_data": ("name", "personal_identity_code"),
}


# --- commands ---------------------------------------------------------------------------------------

class ReferClient(BaseModel):
    """A referral from the TE office, the city or the client; only anonymous facts leave intake.

    `person`, when given, is kept in intake's vault (encrypted for this client only)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    employment_area: AreaCode
    municipality: str = Field(min_length=1, max_length=100)
    referred_by: Literal["te_office", "city", "self", "other"]
    age: int = Field(ge=15, le=70)
    gender: Gender
    labour_market_subsidy_days: int = Field(ge=0, le=20000)
    unemployed_months: int = Field(ge=0, le=600)
    in_multisectoral_service: bool = False
    partially_able_to_work: bool = False
    case_worker_id: str = Field(min_length=1, max_length=64)
    referred_on: date | None = None
    person: PersonalData | None = None


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

    @field_validator("valid_to")
    @classmethod
    def _not_before_valid_from(cls, valid_to: date, info: ValidationInfo) -> date:
        valid_from = info.data.get("valid_from")
        if valid_from is not None and valid_to < valid_from:
            raise ValueError("must not be before valid_from")
        return valid_to


class EraseClientData(BaseModel):
    """Erase the client's personal data (crypto-shredding); the anonymous history stays."""

    model_config = ConfigDict(extra="forbid")

    reason: Literal["client_request", "retention_period_ended"]


class EligibilityRule(BaseModel):
    criterion: str
    description: str
    measure: Literal["labour_market_subsidy_days", "unemployed_months", "in_multisectoral_service"]
    more_than: int | None
    source: str
    valid_from: date
    valid_to: date | None

    def in_force(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def matches(self, referral: ReferClient) -> bool:
        value = getattr(referral, self.measure)
        return bool(value) if self.more_than is None else value > self.more_than


RULES = [EligibilityRule.model_validate(rule)
         for rule in yaml.safe_load((Path(__file__).parent / "eligibility_rules.yaml").read_text())]


@dataclass(frozen=True)
class Consent:
    consent_id: UUID
    partner: str
    scope: tuple[str, ...]
    valid_from: date
    valid_to: date
    recorded_on: date
    withdrawn_on: date | None = None

    def covers(self, partner: str, scope: str, day: date) -> bool:
        """In force on `day` for this partner and scope: within its dates and not withdrawn by then."""
        return (self.partner == partner and scope in self.scope and self.valid_from <= day <= self.valid_to
                and (self.withdrawn_on is None or day < self.withdrawn_on))


@dataclass(frozen=True)
class Client:
    status: Literal["new", "referred", "enrolled"] = "new"
    employment_area: str | None = None
    criterion: str | None = None
    case_worker_id: str | None = None
    erased_on: date | None = None
    consents: tuple[Consent, ...] = ()


def evolve(client: Client, event: Event) -> Client:
    match event:
        case ClientReferred():
            return replace(client, status="referred", employment_area=event.employment_area)
        case EligibilityAssessed():
            return replace(client, criterion=event.criterion)
        case ClientEnrolled():
            return replace(client, status="enrolled", case_worker_id=event.case_worker_id)
        case ClientDataErased():
            return replace(client, erased_on=event.erased_on)
        case ConsentRecorded():
            consent = Consent(event.consent_id, event.partner, event.scope, event.valid_from, event.valid_to,
                              event.recorded_on)
            return replace(client, consents=(*client.consents, consent))
        case ConsentWithdrawn():
            return replace(client, consents=tuple(
                replace(consent, withdrawn_on=event.withdrawn_on) if consent.consent_id == event.consent_id
                else consent for consent in client.consents))
    return client


CLIENT = AggregateKind("Client", Client(), evolve)


def age_band(age: int) -> AgeBand:
    if age < 25:
        return "under_25"
    if age < 30:
        return "25_29"
    return "30_54" if age < 55 else "55_plus"


def target_groups(referral: ReferClient, eligible: bool) -> tuple[TargetGroup, ...]:
    groups: list[TargetGroup] = []
    if referral.unemployed_months >= 12:
        groups.append("long_term_unemployed")
    if eligible:
        groups.append("structurally_unemployed")
    if referral.age < 30:
        groups.append("youth")
    if referral.age > 54:
        groups.append("over_54")
    if referral.partially_able_to_work:
        groups.append("partially_able_to_work")
    return tuple(groups)


def refer(client: Client, client_id, referral: ReferClient, today: date, rules=RULES) -> list[Event]:
    """Referral, eligibility decision and, when a rule matches, enrolment with a named case worker."""
    if client.status != "new":
        raise StateConflict(f"client {client_id} was referred already")
    day = referral.referred_on or today
    matched = next((rule for rule in rules if rule.in_force(day) and rule.matches(referral)), None)
    events: list[Event] = [
        ClientReferred(client_id=client_id, referred_by=referral.referred_by, employment_area=referral.employment_area,
                       municipality=referral.municipality, age_band=age_band(referral.age), gender=referral.gender,
                       referred_on=day),
        EligibilityAssessed(client_id=client_id, eligible=matched is not None,
                            criterion=matched.criterion if matched else None,
                            rule_source=matched.source if matched else None,
                            target_groups=target_groups(referral, matched is not None)),
    ]
    if matched:
        events.append(ClientEnrolled(client_id=client_id, case_worker_id=referral.case_worker_id, enrolled_on=day))
    return events


# --- personal data: who may see it, consent and erasure -------------------------------------------

def _existing(client: Client, client_id) -> None:
    if client.status == "new":
        raise NotFound(f"no client {client_id}")


def ensure_own_client(client: Client, client_id, actor: Principal) -> None:
    """A case worker sees and handles the personal data of their own clients only."""
    _existing(client, client_id)
    if client.case_worker_id is None:
        raise Forbidden(f"client {client_id} has no case worker (not enrolled): nobody handles their personal data")
    if client.case_worker_id != actor.user_id:
        raise Forbidden(f"client {client_id} is not a client of case worker {actor.user_id}; "
                        "a case worker sees the personal data of their own clients only")


def _not_erased(client: Client, client_id) -> None:
    if client.erased_on is not None:
        raise Gone(f"the personal data of client {client_id} was erased on {client.erased_on.isoformat()}; "
                   "the anonymous history of the client remains")


def read_personal_data(client: Client, client_id, actor: Principal) -> None:
    """Raises unless the actor may read the client's personal data now."""
    ensure_own_client(client, client_id, actor)
    _not_erased(client, client_id)


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
    _existing(client, client_id)
    _not_erased(client, client_id)
    missing = [scope for scope in scopes
               if not any(consent.covers(partner, scope, today) for consent in client.consents)]
    if missing:
        raise Forbidden(f"client {client_id} has no consent in force on {today.isoformat()} to share "
                        f"{' or '.join(missing)} with {partner}")
    return [consent for consent in client.consents if any(consent.covers(partner, scope, today) for scope in scopes)]


def erase(client: Client, client_id, actor: Principal, command: EraseClientData, today: date) -> list[Event]:
    """A manager (within their area) or the client's own case worker may erase; once is enough."""
    if "manager" in actor.roles:
        _existing(client, client_id)
    else:
        ensure_own_client(client, client_id, actor)
    if client.erased_on is not None:
        raise StateConflict(f"the personal data of client {client_id} was erased already on "
                            f"{client.erased_on.isoformat()}")
    return [ClientDataErased(client_id=client_id, reason=command.reason, erased_on=today)]
