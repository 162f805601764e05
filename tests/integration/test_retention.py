"""Retention: the personal data of a referral never enrolled is erased when the period of
services/intake/retention.yaml has passed, by intake's own task and by `polku intake erase-expired`
(one code); an enrolled client is not touched. Real databases, a moved clock."""
import asyncio
from datetime import date, timedelta

from sqlalchemy import select

from services.cli import main
from services.intake.retention import erase_expired, rule_on
from services.intake.service import SERVICE as INTAKE
from services.intake.tables import vault
from services.platform.audit import audit_log
from services.platform.tables import events
from tests.integration.test_vault import base_url, call, refer
from tests.support import BOTH_DATABASES, eventually

NOT_ELIGIBLE = {"labour_market_subsidy_days": 10, "unemployed_months": 2}


async def _vault_ids(engine) -> set[str]:
    async with engine.connect() as connection:
        return set((await connection.execute(select(vault.c.client_id))).scalars())


@BOTH_DATABASES
async def test_a_referral_never_enrolled_is_erased_when_its_retention_ends(start_service, token):
    intake = await start_service(INTAKE)
    today, days = date.today(), rule_on(date.today()).days
    refused = await refer(intake, token, **NOT_ELIGIBLE)
    refused_earlier = await refer(intake, token, referred_on=(today - timedelta(days=30)).isoformat(), **NOT_ELIGIBLE)
    enrolled = await refer(intake, token)
    assert await _vault_ids(intake.engine) == {refused, refused_earlier, enrolled}

    assert await erase_expired(intake.engine, today + timedelta(days=days - 31)) == []
    assert await erase_expired(intake.engine, today + timedelta(days=days - 30)) == [refused_earlier]
    assert await erase_expired(intake.engine, today + timedelta(days=days)) == [refused]
    assert await _vault_ids(intake.engine) == {enrolled}, "the enrolled client's data stays"
    assert await erase_expired(intake.engine, today + timedelta(days=5 * days)) == [], "once, and never the enrolled"

    _, client, _ = await call("GET", f"{base_url(intake)}/clients/{refused}", token("manager"))
    assert client["personal_data_erased_on"] == (today + timedelta(days=days)).isoformat()
    async with intake.engine.connect() as connection:
        erasures = (await connection.execute(select(events.c.envelope).where(
            events.c.event_type == "ClientDataErased"))).scalars().all()
        audited = (await connection.execute(select(audit_log.c.actor, audit_log.c.purpose, audit_log.c.subject).where(
            audit_log.c.action == "change: ClientDataErased").order_by(audit_log.c.seq))).all()
    assert len(erasures) == 2 and all('"reason":"retention_period_ended"' in envelope.replace(" ", "")
                                      for envelope in erasures)
    assert audited == [("polku-retention", "retention_erasure", f"Client {refused_earlier}"),
                       ("polku-retention", "retention_erasure", f"Client {refused}")]


async def test_a_client_enrolled_on_a_return_keeps_their_data(start_service, token):
    intake = await start_service(INTAKE)
    client_id = await refer(intake, token, **NOT_ELIGIBLE)
    status, _, raw = await call("POST", f"{base_url(intake)}/clients/{client_id}/referrals",
                                token("case_worker", user="cw-own"),
                                {k: v for k, v in (await _body()).items() if k != "person"})
    assert status == 201, raw
    assert await erase_expired(intake.engine, date.today() + timedelta(days=10 * rule_on(date.today()).days)) == []
    assert await _vault_ids(intake.engine) == {client_id}


async def _body() -> dict:
    from tests.integration.test_vault import referral
    return referral()


async def test_the_cli_erases_with_the_same_code(start_service, token, monkeypatch, capsys, master_key):
    intake = await start_service(INTAKE)
    days = rule_on(date.today()).days
    refused = await refer(intake, token, referred_on=(date.today() - timedelta(days=days - 10)).isoformat(),
                          **NOT_ELIGIBLE)
    kept = await refer(intake, token, **NOT_ELIGIBLE)
    monkeypatch.setenv("POLKU_DATABASE_URL", intake.settings.database_url)
    monkeypatch.setenv("POLKU_MASTER_KEY", master_key)
    assert await _run_cli("--today", (date.today() + timedelta(days=9)).isoformat()) == 0
    assert await _vault_ids(intake.engine) == {refused, kept}, "not yet"
    assert await _run_cli("--today", (date.today() + timedelta(days=10)).isoformat()) == 0
    assert f"1 clients' personal data erased (referrals not enrolled within {days} days" in capsys.readouterr().out
    assert await _vault_ids(intake.engine) == {kept}


async def test_intake_erases_by_itself_at_its_interval(start_service, token):
    intake = await start_service(INTAKE, retention_interval_s=0.2)
    expired = await refer(intake, token, referred_on=(date.today() - timedelta(days=400)).isoformat(), **NOT_ELIGIBLE)
    kept = await refer(intake, token, **NOT_ELIGIBLE)

    async def erased() -> bool:
        return await _vault_ids(intake.engine) == {kept}

    await eventually(erased, what=f"client {expired} erased by intake's own task")


async def _run_cli(*args: str) -> int:
    return await asyncio.to_thread(main, ["intake", "erase-expired", *args])
