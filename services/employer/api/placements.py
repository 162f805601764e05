"""HTTP API of placements: started (or pooled from gig tasks), extended and ended."""
from datetime import date
from uuid import uuid4

from aiohttp import web

from contracts.events.employer import PlacementEnding, PlacementStarted, PooledTask
from services.employer.domain import gig_jobs, gig_tasks, openings, placements
from services.employer.domain.employers import EMPLOYER
from services.employer.domain.gig_jobs import PoolGigJob
from services.employer.domain.gig_tasks import GIG_TASK
from services.employer.domain.openings import OPENING
from services.employer.domain.placements import PLACEMENT, EndPlacement, ExtendPlacement, Placement, StartPlacement
from services.employer.lookups import client_facts, record_span_end, record_start, spans_of
from services.platform.http import RUNTIME, Route, path_uuid, principal_of


class PlacementView(PlacementStarted):
    ended_on: date | None
    ending: PlacementEnding | None
    tasks: list[PooledTask]


def _view(placement: Placement) -> PlacementView:
    started, ended = placement.started, placement.ended
    return PlacementView(**(started.model_dump() | {"planned_end_on": placement.planned_end_on}),
                         ended_on=ended.ended_on if ended else None, ending=ended.ending if ended else None,
                         tasks=list(placement.tasks.tasks) if placement.tasks else [])


async def start_placement(request: web.Request, command: StartPlacement) -> PlacementView:
    runtime, placement_id = request.app[RUNTIME], uuid4()
    async with runtime.unit_of_work(request) as uow:
        employer = await uow.read_referenced(EMPLOYER, str(command.employer_id), "employer_id")
        client = await client_facts(uow.connection, command.client_id)
        earlier = await spans_of(uow.connection, command.client_id)
        placement = await uow.create(PLACEMENT, str(placement_id), lambda _: placements.start(
            placement_id, command, employer, client, earlier), area=employer.employment_area)
        if command.opening_id:
            await uow.read_referenced(OPENING, str(command.opening_id), "opening_id")
            await uow.decide(OPENING, str(command.opening_id), lambda opening: openings.fill(
                opening, command.opening_id, placement_id, command.employer_id, command.starts_on))
        await record_start(uow.connection, placement.started, employer.employment_area)
    return _view(placement)


async def pool_gig_job(request: web.Request, command: PoolGigJob) -> PlacementView:
    runtime, placement_id = request.app[RUNTIME], uuid4()
    async with runtime.unit_of_work(request) as uow:
        foundation = await uow.read_referenced(EMPLOYER, str(command.foundation_id), "foundation_id")
        tasks = {task_id: await uow.read_referenced(GIG_TASK, str(task_id), "task_ids") for task_id in command.task_ids}
        task_employers = {employer_id: await uow.read(EMPLOYER, str(employer_id))
                          for employer_id in {task.offered.employer_id for task in tasks.values()}}
        client = await client_facts(uow.connection, command.client_id)
        placement = await uow.create(PLACEMENT, str(placement_id), lambda _: gig_jobs.pool_gig_job(
            placement_id, command, foundation, tasks, {key: state for key, (state, _) in task_employers.items()},
            client), area=foundation.employment_area)
        for task_id in command.task_ids:
            await uow.decide(GIG_TASK, str(task_id), lambda task, task_id=task_id: gig_tasks.pool(
                task, task_id, placement_id))
        await record_start(uow.connection, placement.started, foundation.employment_area)
    return _view(placement)


async def get_placement(request: web.Request) -> PlacementView:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        placement, _ = await uow.read(PLACEMENT, str(path_uuid(request, "placement_id")))
    return _view(placement)


async def extend_placement(request: web.Request, command: ExtendPlacement) -> PlacementView:
    placement_id = path_uuid(request, "placement_id")
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        placement, _ = await uow.read(PLACEMENT, str(placement_id))
        earlier = await spans_of(uow.connection, placement.started.client_id)
        placement = await uow.decide(PLACEMENT, str(placement_id), lambda placement: placements.extend(
            placement, command, earlier))
        await record_span_end(uow.connection, placement_id, placement.started.client_id, principal_of(request).area,
                              command.planned_end_on, ended=False)
    return _view(placement)


async def end_placement(request: web.Request, command: EndPlacement) -> PlacementView:
    placement_id = path_uuid(request, "placement_id")
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        placement = await uow.decide(PLACEMENT, str(placement_id), lambda placement: placements.end(
            placement, command))
        await record_span_end(uow.connection, placement_id, placement.started.client_id, principal_of(request).area,
                              command.ended_on, ended=True)
    return _view(placement)


ROUTES = [
    Route("POST", "/placements", start_placement, "Start a client's placement with an employer (any kind but gig "
          "work); the rules of its kind are checked", body=StartPlacement, response=PlacementView, status=201),
    Route("POST", "/gig-jobs", pool_gig_job, "Pool gig tasks of several employers into one gig job for a client: a "
          "gig work placement with the foundation as employer", body=PoolGigJob, response=PlacementView, status=201),
    Route("GET", "/placements/{placement_id}", get_placement, "A placement", response=PlacementView),
    Route("POST", "/placements/{placement_id}/extension", extend_placement,
          "Extend a placement to a new planned end; the month limits are checked again", body=ExtendPlacement,
          response=PlacementView),
    Route("POST", "/placements/{placement_id}/ending", end_placement, "End a placement, with how it ended",
          body=EndPlacement, response=PlacementView),
]
