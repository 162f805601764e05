"""HTTP API of the employer registry and its partnership agreements."""
from datetime import date
from uuid import UUID, uuid4

from aiohttp import web
from pydantic import BaseModel

from contracts.events.employer import AgreementScope
from services.employer.domain import employers
from services.employer.domain.employers import (EMPLOYER, Agreement, EmployerDetails, EndAgreement, RegisterEmployer,
                                                SignAgreement)
from services.employer.lookups import reserve_business_id
from services.platform.http import RUNTIME, Route, path_uuid


class AgreementView(BaseModel):
    employer_id: UUID
    agreement_id: UUID
    scope: list[AgreementScope]
    valid_from: date
    valid_to: date
    ended_on: date | None


class EmployerView(EmployerDetails):
    employer_id: UUID
    business_id: str
    employment_area: str
    agreements: list[AgreementView]


def _agreement_view(employer_id: UUID, agreement: Agreement) -> AgreementView:
    return AgreementView(employer_id=employer_id, agreement_id=agreement.agreement_id, scope=list(agreement.scope),
                         valid_from=agreement.valid_from, valid_to=agreement.valid_to, ended_on=agreement.ended_on)


def _view(employer: employers.Employer) -> EmployerView:
    return EmployerView(employer_id=employer.employer_id, business_id=employer.business_id,
                        employment_area=employer.employment_area, **employer.details.model_dump(),
                        agreements=[_agreement_view(employer.employer_id, agreement) for agreement in employer.agreements])


async def register_employer(request: web.Request, command: RegisterEmployer) -> EmployerView:
    runtime, employer_id = request.app[RUNTIME], uuid4()
    async with runtime.unit_of_work(request) as uow:
        employer = await uow.create(EMPLOYER, str(employer_id),
                                    lambda employer: employers.register(employer, employer_id, command),
                                    area=command.employment_area)
        await reserve_business_id(uow.connection, command.employment_area, command.business_id, employer_id)
    return _view(employer)


async def get_employer(request: web.Request) -> EmployerView:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        employer, _ = await uow.read(EMPLOYER, str(path_uuid(request, "employer_id")))
    return _view(employer)


async def correct_employer(request: web.Request, command: EmployerDetails) -> EmployerView:
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        employer = await uow.decide(EMPLOYER, str(path_uuid(request, "employer_id")),
                                    lambda employer: employers.correct(employer, command))
    return _view(employer)


async def sign_agreement(request: web.Request, command: SignAgreement) -> AgreementView:
    agreement_id = uuid4()
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        employer = await uow.decide(EMPLOYER, str(path_uuid(request, "employer_id")),
                                    lambda employer: employers.sign_agreement(employer, agreement_id, command))
    return _agreement_view(employer.employer_id, employer.agreements[-1])


async def end_agreement(request: web.Request, command: EndAgreement) -> AgreementView:
    agreement_id = path_uuid(request, "agreement_id")
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        employer = await uow.decide(EMPLOYER, str(path_uuid(request, "employer_id")),
                                    lambda employer: employers.end_agreement(employer, agreement_id, command))
    return _agreement_view(employer.employer_id, next(each for each in employer.agreements if each.agreement_id == agreement_id))


ROUTES = [
    Route("POST", "/employers", register_employer, "Register an employer by its Y-tunnus (once per area)",
          body=RegisterEmployer, response=EmployerView, status=201),
    Route("GET", "/employers/{employer_id}", get_employer, "An employer and its partnership agreements",
          response=EmployerView),
    Route("POST", "/employers/{employer_id}/corrections", correct_employer,
          "Correct the employer's name, type, industry or municipality", body=EmployerDetails, response=EmployerView),
    Route("POST", "/employers/{employer_id}/agreements", sign_agreement,
          "Record a signed partnership agreement: what kinds of placement it covers, and when",
          body=SignAgreement, response=AgreementView, status=201),
    Route("POST", "/employers/{employer_id}/agreements/{agreement_id}/ending", end_agreement,
          "End an agreement early, with a reason", body=EndAgreement, response=AgreementView),
]
