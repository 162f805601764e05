"""Idempotency-Key on every POST, once in the platform: a retry gets the first answer and writes nothing."""
import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp
from sqlalchemy import update

from services.employer.service import SERVICE as EMPLOYER
from services.intake.service import SERVICE as INTAKE
from services.platform import idempotency
from services.platform.idempotency import purge_expired
from services.platform.tables import events, idempotency_keys
from tests.integration.histories import count_rows
from tests.support import BOTH_DATABASES, DEFINITIONS, bearer, employer_body, referral_body


def headers(token: str, key: str) -> dict[str, str]:
    return bearer(token) | {"Idempotency-Key": key}


@BOTH_DATABASES
async def test_the_same_key_and_body_answer_the_first_response_and_write_nothing(start_service, token):
    intake = await start_service(INTAKE)
    url = f"http://127.0.0.1:{intake.settings.http_port}/clients"
    case_worker = token("case_worker", "kemi", "cw-own")
    async with aiohttp.ClientSession() as http:
        async with http.post(url, headers=headers(case_worker, "referral-1"), json=referral_body()) as first:
            assert first.status == 201, await first.text()
            first_body = await first.json()
        written = await count_rows(intake.engine, events)
        async with http.post(url, headers=headers(case_worker, "referral-1"), json=referral_body()) as again:
            assert again.status == 201
            assert await again.json() == first_body
            assert again.headers["Idempotent-Replayed"] == "true"
        assert await count_rows(intake.engine, events) == written, "the retry wrote nothing"

        async with http.post(url, headers=headers(case_worker, "referral-1"), json=referral_body(age=40)) as other:
            assert other.status == 422
            problem = await other.json()
            assert problem["errors"][0]["field"] == "Idempotency-Key"
            assert "another request" in problem["errors"][0]["rule"]

        # Keys are the caller's own: another case worker's "referral-1" is a request of its own.
        someone_else = token("case_worker", "kemi", "cw-other")
        async with http.post(url, headers=headers(someone_else, "referral-1"),
                             json=referral_body(case_worker="cw-other")) as theirs:
            assert theirs.status == 201 and (await theirs.json()) != first_body
        async with http.post(url, headers=headers(case_worker, " " * 3), json=referral_body()) as blank:
            assert blank.status == 422 and (await blank.json())["errors"][0]["field"] == "Idempotency-Key"
    assert await count_rows(intake.engine, idempotency_keys) == 2


@BOTH_DATABASES
async def test_concurrent_retries_with_one_key_make_one_change(start_service, token):
    employer = await start_service(EMPLOYER)
    url = f"http://127.0.0.1:{employer.settings.http_port}/employers"
    coordinator = headers(token("employer_coordinator", "kemi"), "register-kemi")
    async with aiohttp.ClientSession() as http:
        async def post() -> tuple[int, dict]:
            async with http.post(url, headers=coordinator, json=employer_body()) as response:
                return response.status, await response.json()

        answers = await asyncio.gather(*(post() for _ in range(6)))
        # Until the first answer is kept, a concurrent retry is told to come back (409); none is a second change.
        created = [body for status, body in answers if status == 201]
        assert created and all(status in (201, 409) for status, _ in answers), answers
        assert len({body["employer_id"] for body in created}) == 1
        status, body = await post()
        assert (status, body) == (201, created[0])
    assert await count_rows(employer.engine, events) == 1


def test_every_post_of_every_service_documents_the_key():
    from services.platform.access import allowed_roles
    from services.platform.audit import AUDIT_ROUTES
    from services.platform.http import openapi_document
    for name, definition in DEFINITIONS.items():
        document = openapi_document(name, "", [*definition.routes, *AUDIT_ROUTES], allowed_roles(name))
        for path, methods in document["paths"].items():
            if "post" in methods:
                names = [parameter["name"] for parameter in methods["post"].get("parameters", [])]
                assert "Idempotency-Key" in names, f"{name}: POST {path}"


@BOTH_DATABASES
async def test_a_key_expires_after_its_retention_and_is_purged(start_service, token):
    intake = await start_service(INTAKE)
    url = f"http://127.0.0.1:{intake.settings.http_port}/clients"
    case_worker = headers(token("case_worker", "kemi", "cw-own"), "referral-expiring")
    async with aiohttp.ClientSession() as http:
        async with http.post(url, headers=case_worker, json=referral_body()) as first:
            first_body = await first.json()
        # The clock moves on past the retention (24 h by default): the key's row is older than that.
        kept = idempotency.KeyTimes.of(intake.settings).kept
        async with intake.engine.begin() as connection:
            await connection.execute(update(idempotency_keys).values(
                created_at=datetime.now(UTC) - kept - timedelta(minutes=1)))
        async with http.post(url, headers=case_worker, json=referral_body(age=40)) as later:
            assert later.status == 201, await later.text()
            assert "Idempotent-Replayed" not in later.headers, "the expired key is free again"
            assert (await later.json())["client_id"] != first_body["client_id"]
        async with http.post(url, headers=case_worker, json=referral_body(age=40)) as again:
            assert again.headers["Idempotent-Replayed"] == "true", "and it is claimed anew"
    async with intake.engine.begin() as connection:
        await connection.execute(idempotency_keys.insert().values(
            caller="someone", key="old", fingerprint="f", created_at=datetime.now(UTC) - kept - timedelta(hours=1)))
    assert await purge_expired(intake.engine, kept) == 1
    assert await count_rows(intake.engine, idempotency_keys) == 1


@BOTH_DATABASES
async def test_a_claim_whose_answer_was_lost_answers_the_recorded_outcome(start_service, token, monkeypatch):
    intake = await start_service(INTAKE, idempotency_open_s=0.5)
    url = f"http://127.0.0.1:{intake.settings.http_port}/clients"
    case_worker = headers(token("case_worker", "kemi", "cw-own"), "referral-lost")

    async def process_killed_after_the_commit(*_args) -> None:
        """The change committed; the process died before it kept the answer."""

    monkeypatch.setattr(idempotency, "keep_answer", process_killed_after_the_commit)
    async with aiohttp.ClientSession() as http:
        async with http.post(url, headers=case_worker, json=referral_body()) as first:
            client_id = (await first.json())["client_id"]
        written = await count_rows(intake.engine, events)
        async with http.post(url, headers=case_worker, json=referral_body()) as soon:
            assert soon.status == 409, "the first may still be answering"
        await asyncio.sleep(0.6)
        async with http.post(url, headers=case_worker, json=referral_body()) as later:
            assert later.status == 410, await later.text()
            problem = await later.json()
    assert f"Client {client_id} to version 4" in problem["detail"] and "will not run again" in problem["detail"]
    assert problem["errors"] == [{"field": "Idempotency-Key", "rule": "answered once"}]
    assert await count_rows(intake.engine, events) == written, "the retry wrote nothing"
