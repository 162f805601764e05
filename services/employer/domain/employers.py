"""The Employer aggregate: the registry entry of an employer and its partnership agreements."""
from dataclasses import dataclass, replace
from datetime import date, timedelta
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.events.base import Event
from contracts.events.employer import (AgreementEnding, AgreementScope, EmployerDetailsCorrected, EmployerRegistered,
                                       IndustryCode, PartnershipAgreementEnded, PartnershipAgreementSigned)
from contracts.values import AreaCode, BusinessId, EmployerType, Text, not_before
from services.platform.errors import RuleViolated, StateConflict
from services.platform.event_store import AggregateKind


class EmployerDetails(BaseModel):
    """What a coordinator may correct later; the Y-tunnus and the area are fixed at registration."""

    model_config = ConfigDict(extra="forbid")

    name: Text
    employer_type: EmployerType
    industry: IndustryCode | None = None
    municipality: Text | None = None


class RegisterEmployer(EmployerDetails):
    business_id: BusinessId
    employment_area: AreaCode


class SignAgreement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: tuple[AgreementScope, ...] = Field(min_length=1)
    valid_from: date
    valid_to: date

    @field_validator("scope")
    @classmethod
    def _each_scope_once(cls, scope: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(scope)) != len(scope):
            raise ValueError("each scope at most once")
        return scope

    _valid_to_not_before_valid_from = not_before("valid_from", "valid_to")


class EndAgreement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ended_on: date
    reason: AgreementEnding


@dataclass(frozen=True)
class Agreement:
    agreement_id: UUID
    scope: tuple[AgreementScope, ...]
    valid_from: date
    valid_to: date
    ended_on: date | None = None

    @property
    def last_day(self) -> date:
        return min(self.valid_to, self.ended_on - timedelta(days=1)) if self.ended_on else self.valid_to

    def covers(self, scope: str, day: date) -> bool:
        return scope in self.scope and self.valid_from <= day <= self.last_day


@dataclass(frozen=True)
class Employer:
    employer_id: UUID | None = None
    business_id: str = ""
    employment_area: str = ""
    details: EmployerDetails | None = None
    agreements: tuple[Agreement, ...] = ()

    @property
    def registered(self) -> bool:
        return self.details is not None

    def agreement_covering(self, scope: str, day: date) -> Agreement | None:
        return next((agreement for agreement in self.agreements if agreement.covers(scope, day)), None)


def evolve(employer: Employer, event: Event) -> Employer:
    match event:
        case EmployerRegistered():
            details = EmployerDetails(name=event.name, employer_type=event.employer_type, industry=event.industry,
                                      municipality=event.municipality)
            return Employer(employer_id=event.employer_id, business_id=event.business_id,
                            employment_area=event.employment_area, details=details)
        case EmployerDetailsCorrected():
            return replace(employer, details=EmployerDetails(
                name=event.name, employer_type=event.employer_type, industry=event.industry,
                municipality=event.municipality))
        case PartnershipAgreementSigned():
            agreement = Agreement(event.agreement_id, event.scope, event.valid_from, event.valid_to)
            return replace(employer, agreements=(*employer.agreements, agreement))
        case PartnershipAgreementEnded():
            return replace(employer, agreements=tuple(
                replace(agreement, ended_on=event.ended_on) if agreement.agreement_id == event.agreement_id
                else agreement for agreement in employer.agreements))
    return employer


EMPLOYER = AggregateKind("Employer", Employer(), evolve)


def register(employer: Employer, employer_id: UUID, command: RegisterEmployer) -> list[Event]:
    if employer.registered:
        raise StateConflict(f"employer {employer_id} is registered already")
    return [EmployerRegistered(employer_id=employer_id, **command.model_dump())]


def correct(employer: Employer, command: EmployerDetails) -> list[Event]:
    if command == employer.details:
        return []
    return [EmployerDetailsCorrected(employer_id=employer.employer_id, **command.model_dump())]


def sign_agreement(employer: Employer, agreement_id: UUID, command: SignAgreement) -> list[Event]:
    return [PartnershipAgreementSigned(employer_id=employer.employer_id, agreement_id=agreement_id,
                                       **command.model_dump())]


def end_agreement(employer: Employer, agreement_id: UUID, command: EndAgreement) -> list[Event]:
    agreement = next((each for each in employer.agreements if each.agreement_id == agreement_id), None)
    if agreement is None:
        raise StateConflict(f"employer {employer.employer_id} has no agreement {agreement_id}")
    if agreement.ended_on is not None:
        raise StateConflict(f"agreement {agreement_id} ended on {agreement.ended_on} already")
    if not agreement.valid_from < command.ended_on <= agreement.valid_to:
        raise RuleViolated("ended_on", f"an agreement valid {agreement.valid_from}..{agreement.valid_to} ends early "
                                       "on a day after valid_from and at most on valid_to")
    return [PartnershipAgreementEnded(employer_id=employer.employer_id, agreement_id=agreement_id,
                                      **command.model_dump())]
