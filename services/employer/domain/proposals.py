"""The Proposal aggregate: a coordinator proposes a client for work; the client's own case worker
accepts or declines it."""
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.events.base import Event
from contracts.events.employer import CandidateProposed, ProposalAccepted, ProposalDecline, ProposalDeclined
from services.employer.domain.matching import Candidate
from services.platform.errors import Forbidden, StateConflict
from services.platform.event_store import AggregateKind

ProposalStatus = Literal["proposed", "accepted", "declined"]


class ProposeCandidate(BaseModel):
    """For an opening, or for gig tasks to be pooled into a gig job: one of the two."""

    model_config = ConfigDict(extra="forbid")

    client_id: UUID
    opening_id: UUID | None = None
    task_ids: tuple[UUID, ...] = Field(default=(), max_length=200)

    @model_validator(mode="after")
    def _one_kind_of_work(self) -> "ProposeCandidate":
        if (self.opening_id is None) == (not self.task_ids):
            raise ValueError("name either opening_id or task_ids")
        return self


class DeclineProposal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: ProposalDecline


@dataclass(frozen=True)
class Proposal:
    proposed: CandidateProposed | None = None
    status: ProposalStatus = "proposed"
    decided_on: date | None = None


def evolve(proposal: Proposal, event: Event) -> Proposal:
    match event:
        case CandidateProposed():
            return Proposal(proposed=event)
        case ProposalAccepted():
            return replace(proposal, status="accepted", decided_on=event.decided_on)
        case ProposalDeclined():
            return replace(proposal, status="declined", decided_on=event.decided_on)
    return proposal


PROPOSAL = AggregateKind("Proposal", Proposal(), evolve)


def propose(proposal_id: UUID, command: ProposeCandidate, candidate: Candidate, today: date) -> list[Event]:
    return [CandidateProposed(proposal_id=proposal_id, client_id=command.client_id, opening_id=command.opening_id,
                              task_ids=command.task_ids, score=candidate.score, reasons=candidate.reasons,
                              proposed_on=today)]


def _decidable(proposal: Proposal, proposal_id: UUID, case_worker_id: str | None, decided_by: str) -> None:
    if case_worker_id != decided_by:
        raise Forbidden(f"proposal {proposal_id} is for a client of another case worker")
    if proposal.status != "proposed":
        raise StateConflict(f"proposal {proposal_id} was {proposal.status} on {proposal.decided_on}")


def accept(proposal: Proposal, proposal_id: UUID, case_worker_id: str | None, decided_by: str,
           today: date) -> list[Event]:
    """`case_worker_id` is the client's own case worker; only they decide."""
    _decidable(proposal, proposal_id, case_worker_id, decided_by)
    return [ProposalAccepted(proposal_id=proposal_id, client_id=proposal.proposed.client_id, decided_on=today)]


def decline(proposal: Proposal, proposal_id: UUID, case_worker_id: str | None, decided_by: str,
            command: DeclineProposal, today: date) -> list[Event]:
    _decidable(proposal, proposal_id, case_worker_id, decided_by)
    return [ProposalDeclined(proposal_id=proposal_id, client_id=proposal.proposed.client_id, decided_on=today,
                             reason=command.reason)]
