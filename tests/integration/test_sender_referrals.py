"""The sending system's own referral id: a referral sent again, also by concurrent retries, never makes a
second client; it is answered with the first one's client like a replayed Idempotency-Key."""
import asyncio

import aiohttp
import pytest
from sqlalchemy import func, select

from services.intake.service import SERVICE as INTAKE
from services.intake.tables import sender_referrals
from services.platform.tables import events
from tests.integration.histories import count_rows
from tests.support import BOTH_DATABASES, bearer, referral_body


async def _referred(engine) -> int:
    async with engine.connect() as connection:
        return (await connection.execute(select(func.count()).select_from(events).where(
            events.c.event_type == "ClientReferred"))).scalar_one()


@BOTH_DATABASES
async def test_a_referral_sent_again_is_answered_with_the_first_client(start_service, token):
    intake = await start_service(INTAKE)
    url = f"http://127.0.0.1:{intake.settings.http_port}/clients"
    case_worker = bearer(token("case_worker", "kemi", "cw-own"))
    async with aiohttp.ClientSession(headers=case_worker) as http:
        async with http.post(url, json=referral_body(sender_referral_id="TE-2026-77")) as first:
            assert first.status == 201, await first.text()
            assert "Idempotent-Replayed" not in first.headers
            first_body = await first.json()
        written = await count_rows(intake.engine, events)
        async with http.post(url, json=referral_body(sender_referral_id="TE-2026-77", age=50)) as again:
            assert again.status == 201 and again.headers["Idempotent-Replayed"] == "true"
            assert await again.json() == first_body, "the first client, as it is"
        assert await count_rows(intake.engine, events) == written, "the retry wrote nothing"
        # Another sender's id, or another id of the same sender, is another referral.
        async with http.post(url, json=referral_body(sender_referral_id="TE-2026-77", referred_by="city")) as city:
            assert city.status == 201 and (await city.json())["client_id"] != first_body["client_id"]
        async with http.post(url, json=referral_body(sender_referral_id="TE-2026-78")) as other:
            assert other.status == 201 and (await other.json())["client_id"] != first_body["client_id"]
    assert await _referred(intake.engine) == 3


@BOTH_DATABASES
async def test_concurrent_retries_of_one_referral_make_one_client(start_service, token):
    intake = await start_service(INTAKE)
    url = f"http://127.0.0.1:{intake.settings.http_port}/clients"
    async with aiohttp.ClientSession(headers=bearer(token("case_worker", "kemi", "cw-own"))) as http:
        async def post() -> tuple[int, dict]:
            async with http.post(url, json=referral_body(sender_referral_id="TE-RACE-1")) as response:
                return response.status, await response.json()

        answers = await asyncio.gather(*(post() for _ in range(8)))
    assert {status for status, _ in answers} == {201}, answers
    assert len({body["client_id"] for _, body in answers}) == 1
    assert await _referred(intake.engine) == 1
    assert await count_rows(intake.engine, sender_referrals) == 1


@BOTH_DATABASES
async def test_a_returning_client_referred_under_a_taken_id_of_another_client_conflicts(start_service, token):
    intake = await start_service(INTAKE)
    base = f"http://127.0.0.1:{intake.settings.http_port}/clients"
    async with aiohttp.ClientSession(headers=bearer(token("case_worker", "kemi", "cw-own"))) as http:
        async with http.post(base, json=referral_body(sender_referral_id="TE-A", labour_market_subsidy_days=1,
                                                      unemployed_months=1)) as refused:
            first = await refused.json()
            assert first["status"] == "not_eligible"
        async with http.post(base, json=referral_body(sender_referral_id="TE-B", labour_market_subsidy_days=1,
                                                      unemployed_months=1)) as other:
            second = await other.json()
        again = f"{base}/{first['client_id']}/referrals"
        async with http.post(again, json=referral_body(sender_referral_id="TE-C")) as returned:
            assert returned.status == 201 and (await returned.json())["periods"][-1]["period"] == 2
        async with http.post(again, json=referral_body(sender_referral_id="TE-C")) as resent:
            assert resent.status == 201 and resent.headers["Idempotent-Replayed"] == "true"
            assert len((await resent.json())["periods"]) == 2, "no third period"
        async with http.post(f"{base}/{second['client_id']}/referrals",
                             json=referral_body(sender_referral_id="TE-C")) as taken:
            assert taken.status == 409 and first["client_id"] in (await taken.json())["detail"]


@pytest.mark.parametrize("bad", ["", " TE-1", "TE 1", "x" * 65, "TE-1\n", "-TE"])
async def test_a_bad_sender_referral_id_is_refused_naming_the_field(start_service, token, bad):
    intake = await start_service(INTAKE)
    async with aiohttp.ClientSession(headers=bearer(token("case_worker", "kemi", "cw-own"))) as http, \
            http.post(f"http://127.0.0.1:{intake.settings.http_port}/clients",
                      json=referral_body(sender_referral_id=bad)) as response:
        assert response.status == 422
        problem = await response.json()
    assert [error["field"] for error in problem["errors"]] == ["sender_referral_id"]
    assert "pattern" in problem["errors"][0]["rule"]
    assert await count_rows(intake.engine, events) == 0
