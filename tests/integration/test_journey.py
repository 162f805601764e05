"""A client's whole journey through the HTTP APIs of intake, employer and pathway (services in this
process, a real nats-server between them): referral under a programme, the caseload, steps planned and
started by the case worker and by a placement, exit, the pathway closed, the follow-up due and recorded,
and a return as a new enrolment period with a new pathway. Also: caseload visibility per role and area,
reassignment moving who may read personal data, and refusals that name the field and the rule and
change nothing."""
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from services.intake.service import SERVICE as INTAKE
from services.intake.tables import caseload
from services.platform.database import create_engine, migrate
from services.platform.dates import add_months
from services.platform.tables import events
from tests.integration.histories import append_clients
from tests.integration.test_vault import PERSON, base_url, call, purpose, stored
from tests.support import BOTH_DATABASES, eventually, referral_body, settled, url_of

TODAY = date.today()
ENROLLED_ON = add_months(TODAY, -14)
EXITED_ON = add_months(TODAY, -7)


def referral(case_worker: str = "cw-a", area: str = "kemi", **overrides: Any) -> dict[str, Any]:
    return referral_body(area, case_worker, **({"referred_on": str(ENROLLED_ON)} | overrides))


class Journey:
    """HTTP calls as the roles that make them."""

    def __init__(self, services, token):
        self.url, self.token = url_of(services), token

    async def ok(self, method: str, service: str, path: str, role: str, body: Any = None, area: str = "kemi",
                 user: str | None = None, expect: int = 200, headers: dict | None = None) -> Any:
        """As `user`; a case worker is cw-a, the own case worker of the clients here, unless told."""
        user = user or ("cw-a" if role == "case_worker" else None)
        status, answer, raw = await call(method, f"{self.url(service)}{path}", self.token(role, area, user), body,
                                         headers)
        assert status == expect, raw
        return answer

    async def pathway(self, client_id: str) -> dict:
        return await self.ok("GET", "pathway", f"/clients/{client_id}/pathway", "case_worker")


@BOTH_DATABASES
async def test_a_whole_journey_and_a_return(five_services, token):
    journey = Journey(five_services, token)
    client = await journey.ok("POST", "intake", "/clients", "integration", referral(programme="typ_need_assessment"),
                              expect=201)
    client_id = client["client_id"]
    assert (client["status"], client["periods"][0]["eligibility_criterion"]) == (
        "enrolled", "labour_market_subsidy_300_days")

    async def planned() -> bool:
        status, _, _ = await call("GET", f"{journey.url('pathway')}/clients/{client_id}/pathway",
                                  token("case_worker", "kemi"))
        return status == 200

    await eventually(planned, what="pathway planned at enrolment")
    base = f"/clients/{client_id}/pathway"
    await journey.ok("POST", "pathway", f"{base}/goal", "case_worker", {"goal": "employment"}, user="cw-b",
                     expect=403)  # the pathway is planned by the client's own case worker
    await journey.ok("POST", "pathway", f"{base}/goal", "case_worker", {"goal": "employment"})
    view = await journey.ok("POST", "pathway", f"{base}/steps", "case_worker", {
        "step_kind": "start_period", "planned_start_on": str(ENROLLED_ON),
        "planned_end_on": str(ENROLLED_ON + timedelta(days=27)), "days_per_week": 2, "hours_per_day": "4",
        "provider": "city"}, expect=201)
    step_id = view["steps"][0]["step_id"]
    await journey.ok("POST", "pathway", f"{base}/steps/{step_id}/start", "case_worker",
                     {"started_on": str(ENROLLED_ON)})
    await journey.ok("POST", "pathway", f"{base}/steps/{step_id}/completion", "case_worker",
                     {"completed_on": str(ENROLLED_ON + timedelta(days=27))})

    employer = await journey.ok("POST", "employer", "/employers", "employer_coordinator", {
        "business_id": "0210427-6", "name": "Kemin kaupunki", "employer_type": "city_unit",
        "employment_area": "kemi"}, expect=201)
    await journey.ok("POST", "employer", f"/employers/{employer['employer_id']}/agreements", "employer_coordinator",
                     {"scope": ["work_trial"], "valid_from": str(ENROLLED_ON), "valid_to": str(TODAY)}, expect=201)
    placement = {"client_id": client_id, "employer_id": employer["employer_id"], "kind": "work_trial",
                 "starts_on": str(ENROLLED_ON + timedelta(days=40)),
                 "planned_end_on": str(ENROLLED_ON + timedelta(days=130)),
                 "schedule": {"days_per_week": 4, "hours_per_day": "6", "hours_per_week": "24"}}

    async def placed() -> bool:  # once the employer service has heard of the client's enrolment
        status, _, raw = await call("POST", f"{journey.url('employer')}/placements",
                                    token("employer_coordinator", "kemi"), placement)
        assert status in (201, 422), raw
        return status == 201

    await eventually(placed, what="the placement started")

    async def placement_step() -> bool:
        return any(step["placement_id"] for step in (await journey.pathway(client_id))["steps"])

    await eventually(placement_step, what="pathway starting the placement's step")
    await settled(five_services.values())
    caseload = await journey.ok("GET", "intake", "/caseload?step=work_trial", "case_worker", user="cw-a")
    assert [row["client_id"] for row in caseload["clients"]] == [client_id]

    await journey.ok("POST", "intake", f"/clients/{client_id}/exit", "case_worker", user="cw-a", body={
        "exited_on": str(EXITED_ON), "status_at_exit": "employed_city_unit",
        "status_on": str(EXITED_ON + timedelta(days=28)), "qualification_gained": False})

    async def closed() -> bool:
        return (await journey.pathway(client_id))["state"] == "closed"

    await eventually(closed, what="pathway closed at exit")
    steps = (await journey.pathway(client_id))["steps"]
    assert [(step["step_kind"], step["state"], step["ending"]) for step in steps] == [
        ("start_period", "completed", "completed"), ("work_trial", "interrupted", "pathway_closed")]
    assert steps[0]["days_in_step"] == 28
    assert steps[1]["days_in_step"] == (EXITED_ON - (ENROLLED_ON + timedelta(days=40))).days + 1

    due = await journey.ok("GET", "intake", "/follow-ups", "case_worker", user="cw-a")
    assert [(row["client_id"], row["due_on"], row["overdue"]) for row in due["follow_ups"]] == [
        (client_id, str(add_months(EXITED_ON, 6)), TODAY >= add_months(EXITED_ON, 6) + timedelta(days=29))]
    await journey.ok("POST", "intake", f"/clients/{client_id}/periods/1/follow-up", "case_worker", user="cw-a",
                     body={"status": "employed_company", "status_on": str(add_months(EXITED_ON, 6))})
    assert (await journey.ok("GET", "intake", "/follow-ups", "case_worker", user="cw-a"))["follow_ups"] == []

    returned = await journey.ok("POST", "intake", f"/clients/{client_id}/referrals", "case_worker", user="cw-a",
                                body=referral(referred_on=str(TODAY)), expect=201)
    assert [(period["period"], period["status"]) for period in returned["periods"]] == [(1, "exited"), (2, "enrolled")]
    assert returned["periods"][0]["six_month_status"] == "employed_company"

    async def new_pathway() -> bool:
        return (await journey.pathway(client_id))["period"] == 2

    await eventually(new_pathway, what="a new pathway for the second period")
    second = await journey.pathway(client_id)
    assert (second["state"], second["steps"], len(second["earlier_pathways"])) == ("open", [], 1)
    first = await journey.ok("GET", "pathway", f"/clients/{client_id}/pathway?period=1", "case_worker")
    assert (first["pathway_id"], first["state"], len(first["steps"])) == (second["earlier_pathways"][0], "closed", 2)
    await journey.ok("GET", "pathway", f"/clients/{client_id}/pathway?period=3", "case_worker", expect=404)


async def test_caseload_visibility_per_role_and_area_and_reassignment(five_services, token):
    journey = Journey(five_services, token)
    ids = {}
    for name, case_worker, area in (("a1", "cw-a", "kemi"), ("a2", "cw-a", "kemi"), ("b1", "cw-b", "kemi"),
                                    ("t1", "cw-t", "tornio")):
        body = referral(case_worker, area, person=PERSON)
        ids[name] = (await journey.ok("POST", "intake", "/clients", "integration", body, area=area,
                                      expect=201))["client_id"]

    async def caseload(user: str, role: str = "case_worker", area: str = "kemi", query: str = "") -> dict:
        return await journey.ok("GET", "intake", f"/caseload{query}", role, user=user, area=area)

    own = await caseload("cw-a", query="?limit=1")
    assert (own["total"], len(own["clients"])) == (2, 1)
    second_page = await caseload("cw-a", query="?limit=1&offset=1")
    assert {own["clients"][0]["client_id"], second_page["clients"][0]["client_id"]} == {ids["a1"], ids["a2"]}
    assert (await caseload("cw-a", query="?status=exited"))["total"] == 0
    for query, field in (("?limit=0", "limit"), ("?status=gone", "status"), ("?step=nap", "step"),
                         ("?offset=-1", "offset"), ("?sort=name", "sort")):
        refused = await journey.ok("GET", "intake", f"/caseload{query}", "case_worker", expect=422)
        assert [error["field"] for error in refused["errors"]] == [field], query
    await journey.ok("GET", "intake", "/caseload?case_worker_id=cw-a", "case_worker", user="cw-b", expect=403)
    managers_view = await caseload("mgr", "manager")
    assert {(load["case_worker_id"], load["clients_by_status"]["enrolled"]) for load in managers_view["case_workers"]} \
        == {("cw-a", 2), ("cw-b", 1)}
    assert (await caseload("mgr", "manager", "tornio"))["case_workers"] == [
        {"case_worker_id": "cw-t", "clients_by_status": {"enrolled": 1}}]
    assert (await caseload("mgr", "manager", query="?case_worker_id=cw-b"))["total"] == 1

    personal = f"/clients/{ids['a1']}/personal-data"
    await journey.ok("GET", "intake", personal, "case_worker", user="cw-b", expect=403, headers=purpose())
    await journey.ok("POST", "intake", f"/clients/{ids['a1']}/case-worker", "manager", {"case_worker_id": "cw-b"})
    await journey.ok("GET", "intake", personal, "case_worker", user="cw-b", headers=purpose())
    await journey.ok("GET", "intake", personal, "case_worker", user="cw-a", expect=403, headers=purpose())
    assert (await caseload("cw-a"))["total"] == 1 and (await caseload("cw-b"))["total"] == 2

    async def pathway_follows() -> bool:  # pathway learns the new case worker from CaseWorkerAssigned
        status, _, _ = await call("POST", f"{journey.url('pathway')}/clients/{ids['a1']}/pathway/goal",
                                  token("case_worker", "kemi", "cw-b"), {"goal": "training"})
        return status == 200

    await eventually(pathway_follows, what="the new case worker planning the pathway")
    await journey.ok("POST", "pathway", f"/clients/{ids['a1']}/pathway/goal", "case_worker", {"goal": "employment"},
                     user="cw-a", expect=403)
    # Another area's manager cannot reassign (the client is invisible there).
    await journey.ok("POST", "intake", f"/clients/{ids['a2']}/case-worker", "manager", {"case_worker_id": "cw-t"},
                     area="tornio", expect=404)


@pytest.mark.parametrize(("path", "body", "field", "rule"), [
    ("/clients", referral(municipality="Ke\u0000mi"), "municipality", "control characters"),
    ("/clients", referral(case_worker_id="cw\nfake"), "case_worker_id", "control characters"),
    ("/clients", referral(programme="lapland_regional_trial", referred_on=str(TODAY)), "programme",
     "has no rule in force"),
    ("/clients/{client_id}/exit", {"exited_on": str(EXITED_ON), "status_at_exit": "unemployed",
                                   "status_on": str(EXITED_ON + timedelta(days=29)), "qualification_gained": False},
     "status_on", "within 28 days"),
    ("/clients/{client_id}/exit", {"exited_on": str(TODAY + timedelta(days=1)), "status_at_exit": "unemployed",
                                   "status_on": str(TODAY + timedelta(days=1)), "qualification_gained": False},
     "exited_on", "must not be in the future"),
    ("/clients/{client_id}/skill-tags", {"skill_tags": ["Forklift licence"]}, "skill_tags.0", "pattern"),
    ("/clients/{client_id}/entry-facts", {"age": 40, "labour_market_subsidy_days": 0, "unemployed_months": 0,
                                          "education_level": "isced_9"}, "education_level", "isced_8"),
])
async def test_a_refusal_names_the_field_and_rule_and_changes_nothing(start_service, token, path, body, field, rule):
    intake = await start_service(INTAKE)
    status, answer, raw = await call("POST", f"{base_url(intake)}/clients", token("integration"), referral())
    client_id = answer["client_id"]
    before = await stored(intake.engine)
    status, answer, raw = await call("POST", f"{base_url(intake)}{path.format(client_id=client_id)}",
                                     token("case_worker", "kemi", "cw-a"), body)
    assert status == 422, raw
    assert [error["field"] for error in answer["errors"]] == [field]
    assert rule in answer["errors"][0]["rule"]
    assert await stored(intake.engine) == before


async def test_a_step_breaking_its_rule_is_refused_naming_the_rule_and_its_source(five_services, token):
    journey = Journey(five_services, token)
    client_id = (await journey.ok("POST", "intake", "/clients", "integration", referral(), expect=201))["client_id"]

    async def planned() -> bool:
        status, _, _ = await call("GET", f"{journey.url('pathway')}/clients/{client_id}/pathway",
                                  token("case_worker", "kemi"))
        return status == 200

    await eventually(planned, what="pathway planned")
    before = await event_count(five_services["pathway"].engine)
    answer = await journey.ok("POST", "pathway", f"/clients/{client_id}/pathway/steps", "case_worker", {
        "step_kind": "start_period", "planned_start_on": str(TODAY), "planned_end_on": str(add_months(TODAY, 3)),
        "provider": "city"}, expect=422)
    assert answer["errors"][0]["field"] == "planned_end_on"
    assert "start_period_at_most_3_months" in answer["errors"][0]["rule"]
    assert "source: starttijakso" in answer["errors"][0]["rule"]
    assert await event_count(five_services["pathway"].engine) == before


async def event_count(engine) -> int:
    async with engine.connect() as connection:
        return (await connection.execute(select(func.count()).select_from(events))).scalar_one()


async def test_the_person_follows_a_referral_without_one_over_http(start_service, token):
    """As after a referral over the bus: the referring system sends the person under the client id."""
    intake = await start_service(INTAKE)
    _, answer, _ = await call("POST", f"{base_url(intake)}/clients", token("integration"), referral())
    client_id = answer["client_id"]
    personal = f"{base_url(intake)}/clients/{client_id}/personal-data"
    status, _, raw = await call("PUT", personal, token("integration"), PERSON | {"name": "Ke\u0000"})
    assert status == 422 and "control characters" in raw
    status, _, raw = await call("PUT", personal, token("integration"), PERSON)
    assert status == 200, raw
    status, read, raw = await call("GET", personal, token("case_worker", "kemi", "cw-a"), headers=purpose())
    assert (status, read["name"]) == (200, PERSON["name"])
    status, _, _ = await call("PUT", personal, token("case_worker", "kemi", "cw-other"), PERSON)
    assert status == 403


async def test_a_return_keeps_the_earlier_periods_follow_up_due(start_service, token):
    intake = await start_service(INTAKE)
    own = token("case_worker", "kemi", "cw-a")
    _, answer, _ = await call("POST", f"{base_url(intake)}/clients", token("integration"), referral())
    client_id = answer["client_id"]
    status, _, raw = await call("POST", f"{base_url(intake)}/clients/{client_id}/exit", own, {
        "exited_on": str(EXITED_ON), "status_at_exit": "unemployed", "status_on": str(EXITED_ON),
        "qualification_gained": False})
    assert status == 200, raw
    status, _, raw = await call("POST", f"{base_url(intake)}/clients/{client_id}/referrals", own,
                                referral(referred_on=str(TODAY)))
    assert status == 201, raw
    _, due, _ = await call("GET", f"{base_url(intake)}/follow-ups", own)
    assert [(row["client_id"], row["period"]) for row in due["follow_ups"]] == [(client_id, 1)]
    _, caseload, _ = await call("GET", f"{base_url(intake)}/caseload", own)
    assert [(row["period"], row["status"]) for row in caseload["clients"]] == [(2, "enrolled")]


async def test_the_caseload_migration_takes_in_the_clients_already_referred(database_url_factory):
    """A database from before the caseload: its clients are in the caseload once intake migrates."""
    engine = create_engine(await database_url_factory("intake-before-caseload"))
    try:
        await migrate(engine)  # the platform's tables only: the event log as it was
        client_ids = await append_clients(engine, 3)
        await migrate(engine, INTAKE.migrations)
        async with engine.connect() as connection:
            rows = (await connection.execute(select(caseload.c.client_id, caseload.c.status,
                                                    caseload.c.case_worker_id))).all()
        assert sorted(rows) == sorted((str(client_id), "enrolled", "cw-1") for client_id in client_ids)
    finally:
        await engine.dispose()
