"""HTTP API of matching: ranked candidates for work, proposals and the case worker's decision on them."""
from datetime import date
from typing import Annotated, Any
from uuid import UUID, uuid4

from aiohttp import web
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from services.employer.domain import matching, proposals
from services.employer.domain.employers import EMPLOYER
from services.employer.domain.gig_tasks import GIG_TASK
from services.employer.domain.matching import Work
from services.employer.domain.openings import OPENING
from services.employer.domain.proposals import PROPOSAL, DeclineProposal, Proposal, ProposalStatus, ProposeCandidate
from services.employer.candidates import area_clients
from services.employer.lookups import client_facts, proposal_ids, record_decision, record_proposal
from services.platform.errors import RuleViolated
from services.platform.http import RUNTIME, Route, path_uuid, principal_of
from services.platform.unit_of_work import UnitOfWork


class CandidateView(BaseModel):
    """A candidate: a client id and anonymous facts only, with the reasons of the score."""

    client_id: UUID
    score: int
    reasons: list[str]
    case_worker_id: str | None
    municipality: str | None
    age_band: str | None
    months_unemployed: int | None
    priority_groups: list[str]
    skill_tags: list[str]


class ProposalView(BaseModel):
    proposal_id: UUID
    client_id: UUID
    opening_id: UUID | None
    task_ids: list[UUID]
    score: int
    reasons: list[str]
    proposed_on: date
    status: ProposalStatus
    decided_on: date | None


def _comma_separated(value: Any) -> Any:
    return [each for each in value.split(",") if each] if isinstance(value, str) else value


class CandidateQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=500, description="how many of the best to show")


class GigTasksQuery(CandidateQuery):
    task_ids: Annotated[list[UUID], BeforeValidator(_comma_separated)] = Field(
        min_length=1, max_length=200, description="the gig tasks to be pooled, comma-separated")


async def _work_of_opening(uow: UnitOfWork, opening_id: UUID) -> Work:
    opening, _ = await uow.read(OPENING, str(opening_id))
    employer_municipality = await _employer_municipality(uow, opening.registered.employer_id)
    return Work.of(opening.registered.requirement_tags, [employer_municipality])


async def _work_of_tasks(uow: UnitOfWork, task_ids: list[UUID]) -> Work:
    tasks = [await uow.read_referenced(GIG_TASK, str(task_id), "task_ids") for task_id in task_ids]
    return Work.of({tag for task in tasks for tag in task.offered.requirement_tags},
                   [task.offered.municipality for task in tasks])


async def _employer_municipality(uow: UnitOfWork, employer_id: UUID) -> str | None:
    employer, _ = await uow.read(EMPLOYER, str(employer_id))
    return employer.details.municipality


def _candidate_view(candidate: matching.Candidate) -> CandidateView:
    return CandidateView(**{**candidate.__dict__, "reasons": list(candidate.reasons),
                            "priority_groups": list(candidate.priority_groups),
                            "skill_tags": list(candidate.skill_tags)})


async def opening_candidates(request: web.Request, query: CandidateQuery) -> list[CandidateView]:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        work = await _work_of_opening(uow, path_uuid(request, "opening_id"))
        clients = await area_clients(request.app[RUNTIME].engine, uow.connection, principal_of(request).area)
    return [_candidate_view(candidate) for candidate in matching.rank(work, clients, query.limit)]


async def gig_job_candidates(request: web.Request, query: GigTasksQuery) -> list[CandidateView]:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        work = await _work_of_tasks(uow, query.task_ids)
        clients = await area_clients(request.app[RUNTIME].engine, uow.connection, principal_of(request).area)
    return [_candidate_view(candidate) for candidate in matching.rank(work, clients, query.limit)]


def _proposal_view(proposal_id: UUID, proposal: Proposal) -> ProposalView:
    proposed = proposal.proposed
    return ProposalView(proposal_id=proposal_id, client_id=proposed.client_id, opening_id=proposed.opening_id,
                        task_ids=list(proposed.task_ids), score=proposed.score, reasons=list(proposed.reasons),
                        proposed_on=proposed.proposed_on, status=proposal.status, decided_on=proposal.decided_on)


async def propose(request: web.Request, command: ProposeCandidate) -> ProposalView:
    runtime, proposal_id, area = request.app[RUNTIME], uuid4(), principal_of(request).area
    async with runtime.unit_of_work(request) as uow:
        if command.opening_id:
            await uow.read_referenced(OPENING, str(command.opening_id), "opening_id")
            work = await _work_of_opening(uow, command.opening_id)
        else:
            work = await _work_of_tasks(uow, list(command.task_ids))
        client = await client_facts(uow.connection, command.client_id)
        if client is None or client.employment_area != area or not matching.available(client):
            raise RuleViolated("client_id", f"client {command.client_id} is not an available enrolled client of "
                                            f"employment area {area}")
        proposal = await uow.create(PROPOSAL, str(proposal_id), lambda _: proposals.propose(
            proposal_id, command, matching.explain(work, client), date.today()), area=area)
        await record_proposal(uow.connection, proposal_id, client, proposal.proposed.proposed_on)
    return _proposal_view(proposal_id, proposal)


async def list_proposals(request: web.Request) -> list[ProposalView]:
    """A case worker sees the proposals for their own clients; coordinators and managers the area's."""
    principal, status = principal_of(request), request.query.get("status")
    if status not in (None, "proposed", "accepted", "declined"):
        raise RuleViolated("status", "one of proposed, accepted, declined")
    own = principal.user_id if principal.roles == {"case_worker"} else None
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        ids = await proposal_ids(uow.connection, principal.area, own, status)
        found = [(proposal_id, (await uow.read(PROPOSAL, str(proposal_id)))[0]) for proposal_id in ids]
    return [_proposal_view(proposal_id, proposal) for proposal_id, proposal in found]


async def _decide(request: web.Request, decision) -> ProposalView:
    proposal_id, principal = path_uuid(request, "proposal_id"), principal_of(request)
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        proposal, _ = await uow.read(PROPOSAL, str(proposal_id))
        client = await client_facts(uow.connection, proposal.proposed.client_id)
        proposal = await uow.decide(PROPOSAL, str(proposal_id), lambda proposal: decision(
            proposal, proposal_id, client.case_worker_id if client else None, principal.user_id))
        await record_decision(uow.connection, proposal_id, proposal.status)
    return _proposal_view(proposal_id, proposal)


async def accept_proposal(request: web.Request) -> ProposalView:
    return await _decide(request, lambda proposal, proposal_id, case_worker, actor: proposals.accept(
        proposal, proposal_id, case_worker, actor, date.today()))


async def decline_proposal(request: web.Request, command: DeclineProposal) -> ProposalView:
    return await _decide(request, lambda proposal, proposal_id, case_worker, actor: proposals.decline(
        proposal, proposal_id, case_worker, actor, command, date.today()))


ROUTES = [
    Route("GET", "/openings/{opening_id}/candidates", opening_candidates,
          "The area's available clients ranked for an opening (?limit=), with the reasons of each score",
          response=list[CandidateView], query=CandidateQuery),
    Route("GET", "/gig-jobs/candidates", gig_job_candidates,
          "The area's available clients ranked for gig tasks to be pooled (?task_ids=a,b&limit=)",
          response=list[CandidateView], query=GigTasksQuery),
    Route("POST", "/proposals", propose, "Propose a client for an opening or gig tasks; the client's case worker "
          "decides", body=ProposeCandidate, response=ProposalView, status=201),
    Route("GET", "/proposals", list_proposals, "Proposals (?status=): a case worker's own clients', or the area's",
          response=list[ProposalView]),
    Route("POST", "/proposals/{proposal_id}/acceptance", accept_proposal,
          "The client's own case worker accepts the proposal", response=ProposalView),
    Route("POST", "/proposals/{proposal_id}/decline", decline_proposal,
          "The client's own case worker declines the proposal, with a reason", body=DeclineProposal,
          response=ProposalView),
]
