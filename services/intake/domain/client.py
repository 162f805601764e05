"""The Client aggregate's state: its enrolment periods, case worker, skills and consents, folded from
its events; and who may handle the client's personal data.

Each referral opens an enrolment period; an exit closes it. A client referred again later gets a new
period, the earlier ones stay as they were.
"""
from dataclasses import dataclass, replace
from datetime import date
from uuid import UUID

from contracts.events.base import Event
from contracts.events.intake import (CaseWorkerAssigned, ClientDataErased, ClientEnrolled, ClientExited,
                                     ClientReferred, ClientStatus, ConsentRecorded, ConsentWithdrawn,
                                     EligibilityAssessed, EntryFacts, EntryFactsCorrected, EntryFactsRecorded,
                                     ExitStatus, SixMonthFollowUpRecorded, SkillTagsRecorded)
from services.platform.auth import Principal
from services.platform.errors import Forbidden, Gone, NotFound
from services.platform.event_store import AggregateKind


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
class Period:
    """One enrolment period: from a referral to an exit (or to a refusal)."""

    number: int
    referral_id: UUID
    programme: str
    referred_on: date
    status: ClientStatus = "referred"
    rule_set_version: str | None = None
    criterion: str | None = None
    entry_facts: EntryFacts | None = None
    enrolled_on: date | None = None
    exited_on: date | None = None
    status_at_exit: ExitStatus | None = None
    qualification_gained: bool | None = None
    follow_up_status: ExitStatus | None = None
    follow_up_on: date | None = None


@dataclass(frozen=True)
class Client:
    employment_area: str | None = None
    case_worker_id: str | None = None
    periods: tuple[Period, ...] = ()
    skill_tags: tuple[str, ...] = ()
    erased_on: date | None = None
    consents: tuple[Consent, ...] = ()

    @property
    def status(self) -> ClientStatus | None:
        """None before the first referral."""
        return self.periods[-1].status if self.periods else None

    @property
    def current(self) -> Period | None:
        return self.periods[-1] if self.periods else None

    def period(self, number: int) -> Period | None:
        return next((period for period in self.periods if period.number == number), None)


def _with_current(client: Client, **changes) -> Client:
    return replace(client, periods=(*client.periods[:-1], replace(client.periods[-1], **changes)))


def _with_period(client: Client, number: int, **changes) -> Client:
    return replace(client, periods=tuple(replace(period, **changes) if period.number == number else period
                                         for period in client.periods))


def evolve(client: Client, event: Event) -> Client:
    match event:
        case ClientReferred():
            period = Period(event.period, event.referral_id, event.programme, event.referred_on)
            return replace(client, employment_area=event.employment_area, periods=(*client.periods, period))
        case EntryFactsRecorded() | EntryFactsCorrected():
            return _with_period(client, event.period, entry_facts=event.facts)
        case EligibilityAssessed():
            return _with_current(client, status="referred" if event.eligible else "not_eligible",
                                 rule_set_version=event.rule_set_version, criterion=event.criterion)
        case ClientEnrolled():
            return replace(_with_current(client, status="enrolled", enrolled_on=event.enrolled_on),
                           case_worker_id=event.case_worker_id)
        case CaseWorkerAssigned():
            return replace(client, case_worker_id=event.case_worker_id)
        case SkillTagsRecorded():
            return replace(client, skill_tags=event.skill_tags)
        case ClientExited():
            return _with_period(client, event.period, status="exited", exited_on=event.exited_on,
                                status_at_exit=event.status_at_exit, qualification_gained=event.qualification_gained)
        case SixMonthFollowUpRecorded():
            return _with_period(client, event.period, follow_up_status=event.status, follow_up_on=event.status_on)
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


def existing(client: Client, client_id) -> None:
    if not client.periods:
        raise NotFound(f"no client {client_id}")


def ensure_own_client(client: Client, client_id, actor: Principal) -> None:
    """A case worker sees and handles the personal data of their own clients only."""
    existing(client, client_id)
    if client.case_worker_id is None:
        raise Forbidden(f"client {client_id} has no case worker (not enrolled): nobody handles their personal data")
    if client.case_worker_id != actor.user_id:
        raise Forbidden(f"client {client_id} is not a client of case worker {actor.user_id}; "
                        "a case worker sees the personal data of their own clients only")


def not_erased(client: Client, client_id) -> None:
    if client.erased_on is not None:
        raise Gone(f"the personal data of client {client_id} was erased on {client.erased_on.isoformat()}; "
                   "the anonymous history of the client remains")


def ensure_handles(client: Client, client_id, actor: Principal) -> None:
    """The client's own case worker handles the client; a manager of the area may too."""
    if "manager" in actor.roles:
        existing(client, client_id)
    else:
        ensure_own_client(client, client_id, actor)
