"""The employer coordinator's work through the HTTP APIs of the running services: the registry, a gig
job of three employers, matching and proposals decided by the client's own case worker, an opening
filled by a placement; each refusal writes nothing."""
from datetime import date, timedelta

import aiohttp
from sqlalchemy import func, select

from services.platform.tables import events
from tests.support import bearer, employer_body, once_client_known, referral_body, settled, url_of

OWNER, OTHER = "cw-kemi-owner", "cw-kemi-other"
TODAY = date.today()


async def _event_count(runtime) -> int:
    async with runtime.engine.connect() as connection:
        return (await connection.execute(select(func.count()).select_from(events))).scalar_one()


async def _call(http: aiohttp.ClientSession, method: str, target: str, token: str, body: dict | None = None):
    async with http.request(method, target, json=body, headers=bearer(token)) as response:
        return response.status, await response.json()


async def test_a_business_id_is_registered_once_per_area(five_services, token):
    url = url_of(five_services)
    coordinator = token("employer_coordinator", "kemi")
    async with aiohttp.ClientSession() as http:
        status, first = await _call(http, "POST", f"{url('employer')}/employers", coordinator, employer_body())
        assert status == 201
        before = await _event_count(five_services["employer"])
        status, problem = await _call(http, "POST", f"{url('employer')}/employers", coordinator,
                                      employer_body(business_id="02104276", name="Kemi again"))
        assert status == 409
        assert problem["detail"] == (f"business_id: 0210427-6 is registered in area kemi already, as employer "
                                     f"{first['employer_id']}")
        assert await _event_count(five_services["employer"]) == before
        status, _ = await _call(http, "POST", f"{url('employer')}/employers", token("employer_coordinator", "tornio"),
                                employer_body(employment_area="tornio"))
        assert status == 201, "another area keeps its own registry"


async def _employer(http, url, coordinator: str, business_id: str, employer_type: str, scope: list[str]) -> str:
    status, employer = await _call(http, "POST", f"{url('employer')}/employers", coordinator, employer_body(
        business_id=business_id, name=f"{employer_type} {business_id}", employer_type=employer_type,
        municipality="Kemi"))
    assert status == 201, employer
    status, agreement = await _call(http, "POST", f"{url('employer')}/employers/{employer['employer_id']}/agreements",
                                    coordinator, {"scope": scope, "valid_from": "2026-01-01", "valid_to": "2027-12-31"})
    assert status == 201, agreement
    return employer["employer_id"]


async def test_a_gig_job_of_three_employers_from_matching_to_placement(five_services, token):
    url = url_of(five_services)
    coordinator, manager = token("employer_coordinator", "kemi"), token("manager", "kemi")
    owner, other = token("case_worker", "kemi", OWNER), token("case_worker", "kemi", OTHER)
    async with aiohttp.ClientSession() as http:
        status, client = await _call(http, "POST", f"{url('intake')}/clients", owner, referral_body("kemi", OWNER))
        assert status == 201 and client["status"] == "enrolled"
        foundation = await _employer(http, url, coordinator, "2876543-5", "foundation", ["pay_subsidised_work"])
        hosts = [await _employer(http, url, coordinator, business_id, employer_type, ["gig_work"])
                 for business_id, employer_type in (("0210427-6", "city_unit"), ("2719034-2", "association"),
                                                    ("3012345-8", "company"))]
        tasks = []
        for host, day, hours in zip(hosts, ("2026-10-05", "2026-10-06", "2026-10-07"), ("15:00", "16:00", "16:00")):
            status, task = await _call(http, "POST", f"{url('employer')}/gig-tasks", coordinator, {
                "employer_id": host, "works_on": day, "starts_at": "09:00", "ends_at": hours, "municipality": "Kemi",
                "place": "Sauvosaari", "requirement_tags": ["cleaning"], "hourly_billing_rate": "26.00"})
            assert status == 201, task
            tasks.append(task["task_id"])
        await settled(five_services.values())

        status, candidates = await _call(http, "GET", f"{url('employer')}/gig-jobs/candidates?task_ids="
                                         + ",".join(tasks), coordinator)
        assert status == 200
        [candidate] = [each for each in candidates if each["client_id"] == client["client_id"]]
        assert candidate["reasons"][0] == "meets 0 of 1 requirement tags; lacks cleaning"
        assert set(candidate) >= {"score", "municipality", "age_band", "case_worker_id"} and "name" not in candidate

        status, proposal = await _call(http, "POST", f"{url('employer')}/proposals", coordinator,
                                       {"client_id": client["client_id"], "task_ids": tasks})
        assert status == 201 and proposal["status"] == "proposed"
        assert (await _call(http, "GET", f"{url('employer')}/proposals", owner))[1] == [proposal]
        assert (await _call(http, "GET", f"{url('employer')}/proposals", other))[1] == []
        assert (await _call(http, "GET", f"{url('employer')}/proposals", manager))[1] == [proposal]
        assert (await _call(http, "GET", f"{url('employer')}/proposals", token("manager", "tornio")))[1] == []
        decision = f"{url('employer')}/proposals/{proposal['proposal_id']}/acceptance"
        status, problem = await _call(http, "POST", decision, other)
        assert status == 403 and "another case worker" in problem["detail"]
        status, accepted = await _call(http, "POST", decision, owner)
        assert status == 200 and accepted["status"] == "accepted"

        # Two tasks overlap with a third: refused, and nothing is written.
        status, overlapping = await _call(http, "POST", f"{url('employer')}/gig-tasks", coordinator, {
            "employer_id": hosts[0], "works_on": "2026-10-05", "starts_at": "14:00", "ends_at": "17:00",
            "municipality": "Kemi", "place": "Sauvosaari", "hourly_billing_rate": "26.00"})
        before = await _event_count(five_services["employer"])
        status, problem = await _call(http, "POST", f"{url('employer')}/gig-jobs", coordinator, {
            "client_id": client["client_id"], "foundation_id": foundation,
            "task_ids": [*tasks, overlapping["task_id"]]})
        assert status == 422 and "overlap on 2026-10-05" in problem["detail"]
        assert await _event_count(five_services["employer"]) == before

        status, job = await _call(http, "POST", f"{url('employer')}/gig-jobs", coordinator, {
            "client_id": client["client_id"], "foundation_id": foundation, "task_ids": tasks})
        assert status == 201, job
        assert (job["kind"], job["employer_id"], job["schedule"]["hours_per_week"]) == ("gig_work", foundation, "20.00")
        assert [task["employer_id"] for task in job["tasks"]] == hosts
        for task_id in tasks:
            status, task = await _call(http, "GET", f"{url('employer')}/gig-tasks/{task_id}", coordinator)
            assert task["pooled_into"] == job["placement_id"]
        status, problem = await _call(http, "POST", f"{url('employer')}/gig-jobs", coordinator, {
            "client_id": client["client_id"], "foundation_id": foundation, "task_ids": tasks})
        assert status == 409 and "is pooled into gig job" in problem["detail"]


async def test_an_opening_is_filled_by_the_placement_that_names_it(five_services, token):
    url = url_of(five_services)
    coordinator, owner = token("employer_coordinator", "kemi"), token("case_worker", "kemi", OWNER)
    async with aiohttp.ClientSession() as http:
        status, client = await _call(http, "POST", f"{url('intake')}/clients", owner, referral_body("kemi", OWNER))
        company = await _employer(http, url, coordinator, "3012345-8", "company", ["apprenticeship"])
        status, opening = await _call(http, "POST", f"{url('employer')}/openings", coordinator, {
            "employer_id": company, "title": "Myyjä", "hours_per_week": "30", "starts_on": "2026-10-01",
            "source": "hidden", "requirement_tags": ["customer_service"]})
        assert status == 201 and (opening["status"], opening["source"]) == ("open", "hidden")
        placement = await once_client_known(http, f"{url('employer')}/placements", bearer(coordinator), {
            "client_id": client["client_id"], "employer_id": company, "kind": "apprenticeship",
            "starts_on": "2026-10-01", "schedule": {"hours_per_week": "30"}, "opening_id": opening["opening_id"]})
        status, filled = await _call(http, "GET", f"{url('employer')}/openings/{opening['opening_id']}", coordinator)
        assert (filled["status"], filled["placement_id"]) == ("filled", placement["placement_id"])
        # The client is in a 30-hour placement now: no longer a candidate.
        status, candidates = await _call(http, "GET", f"{url('employer')}/openings/{opening['opening_id']}/candidates",
                                         coordinator)
        assert status == 200 and client["client_id"] not in {each["client_id"] for each in candidates}


async def _candidate(http, url, coordinator: str, opening_id: str, client_id: str) -> dict | None:
    status, candidates = await _call(http, "GET", f"{url('employer')}/openings/{opening_id}/candidates?limit=500",
                                     coordinator)
    assert status == 200, candidates
    return next((each for each in candidates if each["client_id"] == client_id), None)


async def test_matching_knows_what_the_journey_recorded(five_services, token):
    """Skill tags, months unemployed and priority groups from intake, a full-time step from pathway, and the
    exit: each changes the client's candidacy as the employer service hears of it."""
    url = url_of(five_services)
    coordinator, owner = token("employer_coordinator", "kemi"), token("case_worker", "kemi", OWNER)
    async with aiohttp.ClientSession() as http:
        status, client = await _call(http, "POST", f"{url('intake')}/clients", owner,
                                     referral_body("kemi", OWNER, age=26))
        client_id = client["client_id"]
        status, _ = await _call(http, "POST", f"{url('intake')}/clients/{client_id}/skill-tags", owner,
                                {"skill_tags": ["customer_service", "forklift_licence"]})
        assert status in (200, 201)
        company = await _employer(http, url, coordinator, "3012345-8", "company", ["apprenticeship"])
        status, opening = await _call(http, "POST", f"{url('employer')}/openings", coordinator, {
            "employer_id": company, "title": "Varastotyöntekijä", "hours_per_week": "30", "starts_on": "2026-10-01",
            "source": "advertised", "requirement_tags": ["forklift_licence"]})
        await settled(five_services.values())
        candidate = await _candidate(http, url, coordinator, opening["opening_id"], client_id)
        assert candidate["skill_tags"] == ["customer_service", "forklift_licence"]
        assert candidate["months_unemployed"] == 16
        assert candidate["reasons"][0] == "meets 1 of 1 requirement tags: forklift_licence"

        status, pathway = await _call(http, "POST", f"{url('pathway')}/clients/{client_id}/pathway/steps", owner, {
            "step_kind": "training", "planned_start_on": str(TODAY), "planned_end_on": str(TODAY + timedelta(days=90)),
            "days_per_week": 5, "hours_per_day": "7", "provider": "education_provider"})
        assert status in (200, 201), pathway
        step_id = next(step["step_id"] for step in pathway["steps"] if step["state"] == "planned")
        status, started = await _call(http, "POST", f"{url('pathway')}/clients/{client_id}/pathway/steps/{step_id}/start",
                                      owner, {"started_on": str(TODAY)})
        assert status in (200, 201), started
        await settled(five_services.values())
        assert await _candidate(http, url, coordinator, opening["opening_id"], client_id) is None, \
            "a client in a full-time step is not available"

        status, _ = await _call(http, "POST", f"{url('pathway')}/clients/{client_id}/pathway/steps/{step_id}/completion",
                                owner, {"completed_on": str(TODAY)})
        await settled(five_services.values())
        assert await _candidate(http, url, coordinator, opening["opening_id"], client_id) is not None

        status, exited = await _call(http, "POST", f"{url('intake')}/clients/{client_id}/exit", owner, {
            "exited_on": str(TODAY), "status_at_exit": "employed_company", "status_on": str(TODAY),
            "qualification_gained": False})
        assert status in (200, 201), exited
        await settled(five_services.values())
        assert await _candidate(http, url, coordinator, opening["opening_id"], client_id) is None
        status, problem = await _call(http, "POST", f"{url('employer')}/placements", coordinator, {
            "client_id": client_id, "employer_id": company, "kind": "open_market", "starts_on": str(TODAY),
            "schedule": {"hours_per_week": "37.5"}})
        assert status == 422 and "has left the services" in problem["detail"]
