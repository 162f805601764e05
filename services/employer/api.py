"""HTTP API of employer."""
from uuid import uuid4

from aiohttp import web

from contracts.events.employer import EmployerRegistered, PlacementStarted
from services.employer.domain import EMPLOYER, PLACEMENT, RegisterEmployer, StartPlacement, register, start
from services.platform.http import RUNTIME, Route, path_uuid


async def register_employer(request: web.Request, command: RegisterEmployer) -> EmployerRegistered:
    runtime, employer_id = request.app[RUNTIME], uuid4()
    async with runtime.unit_of_work(request) as uow:
        employer = await uow.create(EMPLOYER, str(employer_id),
                                    lambda employer: register(employer, employer_id, command),
                                    area=command.employment_area)
    return employer.registered


async def get_employer(request: web.Request) -> EmployerRegistered:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        employer, _ = await uow.read(EMPLOYER, str(path_uuid(request, "employer_id")))
    return employer.registered


async def start_placement(request: web.Request, command: StartPlacement) -> PlacementStarted:
    runtime, placement_id = request.app[RUNTIME], uuid4()
    async with runtime.unit_of_work(request) as uow:
        employer, _ = await uow.read(EMPLOYER, str(command.employer_id))
        placement = await uow.create(PLACEMENT, str(placement_id),
                                     lambda placement: start(placement, placement_id, command, employer),
                                     area=employer.registered.employment_area)
    return placement.started


async def get_placement(request: web.Request) -> PlacementStarted:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        placement, _ = await uow.read(PLACEMENT, str(path_uuid(request, "placement_id")))
    return placement.started


ROUTES = [
    Route("POST", "/employers", register_employer, "Register an employer (Y-tunnus is checked)",
          body=RegisterEmployer, response=EmployerRegistered, status=201),
    Route("GET", "/employers/{employer_id}", get_employer, "An employer", response=EmployerRegistered),
    Route("POST", "/placements", start_placement, "Start a client's placement with an employer",
          body=StartPlacement, response=PlacementStarted, status=201),
    Route("GET", "/placements/{placement_id}", get_placement, "A placement", response=PlacementStarted),
]
