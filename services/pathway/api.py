"""HTTP API of pathway: the case worker's plan of a client's current pathway, and the pathway read back
with its steps in order and the time spent in each."""
from datetime import date
from uuid import UUID, uuid4

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from contracts.events.pathway import PathwayKind
from services.pathway.domain import steps
from services.pathway.domain.pathway import PATHWAY, Pathway, Step
from services.pathway.domain.steps import CancelStep, CompleteStep, InterruptStep, PlanStep, SetGoal, StartStep
from services.pathway.pathways import pathways_of
from services.platform.errors import NotFound
from services.pathway.case_workers import owner_of
from services.platform.http import RUNTIME, Route, path_uuid, principal_of


class StepView(BaseModel):
    step_id: UUID
    step_kind: str
    state: str
    placement_id: UUID | None
    planned_start_on: date | None
    planned_end_on: date | None
    started_on: date | None
    ended_on: date | None
    ending: str | None
    full_time: bool
    days_in_step: int | None  # from the start to the end (both included), or to today while it runs


class PathwayView(BaseModel):
    pathway_id: UUID
    client_id: UUID
    period: int
    goal: PathwayKind | None
    state: str
    planned_on: date | None
    closed_on: date | None
    steps: list[StepView]
    earlier_pathways: list[UUID]


def _days(step: Step, today: date) -> int | None:
    if step.started_on is None:
        return None
    return ((step.ended_on or today) - step.started_on).days + 1


def _step_view(step: Step, today: date) -> StepView:
    return StepView(step_id=step.step_id, step_kind=step.kind, state=step.state, placement_id=step.placement_id,
                    planned_start_on=step.planned_start_on, planned_end_on=step.planned_end_on,
                    started_on=step.started_on, ended_on=step.ended_on, ending=step.ending, full_time=step.full_time,
                    days_in_step=_days(step, today))


def _order(step: Step) -> tuple[date, str]:
    return (step.started_on or step.planned_start_on or date.max, str(step.step_id))


def _view(pathway_id: UUID, pathway: Pathway, earlier: list[UUID]) -> PathwayView:
    today = date.today()
    return PathwayView(pathway_id=pathway_id, client_id=pathway.client_id, period=pathway.period, goal=pathway.goal,
                       state="closed" if pathway.closed_on else "open", planned_on=pathway.planned_on,
                       closed_on=pathway.closed_on,
                       steps=[_step_view(step, today) for step in sorted(pathway.steps, key=_order)],
                       earlier_pathways=earlier)


class PathwayQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: int | None = Field(default=None, ge=1, description="an earlier enrolment period's pathway; the "
                                                               "current one when not given")


async def get_pathway(request: web.Request, query: PathwayQuery) -> PathwayView:
    client_id = path_uuid(request, "client_id")
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        pathways = await pathways_of(uow, client_id)
    if not pathways:
        raise NotFound(f"client {client_id} has no pathway")
    if query.period is not None and query.period > len(pathways):
        raise NotFound(f"client {client_id} has no pathway for period {query.period}")
    index = (query.period or len(pathways)) - 1
    pathway_id, pathway = pathways[index]
    return _view(pathway_id, pathway, [other for other, _ in pathways[:index]])


async def _decide(request: web.Request, decide) -> PathwayView:
    """Apply `decide(pathway, pathway_id)` to the client's current pathway, as the client's own case worker."""
    client_id = path_uuid(request, "client_id")
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        pathways = await pathways_of(uow, client_id)
        if not pathways:
            raise NotFound(f"client {client_id} has no pathway")
        owner = await owner_of(uow, client_id)
        steps.ensure_own_client(owner.case_worker_id if owner else None, client_id, principal_of(request))
        pathway_id = pathways[-1][0]
        pathway = await uow.decide(PATHWAY, str(pathway_id), lambda pathway: decide(pathway, pathway_id))
    return _view(pathway_id, pathway, [earlier for earlier, _ in pathways[:-1]])


async def set_goal(request: web.Request, command: SetGoal) -> PathwayView:
    return await _decide(request, lambda pathway, pathway_id: steps.set_goal(pathway, pathway_id, command,
                                                                               date.today()))


async def plan_step(request: web.Request, command: PlanStep) -> PathwayView:
    step_id = uuid4()
    return await _decide(request, lambda pathway, pathway_id: steps.plan_step(pathway, pathway_id, step_id, command,
                                                                                date.today()))


async def start_step(request: web.Request, command: StartStep) -> PathwayView:
    step_id = path_uuid(request, "step_id")
    return await _decide(request, lambda pathway, pathway_id: steps.start_step(pathway, pathway_id, step_id, command,
                                                                                 date.today()))


async def complete_step(request: web.Request, command: CompleteStep) -> PathwayView:
    step_id = path_uuid(request, "step_id")
    return await _decide(request, lambda pathway, pathway_id: steps.complete_step(
        pathway, pathway_id, step_id, command, date.today()))


async def interrupt_step(request: web.Request, command: InterruptStep) -> PathwayView:
    step_id = path_uuid(request, "step_id")
    return await _decide(request, lambda pathway, pathway_id: steps.interrupt_step(
        pathway, pathway_id, step_id, command, date.today()))


async def cancel_step(request: web.Request, command: CancelStep) -> PathwayView:
    step_id = path_uuid(request, "step_id")
    return await _decide(request, lambda pathway, pathway_id: steps.cancel_step(pathway, pathway_id, step_id,
                                                                                  command))


STEP = "/clients/{client_id}/pathway/steps/{step_id}"
ROUTES = [
    Route("GET", "/clients/{client_id}/pathway", get_pathway, "A client's current pathway (or ?period=N's): goal, "
          "steps in order with dates, states and the days spent in each, and the ids of earlier pathways",
          response=PathwayView, query=PathwayQuery),
    Route("POST", "/clients/{client_id}/pathway/goal", set_goal, "Set the goal of the client's current pathway",
          body=SetGoal, response=PathwayView),
    Route("POST", "/clients/{client_id}/pathway/steps", plan_step, "Plan a step the case worker decides; its rules "
          "(step_rules.yaml) are checked here", body=PlanStep, response=PathwayView, status=201),
    Route("POST", f"{STEP}/start", start_step, "Start a planned step", body=StartStep, response=PathwayView),
    Route("POST", f"{STEP}/completion", complete_step, "Complete a started step", body=CompleteStep,
          response=PathwayView),
    Route("POST", f"{STEP}/interruption", interrupt_step, "Interrupt a started step, with a reason",
          body=InterruptStep, response=PathwayView),
    Route("POST", f"{STEP}/cancellation", cancel_step, "Drop a planned step before it starts", body=CancelStep,
          response=PathwayView),
]
