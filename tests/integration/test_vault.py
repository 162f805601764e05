"""Intake's personal-data vault over HTTP: written with the referral, encrypted at rest, read only by
the client's own case worker with a purpose (audited); bad input changes nothing."""
import json
from typing import Any

import aiohttp
from sqlalchemy import func, select

from services.intake.service import SERVICE as INTAKE
from services.intake.tables import vault
from services.platform.tables import audit_log, events
from tests.support import referral_body

PERSON = {"name": "Ilmari Salatunen", "personal_identity_code": "131052Y308T", "email": "ilmari.s@example.org",
          "phone": "+358 40 555 0199", "notes": "Prefers phone calls in the afternoon."}


def referral(**overrides: Any) -> dict[str, Any]:
    """Eligible (450 subsidy days), so the client is enrolled with case worker cw-own."""
    return referral_body(**({"person": PERSON} | overrides))


async def call(method: str, url: str, token: str | None = None, body: Any = None,
               headers: dict[str, str] | None = None) -> tuple[int, Any, str]:
    """Status, decoded JSON (or None) and the raw text of one request."""
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    async with aiohttp.ClientSession() as http, http.request(method, url, json=body, headers=sent) as response:
        raw = await response.text()
        try:
            return response.status, json.loads(raw), raw
        except ValueError:
            return response.status, None, raw


def base_url(runtime) -> str:
    return f"http://127.0.0.1:{runtime.settings.http_port}"


async def stored(engine) -> dict[str, int]:
    """What a refused request must leave as it was: events, vault rows and audit entries."""
    async with engine.connect() as connection:
        return {name: (await connection.execute(select(func.count()).select_from(table))).scalar_one()
                for name, table in (("events", events), ("vault", vault), ("audit", audit_log))}


async def refer(intake, token, **overrides) -> str:
    status, body, raw = await call("POST", f"{base_url(intake)}/clients", token("integration"), referral(**overrides))
    assert status == 201, raw
    return body["client_id"]


def purpose(text: str = "client_meeting") -> dict[str, str]:
    return {"X-Purpose": text}


async def test_the_own_case_worker_reads_the_personal_data_and_the_read_is_audited(start_service, token):
    intake = await start_service(INTAKE)
    client_id = await refer(intake, token)
    url = f"{base_url(intake)}/clients/{client_id}/personal-data"

    status, body, raw = await call("GET", url, token("case_worker", user="cw-own"), headers=purpose())
    assert status == 200, raw
    assert body == {"client_id": client_id, **PERSON}

    status, entries, _ = await call("GET", f"{base_url(intake)}/audit?subject=Client {client_id}",
                                    token("auditor"))
    assert status == 200
    assert [(entry["actor"], entry["action"], entry["purpose"]) for entry in entries] == [
        ("test-integration", "change: ClientReferred, EntryFactsRecorded, EligibilityAssessed, ClientEnrolled",
         "POST /clients"),
        ("cw-own", "read personal data", "client_meeting")]


async def test_the_anonymous_view_has_no_personal_data(start_service, token):
    intake = await start_service(INTAKE)
    client_id = await refer(intake, token)
    for role in ("manager", "case_worker", "integration"):
        status, body, raw = await call("GET", f"{base_url(intake)}/clients/{client_id}", token(role))
        assert status == 200
        assert body["status"] == "enrolled" and body["personal_data_erased_on"] is None
        for value in PERSON.values():
            assert value not in raw


async def test_nobody_else_reads_it_and_a_refused_read_is_not_recorded(start_service, token):
    intake = await start_service(INTAKE)
    client_id = await refer(intake, token)
    not_enrolled = await refer(intake, token, labour_market_subsidy_days=10, unemployed_months=2)
    before = await stored(intake.engine)

    async def read(client: str, bearer: str) -> tuple[int, str]:
        status, body, raw = await call("GET", f"{base_url(intake)}/clients/{client}/personal-data", bearer,
                                       headers=purpose())
        for value in PERSON.values():
            assert value not in raw
        return status, body["detail"]

    assert await read(client_id, token("case_worker", user="cw-other")) == (
        403, f"client {client_id} is not a client of case worker cw-other; "
             "a case worker sees the personal data of their own clients only")
    status, detail = await read(client_id, token("manager"))
    assert status == 403 and "is for case_worker; the token has manager" in detail
    assert (await read(client_id, token("integration")))[0] == 403
    assert (await read(client_id, token("auditor")))[0] == 403
    # The own case worker's user id, but a token of another employment area: the client is not there.
    assert await read(client_id, token("case_worker", area="tornio", user="cw-own")) == (
        404, f"no client {client_id}")
    # The referral named cw-own, but a client who was not enrolled has no case worker yet.
    assert (await read(not_enrolled, token("case_worker", user="cw-own")))[0] == 403
    assert await stored(intake.engine) == before, "a refused read leaves no audit entry and changes nothing"


async def test_a_read_without_a_purpose_is_refused_naming_the_header(start_service, token):
    intake = await start_service(INTAKE)
    client_id = await refer(intake, token)
    before = await stored(intake.engine)
    for headers, rule in (({}, "required"), ({"X-Purpose": "   "}, "required"),
                          ({"X-Purpose": "x" * 256}, "must be a purpose code"),
                          ({"X-Purpose": "meeting Matti about his debts"}, "must be a purpose code in force today"),
                          ({"X-Purpose": "CLIENT_MEETING"}, "one of client_referral, service_planning")):
        status, body, _ = await call("GET", f"{base_url(intake)}/clients/{client_id}/personal-data",
                                     token("case_worker", user="cw-own"), headers=headers)
        assert status == 422
        assert [error["field"] for error in body["errors"]] == ["X-Purpose"]
        assert rule in body["errors"][0]["rule"], body
    assert await stored(intake.engine) == before


async def test_a_client_without_personal_data_has_none_to_read(start_service, token):
    intake = await start_service(INTAKE)
    body = {key: value for key, value in referral().items() if key != "person"}
    status, created, _ = await call("POST", f"{base_url(intake)}/clients", token("integration"), body)
    assert status == 201
    status, body, _ = await call("GET", f"{base_url(intake)}/clients/{created['client_id']}/personal-data",
                                 token("case_worker", user="cw-own"), headers=purpose())
    assert (status, body["detail"]) == (404, f"client {created['client_id']} has no personal data on record")


async def test_an_invalid_identity_code_is_refused_naming_the_field_and_rule_and_nothing_is_stored(
        start_service, token):
    intake = await start_service(INTAKE)
    await refer(intake, token)
    before = await stored(intake.engine)
    cases = [
        ({"personal_identity_code": "131052-308U"}, "person.personal_identity_code",
         "the check character does not match"),
        ({"personal_identity_code": "300252Y308T"}, "person.personal_identity_code", "is not a calendar date"),
        ({"personal_identity_code": "131052Q308T"}, "person.personal_identity_code", "wrong format"),
        ({"personal_identity_code": "131052-901X"}, "person.personal_identity_code", "temporary identifiers"),
        ({"email": "ilmari at example"}, "person.email", "must be an e-mail address"),
        ({"name": ""}, "person.name", "at least 1 character"),
        ({"address": "Valtakatu 1"}, "person.address", "Extra inputs are not permitted"),
    ]
    for change, field, rule in cases:
        bad = referral(person=PERSON | change)
        status, body, raw = await call("POST", f"{base_url(intake)}/clients", token("integration"), bad)
        assert status == 422, raw
        assert [error["field"] for error in body["errors"]] == [field]
        assert rule in body["errors"][0]["rule"] and rule in body["detail"]
        for value in (*bad["person"].values(),):
            if len(value) > 3:
                assert value not in raw, f"the response repeats {field}'s value"
    assert await stored(intake.engine) == before, "no event, vault row or audit entry from a refused referral"


async def test_the_database_holds_the_person_encrypted_only(start_service, token):
    intake = await start_service(INTAKE)
    client_id = await refer(intake, token)
    async with intake.engine.connect() as connection:
        [row] = (await connection.execute(select(vault))).mappings().all()
        envelopes = [envelope for (envelope,) in await connection.execute(select(events.c.envelope))]
    assert row["client_id"] == client_id and len(envelopes) == 4
    stored_bytes = row["wrapped_key"] + row["ciphertext"] + "".join(envelopes).encode()
    for value in PERSON.values():
        assert value.encode() not in stored_bytes
    assert len(row["ciphertext"]) > len(json.dumps(PERSON)), "the whole person is in the ciphertext"
