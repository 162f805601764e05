"""HTTP API of work: openings (advertised and hidden) and gig tasks."""
from datetime import date
from decimal import Decimal
from uuid import UUID, uuid4

from aiohttp import web

from contracts.events.employer import GigTaskOffered, OpeningRegistered
from services.employer.domain import gig_tasks, openings
from services.employer.domain.employers import EMPLOYER
from services.employer.domain.gig_tasks import GIG_TASK, GigTask, OfferGigTask
from services.employer.domain.openings import OPENING, CloseOpening, Opening, OpeningStatus, RegisterOpening
from services.platform.http import RUNTIME, Route, path_uuid


class OpeningView(OpeningRegistered):
    status: OpeningStatus
    closed_on: date | None
    placement_id: UUID | None


class GigTaskView(GigTaskOffered):
    hours: Decimal
    pooled_into: UUID | None


def opening_view(opening: Opening) -> OpeningView:
    return OpeningView(**opening.registered.model_dump(), status=opening.status, closed_on=opening.closed_on,
                       placement_id=opening.placement_id)


def gig_task_view(task: GigTask) -> GigTaskView:
    return GigTaskView(**task.offered.model_dump(), hours=task.hours, pooled_into=task.pooled_into)


async def register_opening(request: web.Request, command: RegisterOpening) -> OpeningView:
    runtime, opening_id = request.app[RUNTIME], uuid4()
    async with runtime.unit_of_work(request) as uow:
        employer = await uow.read_referenced(EMPLOYER, str(command.employer_id), "employer_id")
        opening = await uow.create(OPENING, str(opening_id), lambda _: openings.register(
            opening_id, command, date.today()), area=employer.employment_area)
    return opening_view(opening)


async def get_opening(request: web.Request) -> OpeningView:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        opening, _ = await uow.read(OPENING, str(path_uuid(request, "opening_id")))
    return opening_view(opening)


async def _close_opening(request: web.Request, command: CloseOpening, close) -> OpeningView:
    opening_id = path_uuid(request, "opening_id")
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        opening = await uow.decide(OPENING, str(opening_id), lambda opening: close(opening, opening_id, command))
    return opening_view(opening)


async def withdraw_opening(request: web.Request, command: CloseOpening) -> OpeningView:
    return await _close_opening(request, command, openings.withdraw)


async def expire_opening(request: web.Request, command: CloseOpening) -> OpeningView:
    return await _close_opening(request, command, openings.expire)


async def offer_gig_task(request: web.Request, command: OfferGigTask) -> GigTaskView:
    runtime, task_id = request.app[RUNTIME], uuid4()
    async with runtime.unit_of_work(request) as uow:
        employer = await uow.read_referenced(EMPLOYER, str(command.employer_id), "employer_id")
        task = await uow.create(GIG_TASK, str(task_id), lambda _: gig_tasks.offer(task_id, command),
                                area=employer.employment_area)
    return gig_task_view(task)


async def get_gig_task(request: web.Request) -> GigTaskView:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        task, _ = await uow.read(GIG_TASK, str(path_uuid(request, "task_id")))
    return gig_task_view(task)


ROUTES = [
    Route("POST", "/openings", register_opening, "Register an open job: advertised, or hidden (found by "
          "contacting the employer)", body=RegisterOpening, response=OpeningView, status=201),
    Route("GET", "/openings/{opening_id}", get_opening, "An opening and its state", response=OpeningView),
    Route("POST", "/openings/{opening_id}/withdrawal", withdraw_opening, "The employer withdrew the opening",
          body=CloseOpening, response=OpeningView),
    Route("POST", "/openings/{opening_id}/expiry", expire_opening, "The opening expired unfilled",
          body=CloseOpening, response=OpeningView),
    Route("POST", "/gig-tasks", offer_gig_task, "Record a gig task an employer offers, to be pooled into a gig job",
          body=OfferGigTask, response=GigTaskView, status=201),
    Route("GET", "/gig-tasks/{task_id}", get_gig_task, "A gig task, and the gig job it is pooled into",
          response=GigTaskView),
]
