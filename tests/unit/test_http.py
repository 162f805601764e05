"""services/platform/http.py: bodies checked by pydantic, errors as problem+json, OpenAPI, health and readiness.

A tiny app built with build_app, served by aiohttp's test server on a free local port.
"""
import json
from collections.abc import AsyncIterator
from typing import Literal
from uuid import UUID

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import BaseModel, ConfigDict, Field

from services.platform.errors import ConcurrencyConflict, NotFound, RuleViolated, StateConflict
from services.platform.auth import LocalSigningKey, TokenVerifier, issue_dev_token
from services.platform.config import Settings
from services.platform.http import MAX_BODY_BYTES, Route, build_app, path_uuid

PROBLEM = "application/problem+json"
THING = UUID(int=7)


class Address(BaseModel):
    postcode: str = Field(pattern=r"^\d{5}$")


class Greeting(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    count: int = Field(ge=1)
    address: Address | None = None
    note: str = ""


async def create_greeting(request: web.Request, greeting: Greeting) -> Greeting:
    return greeting


async def break_rule(request: web.Request, greeting: Greeting) -> None:
    raise RuleViolated("count", f"must be odd, not {greeting.count}")


async def lose_race(request: web.Request) -> None:
    raise ConcurrencyConflict("Client", str(THING), 3)


async def wrong_state(request: web.Request) -> None:
    raise StateConflict(f"client {THING} was referred already")


async def get_thing(request: web.Request) -> dict[str, str]:
    thing_id = path_uuid(request, "thing_id")
    if thing_id != THING:
        raise NotFound(f"no thing {thing_id}")
    return {"thing_id": str(thing_id)}


ROUTES = [
    Route("POST", "/greetings", create_greeting, "Create a greeting", body=Greeting, response=Greeting, status=201),
    Route("POST", "/rules", break_rule, "Always breaks a rule", body=Greeting),
    Route("POST", "/race", lose_race, "Always loses the race"),
    Route("POST", "/state", wrong_state, "Never fits the state"),
    Route("GET", "/things/{thing_id}", get_thing, "A thing", response=dict[str, str]),
]


def local_verifier(key_file) -> TokenVerifier:
    return TokenVerifier(LocalSigningKey(key_file).public_key, "polku-local", "polku")


def manager_token(key_file) -> str:
    return issue_dev_token(Settings(service="tests", signing_key_file=key_file), "m-1", ["manager"], "kemi")


@pytest.fixture
def checks() -> dict[str, bool]:
    return {"database": True, "nats": True}


@pytest.fixture
async def client(checks, tmp_path) -> AsyncIterator[TestClient]:
    key_file = tmp_path / "key.pem"
    async def ready() -> dict[str, bool]:
        return dict(checks)

    app = build_app("Test service", "A service for the tests.", ROUTES, ready, local_verifier(key_file),
                    {f"{route.method} {route.path}": frozenset({"manager"}) for route in ROUTES})
    async with TestClient(TestServer(app), headers={"Authorization": f"Bearer {manager_token(key_file)}"}) as client:
        yield client


async def problem(response, status: int) -> dict:
    assert response.status == status, await response.text()
    assert response.content_type == PROBLEM
    body = await response.json(content_type=PROBLEM)
    assert body["status"] == status
    return body


# --- bodies --------------------------------------------------------------------------------------------

async def test_a_valid_body_reaches_the_handler(client):
    response = await client.post("/greetings", json={"name": "Aino", "count": 2, "address": {"postcode": "94100"}})
    assert response.status == 201
    assert await response.json() == {"name": "Aino", "count": 2, "address": {"postcode": "94100"}, "note": ""}


@pytest.mark.parametrize(("body", "found"), [
    (b'{"name": "Aino", "count": 2', "Expecting ',' delimiter: line 1 column 28 (char 27)"),
    (b"", "Expecting value: line 1 column 1 (char 0)"),
    (b"name=Aino", "Expecting value: line 1 column 1 (char 0)"),
])
async def test_malformed_json_is_a_400_that_says_what_is_wrong(client, body, found):
    response = await client.post("/greetings", data=body, headers={"Content-Type": "application/json"})
    assert await problem(response, 400) == {
        "status": 400, "title": "Malformed JSON", "detail": f"the request body is not valid JSON: {found}",
        "errors": []}


async def test_a_missing_field_is_a_422_naming_the_field(client):
    body = await problem(await client.post("/greetings", json={"name": "Aino"}), 422)
    assert body["title"] == "Invalid request"
    assert body["errors"] == [{"field": "count", "rule": "Field required"}]
    assert body["detail"] == "count: Field required"


async def test_every_invalid_field_is_listed_with_its_rule(client):
    response = await client.post("/greetings", json={
        "name": "", "count": 0, "address": {"postcode": "941"}, "personal_identity_code": "131052-308T"})
    body = await problem(response, 422)
    assert body["errors"] == [
        {"field": "name", "rule": "String should have at least 1 character"},
        {"field": "count", "rule": "Input should be greater than or equal to 1"},
        {"field": "address.postcode", "rule": "String should match pattern '^\\d{5}$'"},
        {"field": "personal_identity_code", "rule": "Extra inputs are not permitted"},
    ]
    assert body["detail"].split("; ")[0] == "name: String should have at least 1 character"
    assert "131052-308T" not in json.dumps(body), "a problem must not echo the input"


async def test_a_body_that_is_not_an_object_is_a_422_on_the_body(client):
    body = await problem(await client.post("/greetings", json=[1, 2]), 422)
    assert body["errors"] == [{"field": "body", "rule": "Input should be an object"}]


async def test_a_body_over_the_limit_is_a_413(client):
    response = await client.post("/greetings", json={"name": "Aino", "count": 1, "note": "x" * MAX_BODY_BYTES})
    body = await problem(response, 413)
    assert body["title"] == "Request body too large"
    assert body["detail"] == f"the body may be at most {MAX_BODY_BYTES} bytes"


async def test_a_body_just_under_the_limit_is_accepted(client):
    payload = json.dumps({"name": "Aino", "count": 1, "note": ""})
    note = "x" * (MAX_BODY_BYTES - len(payload))
    data = json.dumps({"name": "Aino", "count": 1, "note": note}).encode()
    assert len(data) == MAX_BODY_BYTES
    response = await client.post("/greetings", data=data, headers={"Content-Type": "application/json"})
    assert response.status == 201
    assert len((await response.json())["note"]) == len(note)


# --- domain errors -------------------------------------------------------------------------------------

async def test_a_broken_rule_is_a_422_naming_the_field(client):
    body = await problem(await client.post("/rules", json={"name": "Aino", "count": 2}), 422)
    assert body == {"status": 422, "title": "Rule violated", "detail": "count: must be odd, not 2",
                    "errors": [{"field": "count", "rule": "must be odd, not 2"}]}


async def test_a_concurrency_conflict_is_a_409(client):
    body = await problem(await client.post("/race"), 409)
    assert body["title"] == "Conflict"
    assert body["detail"] == (f"Client {THING} changed while this request was handled (expected version 3); "
                              "reload and try again")


async def test_a_state_conflict_is_a_409(client):
    body = await problem(await client.post("/state"), 409)
    assert body["detail"] == f"client {THING} was referred already"


async def test_not_found_is_a_404(client):
    other = UUID(int=8)
    body = await problem(await client.get(f"/things/{other}"), 404)
    assert (body["title"], body["detail"]) == ("Not found", f"no thing {other}")
    response = await client.get(f"/things/{THING}")
    assert response.status == 200
    assert await response.json() == {"thing_id": str(THING)}


async def test_a_path_id_that_is_not_a_uuid_is_a_422(client):
    body = await problem(await client.get("/things/not-a-uuid"), 422)
    assert body["errors"] == [{"field": "thing_id", "rule": "must be a UUID"}]


async def test_an_unknown_path_is_still_a_404(client):
    assert (await client.get("/nowhere")).status == 404


# --- OpenAPI, health and readiness -----------------------------------------------------------------

async def test_openapi_lists_the_routes(client):
    response = await client.get("/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] == "Test service"
    assert document["paths"].keys() == {"/greetings", "/rules", "/race", "/state", "/things/{thing_id}"}
    create = document["paths"]["/greetings"]["post"]
    assert create["operationId"] == "create_greeting"
    assert create["summary"] == "Create a greeting"
    assert create["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Greeting"}
    assert create["responses"].keys() == {"201", "400", "401", "403", "409", "410", "422"}
    assert [parameter["name"] for parameter in create["parameters"]] == ["X-Purpose", "Idempotency-Key"]
    assert create["parameters"][0]["schema"]["enum"][:3] == ["client_referral", "service_planning", "client_meeting"]
    assert create["x-polku-roles"] == ["manager"] and create["security"] == [{"bearer": []}]
    response_schema = create["responses"]["201"]["content"]["application/json"]["schema"]
    assert response_schema["title"] == "Greeting"
    assert response_schema["properties"]["address"]["anyOf"][0] == {"$ref": "#/components/schemas/Address"}
    assert {"Greeting", "Address"} <= document["components"]["schemas"].keys()
    assert document["components"]["schemas"]["Greeting"]["required"] == ["name", "count"]
    thing = document["paths"]["/things/{thing_id}"]["get"]
    assert thing["parameters"][0] == {"name": "thing_id", "in": "path", "required": True,
                                      "schema": {"type": "string", "format": "uuid"}}
    assert thing["responses"].keys() == {"200", "401", "403", "404", "422"}
    assert "requestBody" not in thing


async def test_health(client):
    response = await client.get("/health")
    assert response.status == 200
    assert await response.json() == {"status": "alive"}


async def test_ready_when_every_check_passes(client):
    response = await client.get("/ready")
    assert response.status == 200
    assert await response.json() == {"ready": True, "checks": {"database": True, "nats": True}}


async def test_not_ready_when_a_check_fails(client, checks):
    checks["nats"] = False
    response = await client.get("/ready")
    assert response.status == 503
    assert await response.json() == {"ready": False, "checks": {"database": True, "nats": False}}
    assert (await client.get("/health")).status == 200, "alive even when not ready"


@pytest.mark.parametrize("value", ["²", "0", "1001", "-1", "1.0", "٣x", " 1"])
def test_a_path_number_that_is_no_whole_number_in_range_is_422_naming_it(value):
    from aiohttp.test_utils import make_mocked_request

    from services.platform.http import Problem, path_int
    request = make_mocked_request("POST", "/clients/x/periods/y/follow-up", match_info={"period": value})
    with pytest.raises(Problem) as refused:
        path_int(request, "period")
    assert refused.value.status == 422 and json.loads(refused.value.text)["errors"] == [
        {"field": "period", "rule": "must be a whole number from 1 to 1000"}]


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: list[Literal["a", "b", "c"]] = Field(min_length=1)
    also: list[str] | None = None
    limit: int = 10


@pytest.mark.parametrize(("query", "parsed"), [
    ("scope=a,b&scope=c", {"scope": ["a", "b", "c"], "also": None, "limit": 10}),
    ("scope=a&also=x,y&limit=3", {"scope": ["a"], "also": ["x", "y"], "limit": 3}),
])
def test_a_list_query_parameter_takes_commas_and_repeats(query, parsed):
    from aiohttp.test_utils import make_mocked_request

    from services.platform.http import parse_query
    assert parse_query(make_mocked_request("GET", f"/x?{query}"), ListQuery).model_dump() == parsed


@pytest.mark.parametrize(("query", "field", "rule"), [
    ("scope=a&limit=1&limit=2", "limit", "one value only"),
    ("scope=d", "scope.0", "Input should be"),
    ("limit=2", "scope", "Field required"),
    ("scope=,", "scope", "at least 1 item"),
])
def test_a_bad_query_parameter_is_422_naming_it(query, field, rule):
    from aiohttp.test_utils import make_mocked_request

    from services.platform.http import Problem, parse_query
    with pytest.raises(Problem) as refused:
        parse_query(make_mocked_request("GET", f"/x?{query}"), ListQuery)
    error = json.loads(refused.value.text)["errors"][0]
    assert refused.value.status == 422 and error["field"] == field and rule in error["rule"], error


def test_the_documents_name_the_query_parameters_of_shared_data_and_audit():
    from services.intake.service import SERVICE as INTAKE
    from services.platform.access import allowed_roles
    from services.platform.audit import AUDIT_ROUTES
    from services.platform.http import openapi_document
    document = openapi_document("intake", "", [*INTAKE.routes, *AUDIT_ROUTES], allowed_roles("intake"))
    shared = {parameter["name"]: parameter for parameter in
              document["paths"]["/clients/{client_id}/shared-data"]["get"]["parameters"]}
    assert shared["partner"]["required"] and shared["partner"]["schema"]["enum"] == ["te_office", "foundation", "education_provider"]
    assert shared["scope"]["schema"]["type"] == "array" and shared["scope"]["explode"] is False
    assert shared["scope"]["schema"]["items"]["enum"] == ["contact_details", "personal_data"]
    audit = {parameter["name"]: parameter for parameter in document["paths"]["/audit"]["get"]["parameters"]}
    assert {"actor", "subject", "action", "since", "until", "limit"} <= audit.keys()
    assert audit["limit"]["schema"]["maximum"] == 1000
