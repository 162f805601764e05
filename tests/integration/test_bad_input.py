"""Bad request bodies on every POST endpoint of every service: refused with a problem document that
says what is wrong, and nothing written (events, outbox and audit_log keep their row counts).

The endpoints come from the services' OpenAPI documents, the required fields from the body
schemas there, the path parameters from a real Kemi history (so a body that slipped through would
find an aggregate to change), and the caller is a role the access matrix allows.
"""
import json
import re
from datetime import date, timedelta

import aiohttp
import pytest
from sqlalchemy import func, select

from services.platform.access import allowed_roles
from services.platform.http import MAX_BODY_BYTES
from services.platform.tables import audit_log, events, outbox
from tests.support import DEFINITIONS, bearer, create_history, employer_body, fill_path, operations, referral_body, \
    settled, url_of

PROBLEM = "application/problem+json"
OWNER = "cw-kemi-owner"
SECRET = "ZZ-do-not-echo-ZZ"  # a value that must not come back in an error
ENROLLED_ON = "2025-06-02"  # long enough ago for an exit and its six-month follow-up

# Rules of particular fields, endpoint by endpoint: (body, field, words of the rule).
RULES = {
    "POST /clients": [
        ({"age": 14}, "age", "greater than or equal to 15"),
        ({"gender": "robot"}, "gender", "'female', 'male', 'non_binary' or 'unknown'"),
        ({"employment_area": "Kemi!"}, "employment_area", "should match pattern"),
        ({"municipality": "Ke\u0000mi"}, "municipality", "control characters"),
        ({"programme": "lapland_regional_trial"}, "programme", "has no rule in force"),
    ],
    "POST /clients/{client_id}/consents": [
        ({"valid_from": "2026-10-31", "valid_to": "2026-10-01"}, "valid_to", "must not be before valid_from"),
        ({"scope": []}, "scope", "at least 1 item"),
    ],
    "POST /clients/{client_id}/erasure": [
        ({"reason": "because"}, "reason", "'client_request' or 'retention_period_ended'"),
    ],
    "POST /clients/{client_id}/exit": [
        ({"status_on": "2025-07-30"}, "status_on", "within 28 days after leaving"),
        ({"status_at_exit": "retired"}, "status_at_exit", "'employed_company'"),
    ],
    "POST /clients/{client_id}/skill-tags": [
        ({"skill_tags": ["Forklift"]}, "skill_tags.0", "should match pattern"),
        ({"skill_tags": ["cleaning", "cleaning"]}, "skill_tags", "at most once"),
    ],
    "POST /clients/{client_id}/case-worker": [
        ({"case_worker_id": "cw\u0000x"}, "case_worker_id", "control characters"),
    ],
    "POST /clients/{client_id}/pathway/steps": [
        ({"days_per_week": 6}, "days_per_week", "at most 5 (at_most_5_days_a_week)"),
        ({"planned_end_on": "2025-01-01"}, "planned_end_on", "must not be before planned_start_on"),
    ],
    "POST /employers": [
        ({"business_id": "2719034-3"}, "business_id", "check digit does not match"),
        ({"business_id": "12345"}, "business_id", "wrong length"),
        ({"employer_type": "guild"}, "employer_type", "'foundation', 'city_unit' or 'other_public'"),
        ({"name": "Kemi\u0000Oy"}, "name", "must not contain control characters"),
        ({"industry": "47.11"}, "industry", "should match pattern"),
    ],
    "POST /employers/{employer_id}/agreements": [
        ({"valid_to": "2025-12-31"}, "valid_to", "must not be before valid_from"),
        ({"scope": ["volunteering"]}, "scope", "'work_trial'"),
    ],
    "POST /employers/{employer_id}/agreements/{agreement_id}/ending": [
        ({"ended_on": "2028-01-01"}, "ended_on", "ends early on a day after valid_from and at most on valid_to"),
    ],
    "POST /openings": [
        ({"occupation": "91"}, "occupation", "should match pattern"),
        ({"requirement_tags": ["Forklift licence"]}, "requirement_tags", "should match pattern"),
    ],
    "POST /openings/{opening_id}/withdrawal": [
        ({"on": "2020-01-01"}, "on", "not before the opening was registered"),
    ],
    "POST /gig-tasks": [
        ({"ends_at": "07:59"}, "ends_at", "must be after starts_at"),
        ({"place": "Sauvosaari\nline two"}, "place", "must not contain control characters"),
    ],
    "POST /gig-jobs": [
        ({"task_ids": []}, "task_ids", "at least 1 item"),
        ({"foundation_id": "00000000-0000-4000-8000-000000000000"}, "foundation_id", "no employer"),
    ],
    "POST /placements": [
        ({"hourly_billing_rate": "24.505"}, "hourly_billing_rate", "2 decimal places"),
        ({"hourly_billing_rate": "-1"}, "hourly_billing_rate", "greater than or equal to 0"),
        ({"starts_on": "2026-02-30"}, "starts_on", "valid date"),
        ({"kind": "gig_work"}, "kind", "gig work starts by pooling gig tasks"),
        ({"kind": "work_trial", "schedule": {"days_per_week": 5, "hours_per_day": "6", "hours_per_week": "30"}},
         "kind", "no partnership agreement covering work_trial"),
        ({"pay_subsidy_decision": None}, "pay_subsidy_decision", "required: the reference of the pay subsidy"),
        ({"client_id": "00000000-0000-4000-8000-000000000000"}, "client_id", "is not a client of employment area"),
    ],
    "POST /placements/{placement_id}/extension": [
        ({"planned_end_on": "2027-01-31"}, "planned_end_on", "an extension ends after the planned end"),
    ],
    "POST /proposals": [
        ({"opening_id": None}, "body", "name either opening_id or task_ids"),
    ],
    "POST /employments/{employment_id}/timesheets": [
        ({"days": [{"works_on": "2026-10-01", "hours": "0"}]}, "days.0.hours", "greater than 0"),
        ({"days": [{"works_on": "2026-10-01", "hours": "7.125"}]}, "days.0.hours", "decimal places"),
        ({"days": [{"works_on": "2026-11-01", "hours": "4"}]}, "body", "outside the period"),
        ({"days": [{"works_on": "2026-10-01", "hours": "8.5"}]}, "days", "more than 8 h a day (pay_subsidised_work_schedule"),
        ({"period_start": "2026-10-31", "period_end": "2026-10-01"}, "body",
         "period_end must not be before period_start"),
    ],
    "POST /employments/{employment_id}/wage-terms": [
        ({"hourly_wage": "12.345"}, "hourly_wage", "2 decimal places"),
        ({"hourly_wage": "0"}, "hourly_wage", "greater than 0"),
    ],
    "POST /payroll-runs": [
        ({"period_end": "2026-10-30"}, "body", "a monthly run is for one calendar month"),
        ({"pay_period": "weekly"}, "pay_period", "'month' or 'two_weeks'"),
    ],
    "POST /invoices": [
        ({"payment_term_days": 91}, "payment_term_days", "less than or equal to 90"),
        ({"issued_on": "tomorrow"}, "issued_on", "valid date"),
        ({"period_start": "2025-01-01", "period_end": "2025-01-31"}, "period_start", "no approved hours to invoice"),
    ],
    "POST /employments/{employment_id}/pay-subsidy-decisions": [
        ({"monthly_cap": "1260.01"}, "monthly_cap", "at most 1260.00 EUR a month (pay_subsidy_2023_50"),
        ({"percent": 30}, "percent", "no pay_subsidy rule for percent 30 is in force on 2026-08-20"),
    ],
    "POST /employments/{employment_id}/kemi-supplement-claims": [
        ({"month": "2026-13"}, "month", "should match pattern"),
        ({"person_criterion": "friend_of_the_boss"}, "person_criterion", "'labour_market_subsidy_300_days'"),
        ({"person_criterion": "under_30"}, "person_criterion", "does not show under_30 (kemi_lisa"),
        ({}, "pay_subsidy_decision", "Kemi-lisä needs a granted pay subsidy (kemi_lisa"),
    ],
}


def user_of(role: str) -> str:
    return OWNER if role == "case_worker" else f"user-{role}"


async def _counts(runtime) -> dict[str, int]:
    async with runtime.engine.connect() as connection:
        return {table.name: (await connection.execute(select(func.count()).select_from(table))).scalar_one()
                for table in (events, outbox, audit_log)}


@pytest.fixture
async def quiet_services(five_services, token):
    """A Kemi history in all five services, with every relay and consumer done: nothing moves any more."""
    url = url_of(five_services)
    ids = await create_history(url, token, "kemi", case_worker=OWNER, referred_on=ENROLLED_ON)
    ids["period"] = "1"

    await settled(five_services.values())
    return url, ids


async def _post_endpoints(url) -> list[tuple[str, str, dict]]:
    """(service, path template, request body schema) of every POST endpoint."""
    found = []
    async with aiohttp.ClientSession() as http:
        for service in DEFINITIONS:
            async with http.get(f"{url(service)}/openapi.json") as response:
                document = await response.json()
            for method, path in operations(document):
                if method != "POST":
                    continue
                operation = document["paths"][path]["post"]
                if "application/json" not in operation.get("requestBody", {}).get("content", {}):
                    continue  # no JSON body to get wrong (a consent's withdrawal; a bank's file, tested on its own)
                reference = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                schema = document["components"]["schemas"][reference.rsplit("/", 1)[-1]]
                found.append((service, path, schema))
    return found


Case = tuple[str, bytes, dict | None, int, list[tuple[str, str]]]


def _cases(path: str, schema: dict, valid_bodies: dict[str, dict]) -> list[Case]:
    """(what, body, how to send it, status, [(field, words of its rule)]) for one endpoint."""
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    oversized = json.dumps({"name": "x" * (MAX_BODY_BYTES + 1)}).encode()
    cases = [
        ("a body over 64 KiB", oversized, None, 413, []),
        ("a body over 64 KiB, chunked", oversized, {"chunked": True}, 413, []),
        ("truncated JSON", b'{"hours": ', None, 400, []),
        ("not JSON", b"hours=10", None, 400, []),
        ("an empty body", b"", None, 400, []),
        ("a JSON array", b"[]", None, 422, [("body", "Input should be an object")]),
        ("an unknown field", json.dumps({"no_such_field": 1}).encode(), None, 422,
         [("no_such_field", "Extra inputs are not permitted")] + [(name, "Field required") for name in required]),
        ("every field of a wrong type", json.dumps({name: {"x": [SECRET]} for name in properties}).encode(), None,
         422, [(name, "") for name in properties]),
    ]
    cases.append(("a valid body, an X-Purpose that is no purpose code", json.dumps(valid_bodies[path]).encode(),
                  {"headers": {"X-Purpose": "meeting Matti about his debts"}}, 422,
                  [("X-Purpose", "must be a purpose code in force today")]))
    for body, field, rule in RULES.get(f"POST {path}", []):
        cases.append((f"{field}: {rule}", json.dumps(valid_bodies[path] | body).encode(), None, 422,
                      [(field, rule)]))
    return cases


def _valid_bodies(ids: dict[str, str]) -> dict[str, dict]:
    """Bodies the known endpoints accept, to break one rule at a time. Placements name a real client
    and employer, so a body that slipped through would be accepted."""
    return {
        "/clients": referral_body(case_worker=OWNER),
        "/clients/{client_id}/consents": {"partner": "te_office", "scope": ["contact_details"],
                                          "valid_from": str(date.today()),
                                          "valid_to": str(date.today() + timedelta(days=30))},
        "/clients/{client_id}/erasure": {"reason": "client_request"},
        "/clients/{client_id}/skill-tags": {"skill_tags": ["forklift_licence", "cleaning"]},
        "/clients/{client_id}/entry-facts": {"age": 34, "labour_market_subsidy_days": 450, "unemployed_months": 16,
                                             "education_level": "isced_3"},
        "/clients/{client_id}/exit": {"exited_on": "2025-07-01", "status_at_exit": "employed_company",
                                      "status_on": "2025-07-15", "qualification_gained": False},
        "/clients/{client_id}/periods/{period}/follow-up": {"status": "employed_company", "status_on": "2026-01-01"},
        "/clients/{client_id}/referrals": referral_body(case_worker=OWNER),
        "/clients/{client_id}/case-worker": {"case_worker_id": "cw-kemi-next"},
        "/clients/{client_id}/pathway/goal": {"goal": "training"},
        "/clients/{client_id}/pathway/steps": {"step_kind": "coaching", "planned_start_on": ENROLLED_ON,
                                               "days_per_week": 3, "hours_per_day": "5", "provider": "foundation"},
        f"{STEP}/start": {"started_on": ENROLLED_ON},
        f"{STEP}/completion": {"completed_on": "2025-06-20"},
        f"{STEP}/interruption": {"interrupted_on": "2025-06-20", "reason": "client_illness"},
        f"{STEP}/cancellation": {"cancelled_on": "2025-06-03"},
        "/employers": employer_body(business_id="2719034-2"),
        "/employers/{employer_id}/corrections": {"name": "Meriva sr", "employer_type": "foundation"},
        "/employers/{employer_id}/agreements": {"scope": ["work_trial"], "valid_from": "2026-01-01",
                                                "valid_to": "2026-12-31"},
        "/employers/{employer_id}/agreements/{agreement_id}/ending": {"ended_on": "2027-06-30", "reason": "other"},
        "/openings": {"employer_id": ids["employer_id"], "title": "Siivooja", "hours_per_week": "30",
                      "starts_on": "2026-11-01", "source": "advertised"},
        "/openings/{opening_id}/withdrawal": {"on": str(date.today())},
        "/openings/{opening_id}/expiry": {"on": str(date.today())},
        "/gig-tasks": {"employer_id": ids["employer_id"], "works_on": "2026-10-06", "starts_at": "08:00",
                       "ends_at": "12:00", "municipality": "Kemi", "place": "Sauvosaari", "hourly_billing_rate": "24"},
        "/gig-jobs": {"client_id": ids["client_id"], "foundation_id": ids["employer_id"], "task_ids": ids["task_ids"].split(",")},
        "/placements": {"client_id": ids["client_id"], "employer_id": ids["employer_id"],
                        "kind": "pay_subsidised_work", "starts_on": "2026-09-01", "schedule": {"hours_per_week": "30"},
                        "hourly_billing_rate": "24.50", "pay_subsidy_decision": "PT-2026-0002"},
        "/placements/{placement_id}/extension": {"planned_end_on": "2027-03-31"},
        "/placements/{placement_id}/ending": {"ended_on": "2026-12-31", "ending": "completed"},
        "/proposals": {"client_id": ids["client_id"], "opening_id": ids["opening_id"]},
        "/proposals/{proposal_id}/decline": {"reason": "health"},
        "/employments/{employment_id}/wage-terms": {
            "hourly_wage": "45.00", "collective_agreement": "Yleinen työehtosopimus (test)", "hours_per_week": "20",
            "valid_from": "2026-09-01", "fixed_term_until": "2027-05-31"},
        "/employments/{employment_id}/timesheets": {
            "period_start": "2026-10-01", "period_end": "2026-10-31",
            "days": [{"works_on": f"2026-10-0{day}", "hours": "6"} for day in (1, 2, 5, 6, 7)]},
        "/payroll-runs": {"pay_period": "month", "period_start": "2026-10-01", "period_end": "2026-10-31"},
        "/invoices": {"employer_id": ids["employer_id"], "period_start": "2026-10-01", "period_end": "2026-10-31",
                      "issued_on": "2026-11-01"},
        "/invoices/{invoice_id}/reminders": {"sent_on": "2026-11-01"},
        "/invoices/{invoice_id}/overdue": {"on": "2026-11-30"},
        "/invoices/{invoice_id}/credit-notes": {"reason": "wrong_hours", "issued_on": "2026-11-02"},
        "/customers/{employer_id}/vat-status": {"vat_exempt": False, "reason": "a company in business (test)"},
        "/employments/{employment_id}/pay-subsidy-decisions": {
            "reference": "PT-TEST-1", "percent": 50, "monthly_cap": "1260.00", "starts_on": "2026-09-01",
            "ends_on": "2027-05-31", "decided_on": "2026-08-20"},
        "/employments/{employment_id}/pay-subsidy-claims": {"month": "2026-10"},
        "/employments/{employment_id}/kemi-supplement-claims": {
            "month": "2026-10", "applied_on": "2026-09-20", "person_criterion": "labour_market_subsidy_300_days",
            "guidance_form": True, "days_at_another_employer": 2},
    }


STEP = "/clients/{client_id}/pathway/steps/{step_id}"
# The order in which a journey takes valid bodies: each endpoint finds the state it needs (an exit
# before its follow-up and the return, the reassignment last so the owner acts until then); the
# endpoints named in neither list keep their order between the two.
JOURNEY_FIRST = ["/proposals", "/clients", "/clients/{client_id}/consents", "/clients/{client_id}/skill-tags",
                 "/clients/{client_id}/entry-facts", "/clients/{client_id}/pathway/goal",
                 "/clients/{client_id}/pathway/steps", f"{STEP}/start", f"{STEP}/completion", f"{STEP}/interruption",
                 f"{STEP}/cancellation"]
JOURNEY_LAST = ["/clients/{client_id}/exit", "/clients/{client_id}/periods/{period}/follow-up",
                "/clients/{client_id}/referrals", "/clients/{client_id}/erasure", "/openings/{opening_id}/expiry",
                "/clients/{client_id}/case-worker"]


def _journey_position(path: str) -> int:
    if path in JOURNEY_FIRST:
        return JOURNEY_FIRST.index(path)
    return len(JOURNEY_FIRST) + 1 + JOURNEY_LAST.index(path) if path in JOURNEY_LAST else len(JOURNEY_FIRST)


# A step endpoint acts on a step of its own: planned (and started) just before.
STEP_NEEDS = {f"{STEP}/start": ("planned",), f"{STEP}/completion": ("planned", "started"),
              f"{STEP}/interruption": ("planned", "started"), f"{STEP}/cancellation": ("planned",)}


async def _prepare_step(http, url, ids: dict[str, str], bodies: dict[str, dict], headers: dict, needs) -> None:
    steps = f"{url('pathway')}/clients/{ids['client_id']}/pathway/steps"
    async with http.post(steps, json=bodies["/clients/{client_id}/pathway/steps"], headers=headers) as response:
        view = await response.json()
    ids["step_id"] = next(step["step_id"] for step in view["steps"] if step["state"] == "planned")
    if "started" in needs:
        await http.post(f"{steps}/{ids['step_id']}/start", json={"started_on": ENROLLED_ON}, headers=headers)


def _unexplained(label: str, problem: dict, status: int, fields: list[tuple[str, str]]) -> list[str]:
    """What the problem document fails to say: the limit (413), what and where in the JSON (400),
    each field and the words of its rule (422)."""
    missing = []
    if status == 413 and str(MAX_BODY_BYTES) not in problem["detail"]:
        missing.append(f"{label}: the detail does not give the limit: {problem['detail']}")
    if status == 400 and not re.search(r"not valid JSON: .+ line \d+ column \d+", problem["detail"]):
        missing.append(f"{label}: the detail does not say what is wrong and where: {problem['detail']}")
    errors = problem.get("errors", [])
    for field, rule in fields:
        if not any((error["field"] == field or error["field"].startswith(f"{field}.")) and rule in error["rule"]
                   and error["rule"] for error in errors):
            missing.append(f"{label}: no error for {field!r} with the rule {rule!r}: {errors}")
    return missing


async def test_bad_bodies_are_refused_with_the_reason_and_write_nothing(quiet_services, five_services, token):
    url, ids = quiet_services
    endpoints = await _post_endpoints(url)
    assert {f"POST {path}" for _, path, _ in endpoints} >= set(RULES), "the endpoints with known rules are there"
    valid_bodies = _valid_bodies(ids)

    wrong, checked = [], 0
    async with aiohttp.ClientSession() as http:
        for service, path, schema in endpoints:
            role = sorted(allowed_roles(service)[f"POST {path}"])[0]
            headers = bearer(token(role, "kemi", user_of(role))) | {"Content-Type": "application/json"}
            target = url(service) + fill_path(path, ids)
            for what, body, options, status, fields in _cases(path, schema, valid_bodies):
                checked += 1
                before = await _counts(five_services[service])
                data = body
                if options and options.get("chunked"):
                    async def chunks(payload=body):
                        for start in range(0, len(payload), 8192):
                            yield payload[start:start + 8192]
                    data = chunks()
                label = f"{service} POST {path}, {what}"
                async with http.post(target, data=data, headers=headers | (options or {}).get("headers", {})) \
                        as response:
                    text = await response.text()
                    if response.status != status or response.content_type != PROBLEM:
                        wrong.append(f"{label}: {response.status} {response.content_type}, not {status} {PROBLEM}: "
                                     f"{text[:300]}")
                    else:
                        wrong += _unexplained(label, json.loads(text), status, fields)
                if SECRET in text:
                    wrong.append(f"{label}: the error quotes the input")
                after = await _counts(five_services[service])
                if after != before:
                    wrong.append(f"{label}: wrote something: {before} -> {after}")
    assert not wrong, "\n".join(wrong)


async def test_a_body_that_keeps_every_rule_is_accepted_by_the_same_callers(quiet_services, five_services, token):
    """The other side of the test above: the same endpoints, callers and ids take a valid body."""
    url, ids = quiet_services
    bodies = _valid_bodies(ids)
    # Each endpoint finds the state it needs (_journey_position): the proposal first, while the client is
    # not yet in full-time placements; an opening is withdrawn or expires once, so the expiry goes to
    # the opening the POST /openings here registers.
    endpoints = sorted(await _post_endpoints(url), key=lambda endpoint: _journey_position(endpoint[1]))
    assert {path for _, path, _ in endpoints} <= bodies.keys(), "a POST endpoint without a valid body here"
    own_ids: dict[str, dict[str, str]] = {}
    async with aiohttp.ClientSession() as http:
        for service, path, _ in endpoints:
            role = sorted(allowed_roles(service)[f"POST {path}"])[0]
            if path in STEP_NEEDS:
                await _prepare_step(http, url, ids, bodies, bearer(token(role, "kemi", user_of(role))),
                                    STEP_NEEDS[path])
            before = await _counts(five_services[service])
            target = url(service) + fill_path(path, ids | own_ids.get(path, {}))
            async with http.post(target, json=bodies[path],
                                 headers=bearer(token(role, "kemi", user_of(role)))) as response:
                assert response.status in (200, 201), f"{service} POST {path}: {await response.text()}"
                if path == "/openings":
                    own_ids["/openings/{opening_id}/expiry"] = {"opening_id": (await response.json())["opening_id"]}
            after = await _counts(five_services[service])
            # one audit entry per aggregate changed: a gig job changes its placement and each task
            assert after["events"] > before["events"] and after["audit_log"] > before["audit_log"]


async def test_a_caller_of_another_area_changes_nothing(quiet_services, five_services, token):
    """Every POST endpoint with a body that Kemi's callers may send, sent by the same role in Tornio:
    refused (403 for a new aggregate in Kemi, 404 for a Kemi aggregate in the path, 422 for a Kemi
    aggregate named in the body), and nothing written in any service."""
    url, ids = quiet_services
    bodies = _valid_bodies(ids)
    before = {service: await _counts(runtime) for service, runtime in five_services.items()}
    wrong = []
    async with aiohttp.ClientSession() as http:
        for service, path, _ in await _post_endpoints(url):
            role = sorted(allowed_roles(service)[f"POST {path}"])[0]
            async with http.post(url(service) + fill_path(path, ids), json=bodies[path],
                                 headers=bearer(token(role, "tornio", user_of(role)))) as response:
                if response.status not in (403, 404, 422):
                    wrong.append(f"{service} POST {path} as a Tornio {role}: {response.status} {await response.text()}")
    assert not wrong, "\n".join(wrong)
    assert {service: await _counts(runtime) for service, runtime in five_services.items()} == before
