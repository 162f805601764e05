"""Consent to share personal data with a partner: recorded and withdrawn by the client's own case
worker; a partner's system gets exactly the consented fields, only while a consent is in force."""
from datetime import date, timedelta
from urllib.parse import parse_qs

from sqlalchemy import select

from services.intake.service import SERVICE as INTAKE
from services.reporting.rebuild import rebuild
from services.reporting.service import SERVICE as REPORTING
from services.reporting.tables import clients
from tests.integration.test_vault import PERSON, base_url, call, refer, stored
from tests.support import eventually

TODAY = date.today()


def consent(**overrides) -> dict:
    return {"partner": "te_office", "scope": ["contact_details"], "valid_from": TODAY.isoformat(),
            "valid_to": (TODAY + timedelta(days=90)).isoformat()} | overrides


async def record(intake, token, client_id: str, user: str = "cw-own", **overrides) -> tuple[int, dict]:
    status, body, _ = await call("POST", f"{base_url(intake)}/clients/{client_id}/consents",
                                 token("case_worker", user=user), consent(**overrides))
    return status, body


async def shared(intake, token, client_id: str, query: str, area: str = "kemi",
                 headers: dict | None = None) -> tuple[int, dict, str]:
    # The partner system's own token: the partner it asks as is the one its token names.
    partner = parse_qs(query).get("partner", [None])[0]
    return await call("GET", f"{base_url(intake)}/clients/{client_id}/shared-data?{query}",
                      token("integration", area=area, user="te-office-system", partner=partner), headers=headers)


async def test_a_partner_gets_the_consented_fields_only_and_the_read_is_audited(start_service, token):
    intake = await start_service(INTAKE)
    client_id = await refer(intake, token)
    status, recorded = await record(intake, token, client_id)
    assert status == 201
    assert recorded | {"consent_id": None} == {
        "consent_id": None, "partner": "te_office", "scope": ["contact_details"], "valid_from": TODAY.isoformat(),
        "valid_to": (TODAY + timedelta(days=90)).isoformat(), "recorded_on": TODAY.isoformat(), "withdrawn_on": None}

    status, body, raw = await shared(intake, token, client_id, "partner=te_office&scope=contact_details")
    assert status == 200, raw
    assert body == {"client_id": client_id, "partner": "te_office", "scope": ["contact_details"],
                    "consent_ids": [recorded["consent_id"]],
                    "data": {"name": PERSON["name"], "email": PERSON["email"], "phone": PERSON["phone"]}}
    assert PERSON["personal_identity_code"] not in raw and PERSON["notes"] not in raw

    status, entries, _ = await call("GET", f"{base_url(intake)}/audit?subject=Client {client_id}&action=read",
                                    token("auditor"))
    assert [(entry["actor"], entry["action"], entry["purpose"]) for entry in entries] == [
        ("te-office-system", "read contact_details for te_office",
         f"shared with te_office under consent {recorded['consent_id']}")]

    # A second consent widens what may be shared; the X-Purpose header, when sent, is the audited purpose.
    status, second = await record(intake, token, client_id, scope=["personal_data"])
    assert status == 201
    status, body, _ = await shared(intake, token, client_id, "partner=te_office&scope=contact_details,personal_data",
                                   headers={"X-Purpose": "benefit_statement"})
    assert status == 200
    assert body["data"] == {"name": PERSON["name"], "email": PERSON["email"], "phone": PERSON["phone"],
                            "personal_identity_code": PERSON["personal_identity_code"]}
    assert body["consent_ids"] == [recorded["consent_id"], second["consent_id"]]
    status, entries, _ = await call("GET", f"{base_url(intake)}/audit?subject=Client {client_id}&action=read",
                                    token("auditor"))
    assert entries[-1]["purpose"] == "benefit_statement"


async def test_without_a_consent_in_force_for_that_partner_and_scope_nothing_is_shared(start_service, token):
    intake = await start_service(INTAKE)
    client_id = await refer(intake, token)
    assert (await record(intake, token, client_id))[0] == 201
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    assert (await record(intake, token, client_id, partner="foundation", valid_from=tomorrow))[0] == 201
    before = await stored(intake.engine)

    for query, missing in [
        ("partner=te_office&scope=personal_data", "to share personal_data with te_office"),
        ("partner=te_office&scope=contact_details,personal_data", "to share personal_data with te_office"),
        ("partner=education_provider&scope=contact_details", "to share contact_details with education_provider"),
        ("partner=foundation&scope=contact_details", "to share contact_details with foundation"),  # from tomorrow
    ]:
        status, body, raw = await shared(intake, token, client_id, query)
        assert status == 403, (query, raw)
        assert body["detail"] == f"client {client_id} has no consent in force on {TODAY.isoformat()} {missing}"
        for value in PERSON.values():
            assert value not in raw
    # Another employment area's integration does not see the client at all.
    status, body, _ = await shared(intake, token, client_id, "partner=te_office&scope=contact_details",
                                   area="tornio")
    assert (status, body["detail"]) == (404, f"no client {client_id}")
    # A case worker or a manager is not a partner's system.
    for role in ("case_worker", "manager"):
        status, _, _ = await call("GET", f"{base_url(intake)}/clients/{client_id}/shared-data?partner=te_office"
                                         "&scope=contact_details", token(role, user="cw-own"))
        assert status == 403
    assert await stored(intake.engine) == before, "refused shares leave no audit entry"


async def test_a_withdrawal_stops_sharing_at_once(start_service, token):
    intake = await start_service(INTAKE)
    client_id = await refer(intake, token)
    _, recorded = await record(intake, token, client_id)
    assert (await shared(intake, token, client_id, "partner=te_office&scope=contact_details"))[0] == 200

    url = f"{base_url(intake)}/clients/{client_id}/consents/{recorded['consent_id']}/withdrawal"
    assert (await call("POST", url, token("case_worker", user="cw-other")))[0] == 403
    status, withdrawn, _ = await call("POST", url, token("case_worker", user="cw-own"))
    assert status == 200 and withdrawn["withdrawn_on"] == TODAY.isoformat()
    status, body, _ = await shared(intake, token, client_id, "partner=te_office&scope=contact_details")
    assert status == 403 and "no consent in force" in body["detail"]

    status, body, _ = await call("POST", url, token("case_worker", user="cw-own"))
    assert (status, body["detail"]) == (409, f"consent {recorded['consent_id']} was withdrawn already on "
                                             f"{TODAY.isoformat()}")
    unknown = f"{base_url(intake)}/clients/{client_id}/consents/00000000-0000-4000-8000-000000000000/withdrawal"
    assert (await call("POST", unknown, token("case_worker", user="cw-own")))[0] == 404
    _, view, _ = await call("GET", f"{base_url(intake)}/clients/{client_id}", token("manager"))
    assert [(c["consent_id"], c["withdrawn_on"]) for c in view["consents"]] == [
        (recorded["consent_id"], TODAY.isoformat())]


async def test_bad_consents_and_share_requests_name_the_field_and_change_nothing(start_service, token):
    intake = await start_service(INTAKE)
    client_id = await refer(intake, token)
    await record(intake, token, client_id)
    before = await stored(intake.engine)
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    for overrides, field in [
        ({"valid_to": yesterday}, "valid_to"),  # before valid_from
        ({"valid_from": (TODAY - timedelta(days=9)).isoformat(), "valid_to": yesterday}, "valid_to"),  # ended
        ({"partner": "employer"}, "partner"),
        ({"scope": []}, "scope"),
        ({"scope": ["notes"]}, "scope.0"),
        ({"valid_from": "2026-02-30"}, "valid_from"),
        ({"purpose": "marketing"}, "purpose"),
    ]:
        status, body = await record(intake, token, client_id, **overrides)
        assert status == 422, (overrides, body)
        assert [error["field"] for error in body["errors"]] == [field]
    # Only the own case worker records a consent.
    assert (await record(intake, token, client_id, user="cw-other"))[0] == 403

    for query, field in [("scope=contact_details", "partner"), ("partner=te_office", "scope"),
                         ("partner=bank&scope=contact_details", "partner"),
                         ("partner=te_office&scope=notes", "scope.0")]:
        status, body, _ = await shared(intake, token, client_id, query)
        assert status == 422, query
        assert [error["field"] for error in body["errors"]] == [field]
    assert await stored(intake.engine) == before


async def test_reporting_follows_the_consent_and_erasure_events_without_changing_its_rows(start_service, nc,
                                                                                         token):
    """Consent and erasure events are events of the Client aggregate: reporting takes them, or it would
    hold back every later event of the client; rebuilt from the stream, the rows are the same."""
    intake = await start_service(INTAKE)
    reporting = await start_service(REPORTING)
    client_id = await refer(intake, token)

    async def row():
        async with reporting.engine.connect() as connection:
            query = select(clients).where(clients.c.client_id == client_id)
            return (await connection.execute(query)).mappings().first()

    async def at_version(version: int) -> bool:
        found = await row()
        return found is not None and found["version"] == version

    await eventually(lambda: at_version(4), what="the client row at version 4")
    enrolled = dict(await row())
    _, recorded = await record(intake, token, client_id)
    await call("POST", f"{base_url(intake)}/clients/{client_id}/consents/{recorded['consent_id']}/withdrawal",
               token("case_worker", user="cw-own"))
    await eventually(lambda: at_version(6), what="the client row at version 6")
    assert dict(await row()) == enrolled | {"version": 6}
    assert (await call("POST", f"{base_url(intake)}/clients/{client_id}/erasure", token("manager"),
                       {"reason": "retention_period_ended"}))[0] == 200
    await eventually(lambda: at_version(7), what="the client row at version 7")
    live = dict(await row())
    assert live == enrolled | {"version": 7}

    await reporting.stop()
    assert await rebuild(reporting.engine, nc, "POLKU", batch_size=2, show_progress=False) == 7
    assert dict(await row()) == live
