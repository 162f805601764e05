"""Events of the intake service (the Client aggregate).

A client's history is one stream: each referral opens an enrolment period (`period` 1, 2, …), and an
exit closes it; a client referred again later starts the next period with the earlier ones kept.
"""
from datetime import date
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.events.base import Event
from contracts.values import AgeBand, AreaCode, Gender, Tag

TargetGroup = Literal["long_term_unemployed", "structurally_unemployed", "youth", "over_54", "partially_able_to_work"]
# A client's status, the same words in intake's API, in reporting and in the documentation.
ClientStatus = Literal["referred", "not_eligible", "enrolled", "exited"]
ProgrammeCode = Literal["kemi_model", "municipal_trial", "lapland_regional_trial", "typ_need_assessment", "pointti"]
Sender = Literal["te_office", "city", "self", "other"]
# Priority groups (painopisteryhmät) of the Kemi model; anonymous flags.
PriorityGroup = Literal["under_30", "over_54", "partially_able_to_work", "immigrant", "outdated_training"]
# Labour market status at entry, as the ESF indicators count it (Reg. 1304/2013 Annex I).
LabourMarketStatus = Literal["unemployed", "long_term_unemployed", "inactive",
                             "inactive_not_in_education_or_training", "employed"]
# ISCED 2011 level 0-8 of the highest education completed, or why it is not known.
EducationLevel = Literal["isced_0", "isced_1", "isced_2", "isced_3", "isced_4", "isced_5", "isced_6", "isced_7",
                         "isced_8", "not_asked", "declined_to_say"]
# A sensitive fact the client may choose not to tell (ESF: disability, migrant or minority, other disadvantage).
Disclosure = Literal["yes", "no", "not_asked", "declined_to_say"]
# Status at exit (within 28 days of leaving) and six months after: the follow-up system's words.
ExitStatus = Literal["employed_company", "employed_association", "employed_foundation", "employed_city_unit",
                     "employed_other_public", "self_employed", "in_education_or_training", "in_rehabilitation",
                     "unemployed", "inactive", "moved_away", "other"]


class ClientEvent(Event):
    service: ClassVar[str] = "intake"
    aggregate_type: ClassVar[str] = "Client"
    client_id: UUID


class ClientReferred(ClientEvent):
    """A job seeker (työnhakija-asiakas) was referred to the employment services under a programme; the
    referral opens enrolment period `period` (1 for the first, 2 for a return, …).

    Version 2 added `programme`, `period` and `referral_id` (version 1 events read as the Kemi model,
    period 1) and the age bands under_18 and 18_24 (version 1 events keep under_25)."""

    schema_version: ClassVar[int] = 2
    referral_id: UUID
    period: int = Field(ge=1)
    programme: ProgrammeCode
    referred_by: Sender
    employment_area: AreaCode
    municipality: str
    age_band: AgeBand
    gender: Gender
    referred_on: date


class FailedCriterion(BaseModel):
    """One criterion of a programme's rule set that the referral did not meet, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    criterion: str
    source: str
    reason: str


class EligibilityAssessed(ClientEvent):
    """Eligibility for the referral's programme was decided under the rule set version in force on the
    referral day: `criterion` and `rule_source` name the rule that matched, or `failed_criteria` lists
    every criterion that failed and why, so a case worker can explain the decision to the client.

    Version 2 added `programme`, `rule_set_version` and `failed_criteria`."""

    schema_version: ClassVar[int] = 2
    eligible: bool
    programme: ProgrammeCode
    rule_set_version: str
    criterion: str | None
    rule_source: str | None
    failed_criteria: tuple[FailedCriterion, ...]
    target_groups: tuple[TargetGroup, ...]


class EntryFacts(BaseModel):
    """The anonymous facts recorded at entry; reports count them and employer matching reads them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    labour_market_subsidy_days: int = Field(ge=0)
    unemployed_months: int = Field(ge=0)
    in_multisectoral_service: bool
    in_employment_promoting_service: bool
    priority_groups: tuple[PriorityGroup, ...]
    labour_market_status: LabourMarketStatus
    education_level: EducationLevel
    disability: Disclosure
    migrant_or_minority: Disclosure
    other_disadvantage: Disclosure


class EntryFactsRecorded(ClientEvent):
    """The client's entry facts of enrolment period `period`, recorded with the referral."""

    period: int = Field(ge=1)
    facts: EntryFacts


class EntryFactsCorrected(ClientEvent):
    """The entry facts of period `period` were corrected; `facts` replaces the earlier facts whole."""

    period: int = Field(ge=1)
    facts: EntryFacts
    corrected_on: date


class ClientEnrolled(ClientEvent):
    """The client was enrolled for enrolment period `period` and got one named case worker (oma
    työntekijä); this is the period's first assignment. Version 2 added `period` (version 1: 1)."""

    schema_version: ClassVar[int] = 2
    period: int = Field(ge=1)
    case_worker_id: str
    enrolled_on: date


class CaseWorkerAssigned(ClientEvent):
    """The client was reassigned to another case worker, who alone sees their personal data from now on."""

    case_worker_id: str
    previous_case_worker_id: str
    assigned_on: date


class SkillTagsRecorded(ClientEvent):
    """The client's skills as anonymous tags; replaces the tags recorded before."""

    skill_tags: tuple[Tag, ...]


class ClientExited(ClientEvent):
    """The client left the services on `exited_on`, ending enrolment period `period`. `status_at_exit`
    is the client's status observed on `status_on`, at most 28 days after leaving (ESF+)."""

    period: int = Field(ge=1)
    exited_on: date
    status_at_exit: ExitStatus
    status_on: date
    qualification_gained: bool


class SixMonthFollowUpRecorded(ClientEvent):
    """Where the client was six months after leaving enrolment period `period` (ESF longer-term result)."""

    period: int = Field(ge=1)
    exited_on: date
    status: ExitStatus
    status_on: date


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

