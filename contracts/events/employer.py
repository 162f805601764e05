"""Events of the employer service: the Employer, Opening, GigTask, Placement and Proposal aggregates.

Employers are organisations, not people, so their details travel; their contact persons are not
kept in Polku at all (see docs/architecture.md, "Employers"). Clients are named by id only.
"""
from datetime import date, time
from decimal import Decimal
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from contracts.events.base import Event
from contracts.values import AreaCode, BusinessId, EmployerType, Money, Tag, Text

PlacementKind = Literal["work_trial", "rehabilitative_work", "pay_subsidised_work", "gig_work", "apprenticeship",
                        "open_market"]
# What a partnership agreement (yhteistyösopimus) covers; an open-market hire needs none.
AgreementScope = Literal["work_trial", "rehabilitative_work", "pay_subsidised_work", "gig_work", "apprenticeship",
                         "recruitment"]
AgreementEnding = Literal["employer_request", "city_decision", "terms_broken", "employer_closed", "other"]
PlacementEnding = Literal["completed", "hired_by_employer", "interrupted_by_client", "interrupted_by_employer",
                          "other"]
OpeningSource = Literal["advertised", "hidden"]
ProposalDecline = Literal["client_not_interested", "not_suitable_now", "health", "other"]
# TOL 2008 (Statistics Finland's industry classification): a 2-5 digit code, e.g. 47 or 47111.
IndustryCode = Annotated[str, Field(pattern=r"^\d{2,5}$", description="TOL 2008 industry code, e.g. 47111")]
# ISCO-08 occupation: the 4-digit unit group, e.g. 9112 (cleaners and helpers in offices).
OccupationCode = Annotated[str, Field(pattern=r"^\d{4}$", description="ISCO-08 unit group, e.g. 9112")]
ScheduleHours = Annotated[Decimal, Field(gt=0, le=80, max_digits=4, decimal_places=2),
                          PlainSerializer(lambda hours: f"{hours:.2f}", return_type=str, when_used="json")]


class Schedule(BaseModel):
    """When the client works: days a week and hours a day, or (for gig work) hours a week only."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    days_per_week: int | None = Field(default=None, ge=1, le=7)
    hours_per_day: ScheduleHours | None = None
    hours_per_week: ScheduleHours


class EmployerEvent(Event):
    service: ClassVar[str] = "employer"
    aggregate_type: ClassVar[str] = "Employer"
    employer_id: UUID


class EmployerRegistered(EmployerEvent):
    """An employer (työnantaja) was registered by its Y-tunnus."""

    business_id: BusinessId
    name: str
    employer_type: EmployerType
    employment_area: AreaCode
    industry: IndustryCode | None = None
    municipality: str | None = None


class EmployerDetailsCorrected(EmployerEvent):
    """The employer's details as corrected; the Y-tunnus and the area never change."""

    name: str
    employer_type: EmployerType
    industry: IndustryCode | None
    municipality: str | None


class PartnershipAgreementSigned(EmployerEvent):
    """A partnership agreement (yhteistyösopimus): what kinds of placement the employer hosts, and when."""

    agreement_id: UUID
    scope: tuple[AgreementScope, ...]
    valid_from: date
    valid_to: date


class PartnershipAgreementEnded(EmployerEvent):
    """An agreement ended before its `valid_to`; it covers no day from `ended_on` on."""

    agreement_id: UUID
    ended_on: date
    reason: AgreementEnding


class OpeningEvent(Event):
    service: ClassVar[str] = "employer"
    aggregate_type: ClassVar[str] = "Opening"
    opening_id: UUID


class OpeningRegistered(OpeningEvent):
    """An open job (avoin työpaikka): advertised, or hidden (piilotyöpaikka: found by contacting the employer)."""

    employer_id: UUID
    title: Text
    occupation: OccupationCode | None
    hours_per_week: ScheduleHours
    starts_on: date
    duration_months: int | None
    requirement_tags: tuple[Tag, ...]
    source: OpeningSource
    registered_on: date


class OpeningFilled(OpeningEvent):
    """A placement filled the opening."""

    placement_id: UUID
    filled_on: date


class OpeningWithdrawn(OpeningEvent):
    """The employer no longer needs anyone."""

    withdrawn_on: date


class OpeningExpired(OpeningEvent):
    """The opening ran out unfilled."""

    expired_on: date


class GigTaskEvent(Event):
    service: ClassVar[str] = "employer"
    aggregate_type: ClassVar[str] = "GigTask"
    task_id: UUID


class GigTaskOffered(GigTaskEvent):
    """A small task (silpputyö) an employer offers, to be pooled with others into a whole gig job."""

    employer_id: UUID
    works_on: date
    starts_at: time
    ends_at: time
    municipality: Text
    place: Text
    requirement_tags: tuple[Tag, ...]
    hourly_billing_rate: Money


class GigTaskPooled(GigTaskEvent):
    """The task became part of the gig job (a placement) `placement_id`."""

    placement_id: UUID


class PlacementEvent(Event):
    service: ClassVar[str] = "employer"
    aggregate_type: ClassVar[str] = "Placement"
    placement_id: UUID
    client_id: UUID


class PlacementStarted(PlacementEvent):
    """A client started work at an employer. For gig work the employer is the foundation, which bills
    each task's employer at the task's rate (GigJobPooled); otherwise at `hourly_billing_rate`."""

    employer_id: UUID
    employer_type: EmployerType
    kind: PlacementKind
    starts_on: date
    hourly_billing_rate: Money
    planned_end_on: date | None = None
    schedule: Schedule | None = None
    pay_subsidy_decision: str | None = None
    opening_id: UUID | None = None


class PooledTask(BaseModel):
    """One task of a pooled gig job, billed to its own employer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task_id: UUID
    employer_id: UUID
    works_on: date
    starts_at: time
    ends_at: time
    hours: ScheduleHours
    hourly_billing_rate: Money


class GigJobPooled(PlacementEvent):
    """The gig job's tasks (silpputyömalli), issued with its PlacementStarted."""

    tasks: tuple[PooledTask, ...]


class PlacementExtended(PlacementEvent):
    """The placement goes on until a new planned end."""

    planned_end_on: date


class PlacementEnded(PlacementEvent):
    """The placement ended. `hired_by_employer` with `employer_type` is what reporting counts as
    "employed by a company / association / foundation / city unit / other public employer"."""

    employer_id: UUID
    employer_type: EmployerType
    kind: PlacementKind
    ended_on: date
    ending: PlacementEnding


class ProposalEvent(Event):
    service: ClassVar[str] = "employer"
    aggregate_type: ClassVar[str] = "Proposal"
    proposal_id: UUID
    client_id: UUID


class CandidateProposed(ProposalEvent):
    """A coordinator proposed a client for an opening or a set of gig tasks; the client's case worker decides."""

    opening_id: UUID | None
    task_ids: tuple[UUID, ...]
    score: int
    reasons: tuple[str, ...]
    proposed_on: date


class ProposalAccepted(ProposalEvent):
    """The client's case worker accepted the proposal; the coordinator may now start the placement."""

    decided_on: date


class ProposalDeclined(ProposalEvent):
    """The client's case worker declined the proposal, with a reason from a fixed list (never free text)."""

    decided_on: date
    reason: ProposalDecline
