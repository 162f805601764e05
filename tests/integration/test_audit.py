"""The audit log: an entry for every change made through the API, GET /audit, and the hash chain.

Entries are checked against what the requests did (the token's user, the aggregate, the event types
the request appended, the X-Purpose header, the trace); the append-only triggers and `polku audit
verify` are checked on SQLite and PostgreSQL, with entries tampered with behind the triggers' back.
"""
import asyncio
import re
from datetime import UTC, datetime, timedelta, timezone

import aiohttp
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from services import cli
from services.intake.service import SERVICE as INTAKE
from services.platform import audit
from services.platform.auth import Principal
from services.platform.commit_groups import transaction
from services.platform.tables import audit_head, audit_log, events
from tests.support import BOTH_DATABASES, bearer, employer_body, eventually, get_json, referral_body, settled, url_of

REFERRAL = referral_body(case_worker="cw-kemi-1")
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


async def _last_position(engine) -> int:
    async with engine.connect() as connection:
        return (await connection.execute(select(func.coalesce(func.max(events.c.position), 0)))).scalar_one()


async def _types_since(engine, position: int, aggregate_id: str) -> tuple[str, list[str]]:
    """The aggregate type and the types of the events appended to one aggregate after `position`."""
    async with engine.connect() as connection:
        rows = (await connection.execute(
            select(events.c.aggregate_type, events.c.event_type)
            .where(events.c.position > position, events.c.aggregate_id == aggregate_id)
            .order_by(events.c.position))).all()
    assert rows, f"no events of {aggregate_id} after position {position}"
    return rows[0].aggregate_type, [row.event_type for row in rows]


async def _cli(monkeypatch, capsys, database_url: str, *args: str) -> tuple[int, str, str]:
    """`polku …` in a thread (it runs its own event loop) against one service's database."""
    monkeypatch.setenv("POLKU_DATABASE_URL", database_url)
    code = await asyncio.to_thread(cli.main, list(args))
    output = capsys.readouterr()
    return code, output.out, output.err


async def test_every_change_through_the_api_writes_one_entry_saying_who_what_and_why(five_services, token,
                                                                                   monkeypatch, capsys):
    url = url_of(five_services)
    expected: dict[str, list[dict]] = {service: [] for service in five_services}

    async def change(service: str, template: str, role: str, user: str, body: dict, id_field: str,
                     purpose: str | None = None, trace_id: str | None = None, **ids: str) -> str:
        runtime, path = five_services[service], template.format(**ids)
        before = await _last_position(runtime.engine)
        headers = bearer(token(role, "kemi", user))
        if purpose:
            headers["X-Purpose"] = purpose
        if trace_id:
            headers["traceparent"] = f"00-{trace_id}-b7ad6b7169203331-01"
        async with aiohttp.ClientSession(raise_for_status=True) as http, \
                http.post(url(service) + path, json=body, headers=headers) as response:
            aggregate_id = (await response.json())[id_field]
        aggregate_type, types = await _types_since(runtime.engine, before, aggregate_id)
        expected[service].append({
            "actor": user, "roles": role, "area": "kemi", "subject": f"{aggregate_type} {aggregate_id}",
            "action": "change: " + ", ".join(types), "purpose": purpose or f"POST {template}",
            "trace_id": trace_id})
        return aggregate_id

    client_id = await change("intake", "/clients", "case_worker", "cw-kemi-1", REFERRAL, "client_id",
                             purpose="client_referral", trace_id=TRACE_ID)
    employer_id = await change("employer", "/employers", "employer_coordinator", "ec-kemi-1", employer_body(
        name="Meri-Lapin työhönvalmennussäätiö", employer_type="foundation"), "employer_id")
    await change("employer", "/employers/{employer_id}/agreements", "employer_coordinator", "ec-kemi-1", {
        "scope": ["pay_subsidised_work"], "valid_from": "2026-01-01", "valid_to": "2027-12-31"}, "employer_id",
        employer_id=employer_id)
    await settled(five_services.values())  # the employer service has heard of the client's enrolment
    placement_id = await change("employer", "/placements", "employer_coordinator", "ec-kemi-2", {
        "client_id": client_id, "employer_id": employer_id, "kind": "pay_subsidised_work", "starts_on": "2026-09-01",
        "schedule": {"hours_per_week": "30"}, "hourly_billing_rate": "24.50", "pay_subsidy_decision": "PT-1"},
        "placement_id", purpose="placement")
    clerk = token("payroll_clerk", "kemi")

    async def opened() -> bool:
        async with aiohttp.ClientSession(headers=bearer(clerk)) as http, \
                http.get(f"{url('payroll_billing')}/employments/{placement_id}") as response:
            return response.status == 200

    await eventually(opened, what="the employment opened")
    await change("payroll_billing", "/employments/{employment_id}/timesheets", "payroll_clerk", "pc-kemi-1",
                 {"period_start": "2026-09-01", "period_end": "2026-09-30",
                  "days": [{"works_on": "2026-09-01", "hours": "7.5"}]}, "employment_id",
                 purpose="payroll_and_billing", employment_id=placement_id)
    await change("payroll_billing", "/invoices", "payroll_clerk", "pc-kemi-1",
                 {"employer_id": employer_id, "period_start": "2026-09-01", "period_end": "2026-09-30",
                  "issued_on": "2026-10-01"}, "invoice_id")

    assert expected["intake"][0]["action"] == ("change: ClientReferred, EntryFactsRecorded, EligibilityAssessed, "
                                               "ClientEnrolled")
    assert expected["payroll_billing"][0]["subject"] == f"Employment {placement_id}"
    auditor = token("auditor", "kemi", "au-1")
    for service, runtime in five_services.items():
        entries = await get_json(f"{url(service)}/audit", auditor)
        assert await get_json(f"{url(service)}/audit", token("auditor", "tornio")) == [], \
            "an auditor of another area sees none of these entries"
        # Event handlers (pathway planning, payroll opening the employment) change things too, but
        # only requests have a caller to record.
        fields = ("actor", "roles", "area", "subject", "action", "purpose")
        assert [{field: entry[field] for field in fields} for entry in entries] == \
            [{field: entry[field] for field in fields} for entry in expected[service]], service
        for entry, wanted in zip(entries, expected[service]):
            if wanted["trace_id"]:
                assert entry["trace_id"] == wanted["trace_id"], "the caller's trace continues into the entry"
        assert [entry["seq"] for entry in entries] == list(range(1, len(entries) + 1))
        for entry in entries:
            assert re.fullmatch(r"[0-9a-f]{32}", entry["trace_id"] or ""), f"{service}: the trace of {entry}"
            assert datetime.fromisoformat(entry["at"]).tzinfo is not None
        code, out, err = await _cli(monkeypatch, capsys, runtime.settings.database_url, "audit", "verify", service)
        assert (code, err) == (0, ""), f"{service}: {out} {err}"
        assert "intact" in out


@BOTH_DATABASES
async def test_get_audit_filters_by_actor_subject_action_time_and_limit(start_service, nc, token):
    intake = await start_service(INTAKE)
    url = f"http://127.0.0.1:{intake.settings.http_port}"
    subjects = []
    marks = []
    async with aiohttp.ClientSession(raise_for_status=True) as http:
        for user, role in (("cw-a", "case_worker"), ("cw-a", "case_worker"), ("sys-b", "integration")):
            marks.append(datetime.now(UTC))
            await asyncio.sleep(0.01)
            async with http.post(f"{url}/clients", json=REFERRAL,
                                 headers=bearer(token(role, "kemi", user))) as response:
                subjects.append(f"Client {(await response.json())['client_id']}")
            await asyncio.sleep(0.01)
    auditor = token("auditor")

    async def query(**params) -> list[dict]:
        async with aiohttp.ClientSession(headers=bearer(auditor)) as http, \
                http.get(f"{url}/audit", params=params) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    def subjects_of(entries) -> list[str]:
        return [entry["subject"] for entry in entries]

    assert subjects_of(await query()) == subjects
    assert subjects_of(await query(actor="cw-a")) == subjects[:2]
    assert subjects_of(await query(actor="sys-b")) == subjects[2:]
    assert await query(actor="cw") == [], "actor matches whole ids only"
    assert subjects_of(await query(subject=subjects[1])) == [subjects[1]]
    assert subjects_of(await query(action="change: ClientReferred")) == subjects
    assert subjects_of(await query(action="change")) == subjects
    assert await query(action="ClientReferred") == [], "action is a prefix, not a substring"
    assert await query(action="CHANGE") == [], "action is matched case by case"
    assert await query(action="_hange") == [] and await query(action="%") == [], "no LIKE wildcards"
    assert subjects_of(await query(since=marks[1].isoformat())) == subjects[1:]
    assert subjects_of(await query(until=marks[1].isoformat())) == subjects[:1]
    assert subjects_of(await query(since=marks[1].isoformat(), until=marks[2].isoformat())) == [subjects[1]]
    helsinki = marks[2].astimezone(timezone(timedelta(hours=3))).isoformat()
    assert subjects_of(await query(since=helsinki)) == subjects[2:], "a time in another offset means the same"
    assert subjects_of(await query(since=marks[2].strftime("%Y-%m-%dT%H:%M:%S.%fZ"))) == subjects[2:]
    assert subjects_of(await query(since=marks[2].replace(tzinfo=None).isoformat())) == subjects[2:], \
        "a time without an offset is UTC"
    assert await query(since=(datetime.now(UTC) + timedelta(minutes=1)).isoformat()) == []
    assert subjects_of(await query(limit="1")) == subjects[:1], "limit keeps the oldest"
    assert subjects_of(await query(actor="cw-a", since=marks[1].isoformat(), limit="5")) == [subjects[1]]

    async with aiohttp.ClientSession(headers=bearer(auditor)) as http:
        for params, field in (({"since": "yesterday"}, "since"), ({"until": "2026-13-01"}, "until"),
                              ({"limit": "0"}, "limit"), ({"limit": "1001"}, "limit"), ({"limit": "ten"}, "limit")):
            async with http.get(f"{url}/audit", params=params) as response:
                assert response.status == 422, params
                problem = await response.json()
                assert response.content_type == "application/problem+json"
                assert [error["field"] for error in problem["errors"]] == [field]
                assert problem["detail"].startswith(f"{field}:")


@BOTH_DATABASES
async def test_concurrent_changes_leave_an_intact_chain_with_one_entry_each(start_service, nc, token):
    intake = await start_service(INTAKE)
    url = f"http://127.0.0.1:{intake.settings.http_port}"

    async def refer(http: aiohttp.ClientSession, number: int) -> str:
        async with http.post(f"{url}/clients", json=REFERRAL | {"case_worker_id": f"cw-{number}"}) as response:
            assert response.status == 201, await response.text()
            return f"Client {(await response.json())['client_id']}"

    async with aiohttp.ClientSession(headers=bearer(token("integration"))) as http:
        subjects = await asyncio.gather(*(refer(http, number) for number in range(20)))
    entries = await get_json(f"{url}/audit?limit=1000", token("auditor"))
    assert sorted(entry["subject"] for entry in entries) == sorted(subjects), "one entry per change"
    assert [entry["seq"] for entry in entries] == list(range(1, 21))
    assert all(entry["previous_hash"] == before["hash"] for before, entry in zip(entries, entries[1:]))
    assert await audit.first_broken_link(intake.engine) is None


# --- the chain in the database ----------------------------------------------------------------

ACTOR = Principal(user_id="cw-9", roles=frozenset({"case_worker"}), area="kemi")


async def _entries(engine, count: int) -> None:
    for number in range(1, count + 1):
        async with transaction(engine) as connection:
            audit.record(connection, ACTOR, f"change: Thing{number}", f"Client {number}", "tests")


async def _rows(engine) -> list[dict]:
    async with engine.connect() as connection:
        return [dict(row) for row in (await connection.execute(select(audit_log).order_by(audit_log.c.seq))).mappings()]


async def _drop_triggers(engine) -> None:
    async with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            await connection.execute(text("DROP TRIGGER audit_log_no_update"))
            await connection.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            await connection.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@BOTH_DATABASES
async def test_the_database_refuses_to_change_or_delete_an_entry(engine_factory):
    engine = await engine_factory("audit")
    await _entries(engine, 3)
    before = await _rows(engine)
    for statement in ("UPDATE audit_log SET purpose = 'nothing to see' WHERE seq = 2",
                      "UPDATE audit_log SET hash = previous_hash",
                      "DELETE FROM audit_log WHERE seq = 3",
                      "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as connection:
                await connection.execute(text(statement))
    assert await _rows(engine) == before
    assert await audit.first_broken_link(engine) is None


@BOTH_DATABASES
async def test_verify_names_exactly_the_entry_that_was_changed(engine_factory, monkeypatch, capsys):
    engine = await engine_factory("audit")
    await _entries(engine, 5)
    code, out, _ = await _cli(monkeypatch, capsys, _url(engine), "audit", "verify", "intake")
    assert code == 0 and "intact" in out

    await _drop_triggers(engine)
    async with engine.begin() as connection:
        await connection.execute(audit_log.update().where(audit_log.c.seq == 3).values(purpose="nothing to see"))
    code, out, err = await _cli(monkeypatch, capsys, _url(engine), "audit", "verify", "intake")
    assert code == 1 and out == ""
    assert re.search(r"broken at entry (\d+)", err)[1] == "3", err
    assert await audit.first_broken_link(engine) == 3


@BOTH_DATABASES
async def test_an_entry_rewritten_with_a_fresh_hash_breaks_the_link_after_it(engine_factory):
    engine = await engine_factory("audit")
    await _entries(engine, 5)
    await _drop_triggers(engine)
    third = (await _rows(engine))[2] | {"actor": "someone-else"}
    async with engine.begin() as connection:
        await connection.execute(audit_log.update().where(audit_log.c.seq == 3).values(
            actor="someone-else", hash=audit.entry_hash(third["previous_hash"], third)))
    assert await audit.first_broken_link(engine) == 4


@BOTH_DATABASES
@pytest.mark.parametrize("removed, broken_at", [(5, 5), (2, 2), (1, 1)], ids=["the tail", "the middle", "the first"])
async def test_verify_detects_a_removed_entry(engine_factory, monkeypatch, capsys, removed, broken_at):
    engine = await engine_factory("audit")
    await _entries(engine, 5)
    await _drop_triggers(engine)
    async with engine.begin() as connection:
        await connection.execute(audit_log.delete().where(audit_log.c.seq == removed))
    code, _, err = await _cli(monkeypatch, capsys, _url(engine), "audit", "verify", "intake")
    assert code == 1
    assert re.search(r"broken at entry (\d+)", err)[1] == str(broken_at), err



@pytest.mark.postgres
@pytest.mark.parametrize("database_url_factory", ["postgres"], indirect=True)
async def test_the_database_refuses_to_truncate_the_log(engine_factory):
    engine = await engine_factory("audit")
    await _entries(engine, 2)
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as connection:
            await connection.execute(text("TRUNCATE audit_log"))
    assert len(await _rows(engine)) == 2


@BOTH_DATABASES
async def test_a_chain_written_anew_head_and_all_is_caught_by_a_checkpoint_kept_outside(
        engine_factory, monkeypatch, capsys, tmp_path):
    engine = await engine_factory("audit")
    await _entries(engine, 4)
    checkpoints = tmp_path / "audit-checkpoints.jsonl"
    code, out, _ = await _cli(monkeypatch, capsys, _url(engine), "audit", "checkpoint", "intake", "--to", str(checkpoints))
    assert code == 0 and "entry 4" in out
    # Whoever owns the database writes a consistent chain in which entry 2 says something else.
    await _drop_triggers(engine)
    rows = await _rows(engine)
    previous = audit.GENESIS
    async with engine.begin() as connection:
        await connection.execute(audit_log.delete())
        for row in rows:
            forged = row | {"purpose": "nothing to see"} if row["seq"] == 2 else dict(row)
            forged |= {"previous_hash": previous, "hash": audit.entry_hash(previous, forged)}
            previous = forged["hash"]
            await connection.execute(audit_log.insert(), forged)
        await connection.execute(audit_head.update().values(last_hash=previous))
    assert await audit.first_broken_link(engine) is None, "the chain alone cannot tell"
    code, _, err = await _cli(monkeypatch, capsys, _url(engine), "audit", "verify", "intake",
                              "--checkpoints", str(checkpoints))
    assert code == 1 and re.search(r"broken at entry (\d+)", err)[1] == "4", err
