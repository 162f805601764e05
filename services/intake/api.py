"""HTTP API of intake: handlers of a few lines that turn requests into commands.

Personal data goes into the vault in the transaction of the client's events and comes out only
to the client's own case worker (audited, with a purpose) or to a partner the client consented to.
"""
import logging
from datetime import date
from uuid import UUID, uuid4

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.events.intake import ClientStatus, ConsentScope, EntryFacts, ExitStatus, Partner
from services.intake import caseload
from services.intake.domain import consent, journey
from services.intake.domain.client import CLIENT, Client, Consent, Period
from services.intake.domain.consent import EraseClientData, RecordConsent
from services.intake.domain.journey import (CorrectEntryFacts, ExitClient, ReassignCaseWorker, RecordFollowUp,
                                            RecordSkillTags)
from services.intake.domain.personal_data import SHARED_FIELDS, PersonalData
from services.intake.domain.referral import ReferClient
from services.intake.sender_referrals import Taken, take
from services.intake.vault import scrub, shred, vault_for
from services.platform.errors import NotFound
from services.platform.http import RUNTIME, Route, path_int, path_uuid, principal_of, stated_purpose
from services.platform.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


class ConsentView(BaseModel):
    consent_id: UUID
    partner: Partner
    scope: list[ConsentScope]
    valid_from: date
    valid_to: date
    recorded_on: date
    withdrawn_on: date | None


class PeriodView(BaseModel):
    """One enrolment period: referral, decision, entry facts, exit and follow-up."""

    period: int
    programme: str
    referred_on: date
    status: ClientStatus
    rule_set_version: str | None
    eligibility_criterion: str | None
    entry_facts: EntryFacts | None
    enrolled_on: date | None
    exited_on: date | None
    status_at_exit: ExitStatus | None
    qualification_gained: bool | None
    six_month_status: ExitStatus | None
    six_month_status_on: date | None


class ClientView(BaseModel):
    """Anonymous facts only: this is what managers and integrations see. `status` and
    `eligibility_criterion` are those of the current (last) period."""

    client_id: UUID
    status: ClientStatus
    employment_area: str
    eligibility_criterion: str | None
    case_worker_id: str | None
    skill_tags: list[str]
    personal_data_erased_on: date | None
    consents: list[ConsentView]
    periods: list[PeriodView]


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
    """`?partner=te_office&scope=contact_details,personal_data` (or `scope` repeated)."""

    model_config = ConfigDict(extra="forbid")

    partner: Partner = Field(description="the partner system asking: the one its token names")
    scope: list[ConsentScope] = Field(min_length=1, description="what it asks for, comma-separated or repeated")

    @field_validator("scope")
    @classmethod
    def _once_each(cls, scope: list[str]) -> list[str]:
        return list(dict.fromkeys(scope))


def _consent_view(consent: Consent) -> ConsentView:
    return ConsentView(consent_id=consent.consent_id, partner=consent.partner, scope=list(consent.scope),
                       valid_from=consent.valid_from, valid_to=consent.valid_to, recorded_on=consent.recorded_on,
                       withdrawn_on=consent.withdrawn_on)


def _period_view(period: Period) -> PeriodView:
    return PeriodView(period=period.number, programme=period.programme, referred_on=period.referred_on,
                      status=period.status, rule_set_version=period.rule_set_version,
                      eligibility_criterion=period.criterion, entry_facts=period.entry_facts,
                      enrolled_on=period.enrolled_on, exited_on=period.exited_on, status_at_exit=period.status_at_exit,
                      qualification_gained=period.qualification_gained, six_month_status=period.follow_up_status,
                      six_month_status_on=period.follow_up_on)


def _view(client_id: UUID, client: Client) -> ClientView:
    return ClientView(client_id=client_id, status=client.status, employment_area=client.employment_area,
                      eligibility_criterion=client.current.criterion, case_worker_id=client.case_worker_id,
                      skill_tags=list(client.skill_tags), personal_data_erased_on=client.erased_on,
                      consents=[_consent_view(consent) for consent in client.consents],
                      periods=[_period_view(period) for period in client.periods])


async def _decided(uow: UnitOfWork, client_id: UUID, decide) -> Client:
    """The client after `decide`, with its caseload row written in the same transaction."""
    client = await uow.decide(CLIENT, str(client_id), decide)
    await caseload.save(uow.connection, client_id, client)
    return client


async def refer_client(request: web.Request, referral: ReferClient) -> ClientView | web.Response:
    runtime = request.app[RUNTIME]

    async def keep_person(uow: UnitOfWork, client_id: UUID, _client: Client) -> None:
        if referral.person is not None:
            await vault_for(runtime.settings).store(uow.connection, str(client_id), referral.person)

    return _answer(await take(lambda: runtime.unit_of_work(request), runtime.engine, referral, date.today(),
                              also=keep_person))


async def refer_again(request: web.Request, referral: ReferClient) -> ClientView | web.Response:
    """A client who left (or was refused) comes back: a new enrolment period, the earlier ones kept."""
    client_id, runtime = path_uuid(request, "client_id"), request.app[RUNTIME]

    async def keep_person(uow: UnitOfWork, client_id: UUID, client: Client) -> None:
        if referral.person is not None:
            consent.store_personal_data(client, client_id, principal_of(request))  # not after an erasure
            await vault_for(runtime.settings).store(uow.connection, str(client_id), referral.person)

    return _answer(await take(lambda: runtime.unit_of_work(request), runtime.engine, referral, date.today(),
                              returning=client_id, also=keep_person))


def _answer(taken: Taken) -> ClientView | web.Response:
    """A referral its sender sent before is answered like a replayed Idempotency-Key: the first client,
    201, `Idempotent-Replayed: true`."""
    view = _view(taken.client_id, taken.client)
    if not taken.again:
        return view
    return web.json_response(view.model_dump(mode="json"), status=201, headers={"Idempotent-Replayed": "true"})


async def _journey(request: web.Request, decide) -> ClientView:
    """`decide(client, client_id, actor)` on the client of the path, its caseload row kept with it."""
    client_id = path_uuid(request, "client_id")
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        client = await _decided(uow, client_id, lambda client: decide(client, client_id, principal_of(request)))
    return _view(client_id, client)


async def reassign_case_worker(request: web.Request, command: ReassignCaseWorker) -> ClientView:
    return await _journey(request, lambda client, client_id, actor: journey.reassign(
        client, client_id, actor, command, date.today()))


async def record_skill_tags(request: web.Request, command: RecordSkillTags) -> ClientView:
    return await _journey(request, lambda client, client_id, actor: journey.record_skill_tags(
        client, client_id, actor, command))


async def correct_entry_facts(request: web.Request, command: CorrectEntryFacts) -> ClientView:
    return await _journey(request, lambda client, client_id, actor: journey.correct_entry_facts(
        client, client_id, actor, command, date.today()))


async def exit_client(request: web.Request, command: ExitClient) -> ClientView:
    return await _journey(request, lambda client, client_id, actor: journey.exit_client(
        client, client_id, actor, command, date.today()))


async def record_follow_up(request: web.Request, command: RecordFollowUp) -> ClientView:
    period = path_int(request, "period")
    return await _journey(request, lambda client, client_id, actor: journey.record_follow_up(
        client, client_id, actor, period, command, date.today()))


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
        consent.read_personal_data(client, client_id, principal_of(request))
        person = await vault_for(runtime.settings).load(uow.connection, str(client_id))
        if person is None:
            raise NotFound(f"client {client_id} has no personal data on record")
        uow.audit_read(f"Client {client_id}", "personal data")
    return PersonalDataView(client_id=client_id, **person.model_dump())


async def store_personal_data(request: web.Request, person: PersonalData) -> PersonalDataView:
    client_id, runtime = path_uuid(request, "client_id"), request.app[RUNTIME]
    async with runtime.unit_of_work(request) as uow:
        client, _ = await uow.read(CLIENT, str(client_id))
        consent.store_personal_data(client, client_id, principal_of(request))
        await vault_for(runtime.settings).store(uow.connection, str(client_id), person)
        uow.audit_action("store personal data", f"Client {client_id}")
    return PersonalDataView(client_id=client_id, **person.model_dump())


async def erase_personal_data(request: web.Request, command: EraseClientData) -> ClientView:
    client_id, runtime = path_uuid(request, "client_id"), request.app[RUNTIME]
    async with runtime.unit_of_work(request) as uow:
        client = await _decided(uow, client_id, lambda client: consent.erase(
            client, client_id, principal_of(request), command, date.today()))
        held = await shred(uow.connection, str(client_id))
    await scrub(runtime.engine)
    log.info("personal data erased", extra={"client_id": str(client_id), "vault_row_deleted": held})
    return _view(client_id, client)


async def record_consent(request: web.Request, command: RecordConsent) -> ConsentView:
    client_id, consent_id = path_uuid(request, "client_id"), uuid4()
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        client = await uow.decide(CLIENT, str(client_id), lambda client: consent.record_consent(
            client, client_id, consent_id, principal_of(request), command, date.today()))
    return _consent_view(next(given for given in client.consents if given.consent_id == consent_id))


async def withdraw_consent(request: web.Request) -> ConsentView:
    client_id, consent_id = path_uuid(request, "client_id"), path_uuid(request, "consent_id")
    async with request.app[RUNTIME].unit_of_work(request) as uow:
        client = await uow.decide(CLIENT, str(client_id), lambda client: consent.withdraw_consent(
            client, client_id, consent_id, principal_of(request), date.today()))
    return _consent_view(next(given for given in client.consents if given.consent_id == consent_id))


async def shared_data(request: web.Request, asked: ShareRequest) -> SharedData:
    """For a partner's system: the fields of the asked scopes, only under consents in force today."""
    client_id, runtime = path_uuid(request, "client_id"), request.app[RUNTIME]
    async with runtime.unit_of_work(request) as uow:
        client, _ = await uow.read(CLIENT, str(client_id))
        consents = consent.consents_to_share(client, client_id, asked.partner, asked.scope, date.today())
        person = await vault_for(runtime.settings).load(uow.connection, str(client_id))
        if person is None:
            raise NotFound(f"client {client_id} has no personal data on record")
        consent_ids = [consent.consent_id for consent in consents]
        if not stated_purpose(request):
            uow.purpose = f"shared with {asked.partner} under consent " + ", ".join(map(str, consent_ids))
        uow.audit_read(f"Client {client_id}", f"{' and '.join(asked.scope)} for {asked.partner}")
    fields = [field for scope in asked.scope for field in SHARED_FIELDS[scope]]
    return SharedData(client_id=client_id, partner=asked.partner, scope=asked.scope, consent_ids=consent_ids,
                      data={field: getattr(person, field) for field in dict.fromkeys(fields)})


ROUTES = [
    Route("POST", "/clients", refer_client, "Refer a client; eligibility is decided at once. Personal data "
          "(`person`) goes to the vault only", body=ReferClient, response=ClientView, status=201),
    Route("GET", "/clients/{client_id}", get_client, "A client's status: anonymous facts", response=ClientView),
    Route("GET", "/clients/{client_id}/personal-data", read_personal_data,
          "The client's personal data, for their own case worker; the X-Purpose header says why (audited)",
          response=PersonalDataView),
    Route("PUT", "/clients/{client_id}/personal-data", store_personal_data,
          "Give or correct the client's personal data (after a referral over the bus, which carries none); "
          "it goes to the vault only", body=PersonalData, response=PersonalDataView),
    Route("POST", "/clients/{client_id}/erasure", erase_personal_data,
          "Erase the client's personal data by deleting its key (crypto-shredding); the anonymous history stays",
          body=EraseClientData, response=ClientView),
    Route("POST", "/clients/{client_id}/referrals", refer_again,
          "Refer a client again after an exit or a refusal: a new enrolment period", body=ReferClient,
          response=ClientView, status=201),
    Route("POST", "/clients/{client_id}/case-worker", reassign_case_worker,
          "Reassign the client to another case worker, who alone sees their personal data from now on",
          body=ReassignCaseWorker, response=ClientView),
    Route("POST", "/clients/{client_id}/skill-tags", record_skill_tags,
          "Record the client's skills as anonymous tags (replaces the earlier tags)", body=RecordSkillTags,
          response=ClientView),
    Route("POST", "/clients/{client_id}/entry-facts", correct_entry_facts,
          "Correct the entry facts of the current enrolment period", body=CorrectEntryFacts, response=ClientView),
    Route("POST", "/clients/{client_id}/exit", exit_client,
          "The client leaves: the date and the status at exit (within 28 days of leaving)", body=ExitClient,
          response=ClientView),
    Route("POST", "/clients/{client_id}/periods/{period}/follow-up", record_follow_up,
          "Record where the client was six months after leaving an enrolment period", body=RecordFollowUp,
          response=ClientView),
    Route("POST", "/clients/{client_id}/consents", record_consent,
          "Record the client's consent to share personal data with a partner", body=RecordConsent,
          response=ConsentView, status=201),
    Route("POST", "/clients/{client_id}/consents/{consent_id}/withdrawal", withdraw_consent,
          "Withdraw a consent, effective at once", response=ConsentView),
    Route("GET", "/clients/{client_id}/shared-data", shared_data,
          "Personal data for a partner (?partner=…&scope=…), under a consent in force today (audited)",
          response=SharedData, query=ShareRequest),
]
