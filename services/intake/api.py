"""HTTP API of intake: handlers of a few lines that turn requests into commands.

Personal data goes into the vault in the transaction of the client's events and comes out only
to the client's own case worker (audited, with a purpose) or to a partner the client consented to.
"""
import logging
from datetime import date
from uuid import UUID, uuid4

from aiohttp import web
from pydantic import BaseModel, ValidationError

from contracts.events.intake import ConsentScope, Partner
from services.intake import domain
from services.intake.domain import (CLIENT, SHARED_FIELDS, Consent, EraseClientData, PersonalData, RecordConsent,
                                    ReferClient, refer)
from services.intake.vault import scrub, shred, vault_for
from services.platform.errors import NotFound
from services.platform.http import RUNTIME, Route, invalid_fields, path_uuid, principal_of, stated_purpose

log = logging.getLogger(__name__)


class ConsentView(BaseModel):
    consent_id: UUID
    partner: Partner
    scope: list[ConsentScope]
    valid_from: date
    valid_to: date
    recorded_on: date
    withdrawn_on: date | None


class ClientView(BaseModel):
    """Anonymous facts only: this is what managers and integrations see."""

    client_id: UUID
    status: str
    employment_area: str
    eligibility_criterion: str | None
    case_worker_id: str | None
    personal_data_erased_on: date | None
    consents: list[ConsentView]


class PersonalDataView(PersonalData):
    client_id: UUID


class SharedData(BaseModel):
    """What a partner gets: only the fields of the consented scopes."""

    client_id: UUID
    partner: Partner
    scope: list[ConsentScope]
    consent_ids: list[UUID]
    data: dict[str, str | None]


class ShareRequest(BaseModel):
    partner: Partner
    scope: list[ConsentScope]


def _consent_view(consent: Consent) -> ConsentView:
    return ConsentView(consent_id=consent.consent_id, partner=consent.partner, scope=list(consent.scope),
                       valid_from=consent.valid_from, valid_to=consent.valid_to, recorded_on=consent.recorded_on,
                       withdrawn_on=consent.withdrawn_on)


def _view(client_id: UUID, client) -> ClientView:
    return ClientView(client_id=client_id, status=client.status, employment_area=client.employment_area,
                      eligibility_criterion=client.criterion, case_worker_id=client.case_worker_id,
                      personal_data_erased_on=client.erased_on,
                      consents=[_consent_view(consent) for consent in client.consents])


async def refer_client(request: web.Request, referral: ReferClient) -> ClientView:
    runtime, client_id = request.app[RUNTIME], uuid4()
    async with runtime.unit_of_work(request) as uow:
        client = await uow.create(CLIENT, str(client_id),
                                  lambda client: refer(client, client_id, referral, date.today()),
                                  area=referral.employment_area)
        if referral.person is not None:
            await vault_for(runtime.settings).store(uow.connection, str(client_id), referral.person)
    return _view(client_id, client)


async def get_client(request: web.Request) -> ClientView:
    client_id = path_uuid(request, "client_id")
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        client, _ = await uow.read(CLIENT, str(client_id))
    return _view(client_id, client)


async def read_personal_data(request: web.Request) -> PersonalDataView:
    client_id, runtime = path_uuid(request, "client_id"), request.app[RUNTIME]
    stated_purpose(request, required=True)
    async with runtime.unit_of_work(request) as uow:
        client, _ = await uow.read(CLIENT, str(client_id))
        domain.read_personal_data(client, client_id, principal_of(request))
        person = await vault_for(runtime.settings).load(uow.connection, str(client_id))
        if person is None:
            raise NotFound(f"client {client_id} has no personal data on record")
        await uow.audit_read(f"Client {client_id}", "personal data")
    return PersonalDataView(client_id=client_id, **person.model_dump())


async def erase_personal_data(request: web.Request, command: EraseClientData) -> ClientView:
    client_id, runtime = path_uuid(request, "client_id"), request.app[RUNTIME]
    async with runtime.unit_of_work(request) as uow:
        client = await uow.decide(CLIENT, str(client_id), lambda client: domain.erase(
            client, client_id, principal_of(request), command, date.today()))
        held = await shred(uow.connection, str(client_id))
    await scrub(runtime.engine)
    log.info("personal data erased", extra={"client_id": str(client_id), "vault_row_deleted": held})
    return _view(client_id, client)


async def record_consent(request: web.Request, command: RecordConsent) -> ConsentView:
    client_id, consent_id = path_uuid(request, "client_id"), uuid4()
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        client = await uow.decide(CLIENT, str(client_id), lambda client: domain.record_consent(
            client, client_id, consent_id, principal_of(request), command, date.today()))
    return _consent_view(next(consent for consent in client.consents if consent.consent_id == consent_id))


async def withdraw_consent(request: web.Request) -> ConsentView:
    client_id, consent_id = path_uuid(request, "client_id"), path_uuid(request, "consent_id")
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        client = await uow.decide(CLIENT, str(client_id), lambda client: domain.withdraw_consent(
            client, client_id, consent_id, principal_of(request), date.today()))
    return _consent_view(next(consent for consent in client.consents if consent.consent_id == consent_id))


async def shared_data(request: web.Request) -> SharedData:
    """For a partner's system: the fields of the asked scopes, only under consents in force today."""
    client_id, runtime = path_uuid(request, "client_id"), request.app[RUNTIME]
    asked = _share_request(request)
    async with runtime.unit_of_work(request) as uow:
        client, _ = await uow.read(CLIENT, str(client_id))
        consents = domain.consents_to_share(client, client_id, asked.partner, asked.scope, date.today())
        person = await vault_for(runtime.settings).load(uow.connection, str(client_id))
        if person is None:
            raise NotFound(f"client {client_id} has no personal data on record")
        consent_ids = [consent.consent_id for consent in consents]
        if not stated_purpose(request):
            uow.purpose = f"shared with {asked.partner} under consent " + ", ".join(map(str, consent_ids))
        await uow.audit_read(f"Client {client_id}", f"{' and '.join(asked.scope)} for {asked.partner}")
    fields = [field for scope in asked.scope for field in SHARED_FIELDS[scope]]
    return SharedData(client_id=client_id, partner=asked.partner, scope=asked.scope, consent_ids=consent_ids,
                      data={field: getattr(person, field) for field in dict.fromkeys(fields)})


def _share_request(request: web.Request) -> ShareRequest:
    """`?partner=te_office&scope=contact_details,personal_data` (or `scope` repeated)."""
    query = {"partner": request.query.get("partner"),
             "scope": [scope for value in request.query.getall("scope", []) for scope in value.split(",") if scope]}
    if query["partner"] is None:
        del query["partner"]
    if not query["scope"]:
        del query["scope"]
    try:
        asked = ShareRequest.model_validate(query)
    except ValidationError as error:
        raise invalid_fields(error) from None
    asked.scope = list(dict.fromkeys(asked.scope))
    return asked


ROUTES = [
    Route("POST", "/clients", refer_client, "Refer a client; eligibility is decided at once. Personal data "
          "(`person`) goes to the vault only", body=ReferClient, response=ClientView, status=201),
    Route("GET", "/clients/{client_id}", get_client, "A client's status: anonymous facts", response=ClientView),
    Route("GET", "/clients/{client_id}/personal-data", read_personal_data,
          "The client's personal data, for their own case worker; the X-Purpose header says why (audited)",
          response=PersonalDataView),
    Route("POST", "/clients/{client_id}/erasure", erase_personal_data,
          "Erase the client's personal data by deleting its key (crypto-shredding); the anonymous history stays",
          body=EraseClientData, response=ClientView),
    Route("POST", "/clients/{client_id}/consents", record_consent,
          "Record the client's consent to share personal data with a partner", body=RecordConsent,
          response=ConsentView, status=201),
    Route("POST", "/clients/{client_id}/consents/{consent_id}/withdrawal", withdraw_consent,
          "Withdraw a consent, effective at once", response=ConsentView),
    Route("GET", "/clients/{client_id}/shared-data", shared_data,
          "Personal data for a partner (?partner=…&scope=…), under a consent in force today (audited)",
          response=SharedData, query=ShareRequest),
]
