"""A referral: a new client, or a returning one starting a new enrolment period. Eligibility for the
named programme is decided at once (programmes.py); an eligible client is enrolled with a named case
worker. Only anonymous facts leave intake; the person, when given, goes to the vault."""
from datetime import date
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import BaseModel, ConfigDict, Field

from contracts.events.base import Event
from contracts.events.intake import (ClientEnrolled, ClientReferred, Disclosure, EducationLevel,
                                     EligibilityAssessed, EntryFacts, EntryFactsRecorded, LabourMarketStatus,
                                     PriorityGroup, ProgrammeCode, Sender, TargetGroup)
from contracts.values import AgeBand, AreaCode, Gender, Text
from services.intake.domain.client import Client
from services.intake.domain.personal_data import PersonalData
from services.intake.domain.programmes import decide_eligibility
from services.platform.errors import RuleViolated, StateConflict

CaseWorkerId = Text
SENDER_REFERRAL_ID = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$"


class EntryFactsInput(BaseModel):
    """The anonymous facts of a client at entry (and when they are corrected)."""

    model_config = ConfigDict(extra="forbid")

    labour_market_subsidy_days: int = Field(ge=0, le=20000, description="days of labour market subsidy received")
    unemployment_benefit_days: int | None = Field(default=None, ge=0, le=20000,
                                                  description="days of any unemployment benefit received")
    unemployed_months: int = Field(ge=0, le=600, description="months continuously unemployed")
    in_multisectoral_service: bool = False
    in_employment_promoting_service: bool = Field(
        default=False, description="in an employment-promoting service during the unemployment")
    partially_able_to_work: bool = False
    immigrant: bool = False
    outdated_training: bool = False
    labour_market_status: LabourMarketStatus | None = Field(
        default=None, description="status at entry; when not given: long_term_unemployed after 12 months "
                                  "continuously unemployed, else unemployed")
    education_level: EducationLevel = "not_asked"
    disability: Disclosure = "not_asked"
    migrant_or_minority: Disclosure = "not_asked"
    other_disadvantage: Disclosure = "not_asked"

    def facts(self, age: int) -> EntryFacts:
        status = self.labour_market_status or (
            "long_term_unemployed" if self.unemployed_months >= 12 else "unemployed")
        return EntryFacts(
            labour_market_subsidy_days=self.labour_market_subsidy_days, unemployed_months=self.unemployed_months,
            in_multisectoral_service=self.in_multisectoral_service,
            in_employment_promoting_service=self.in_employment_promoting_service,
            priority_groups=priority_groups(age, self), labour_market_status=status,
            education_level=self.education_level, disability=self.disability,
            migrant_or_minority=self.migrant_or_minority, other_disadvantage=self.other_disadvantage)


class ReferClient(EntryFactsInput):
    """A referral from the TE office, the city or the client to one programme.

    `person`, when given, is kept in intake's vault (encrypted for this client only)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    programme: ProgrammeCode
    employment_area: AreaCode
    municipality: Text = Field(min_length=1, max_length=100)
    referred_by: Sender
    age: int = Field(ge=15, le=70)
    gender: Gender
    case_worker_id: CaseWorkerId = Field(min_length=1, max_length=64)
    referred_on: date | None = None
    sender_referral_id: str | None = Field(
        default=None, pattern=SENDER_REFERRAL_ID,
        description="the sending system's own id of the referral (1-64 letters, digits and . _ : / -): the same "
                    "referral sent again by the same sender (`referred_by`) in the area is answered with the "
                    "first one's client, never a second client")
    person: PersonalData | None = None

    def measures(self) -> dict:
        """What a programme's conditions can test."""
        return self.model_dump(exclude={"person", "sender_referral_id"})


def age_band(age: int) -> AgeBand:
    if age < 18:
        return "under_18"
    if age < 25:
        return "18_24"
    if age < 30:
        return "25_29"
    return "30_54" if age < 55 else "55_plus"


def priority_groups(age: int, facts: EntryFactsInput) -> tuple[PriorityGroup, ...]:
    """The Kemi model's priority groups (shared/RULES.md): under 30, over 54, partial work ability,
    immigrants, outdated training."""
    flags: list[tuple[PriorityGroup, bool]] = [
        ("under_30", age < 30), ("over_54", age > 54), ("partially_able_to_work", facts.partially_able_to_work),
        ("immigrant", facts.immigrant), ("outdated_training", facts.outdated_training)]
    return tuple(group for group, applies in flags if applies)


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


def referral_id_of(client_id: UUID, period: int) -> UUID:
    return uuid5(NAMESPACE_URL, f"polku:referral:{client_id}:{period}")


def refer(client: Client, client_id: UUID, referral: ReferClient, today: date,
          referral_id: UUID | None = None) -> list[Event]:
    """Referral (a new client, or a return after an exit or a refusal), its entry facts, the eligibility
    decision and, when a criterion matched, enrolment with a named case worker.

    `referral_id` names the referral (a sending system's own id makes a resent referral harmless):
    a referral already taken changes nothing."""
    period = len(client.periods) + 1
    referral_id = referral_id or referral_id_of(client_id, period)
    if any(earlier.referral_id == referral_id for earlier in client.periods):
        return []
    if client.status in ("referred", "enrolled"):
        raise StateConflict(f"client {client_id} is {client.status} (period {client.current.number}); "
                            "a client is referred again only after an exit or a refusal")
    if client.employment_area not in (None, referral.employment_area):
        raise RuleViolated("employment_area", f"client {client_id} belongs to area {client.employment_area}; "
                                              "a returning client is referred in the same area")
    day = referral.referred_on or today
    decision = decide_eligibility(referral.programme, referral.measures(), day)
    matched = decision.matched
    events: list[Event] = [
        ClientReferred(client_id=client_id, referral_id=referral_id, period=period, programme=referral.programme,
                       referred_by=referral.referred_by, employment_area=referral.employment_area,
                       municipality=referral.municipality, age_band=age_band(referral.age), gender=referral.gender,
                       referred_on=day),
        EntryFactsRecorded(client_id=client_id, period=period, facts=referral.facts(referral.age)),
        EligibilityAssessed(client_id=client_id, eligible=matched is not None, programme=referral.programme,
                            rule_set_version=decision.rule_set_version,
                            criterion=matched.criterion if matched else None,
                            rule_source=matched.cited_source if matched else None,
                            failed_criteria=decision.failed,
                            target_groups=target_groups(referral, matched is not None)),
    ]
    if matched:
        events.append(ClientEnrolled(client_id=client_id, period=period, case_worker_id=referral.case_worker_id,
                                     enrolled_on=day))
    return events

