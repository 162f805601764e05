"""HTTP for every service: declared routes, JSON bodies checked by pydantic, errors as problem+json,
an OpenAPI document built from the same declarations, and /health and /ready."""
import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, get_args, get_origin
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, TypeAdapter, ValidationError

from services.platform.auth import PARTNER_CLAIM, KeysUnavailable, Principal, TokenVerifier, Unauthenticated
from services.platform import idempotency
from services.platform.purposes import codes_in_force
from services.platform.errors import ConcurrencyConflict, Forbidden, Gone, NotFound, RuleViolated, StateConflict
from services.platform.tracing import traced_application

# The service's ServiceRuntime (services/platform/service.py), for HTTP handlers.
RUNTIME: web.AppKey = web.AppKey("runtime")
PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal", Principal)
MAX_BODY: web.AppKey[int] = web.AppKey("max_body", int)  # the largest body any route takes
# /parked: the events a consumer keeps waiting (ids, types, reasons), for `polku status` like /metrics.
PUBLIC_PATHS = frozenset({"/health", "/ready", "/openapi.json", "/metrics", "/parked"})

MAX_BODY_BYTES = 64 * 1024
PURPOSE_HEADER = "X-Purpose"
log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Route:
    """One endpoint. The handler gets the request and, when `body` is set, the validated body, then,
    when `query` is set, the validated query string."""

    method: str
    path: str
    handler: Handler
    summary: str
    body: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    # The query parameters the handler reads, for the OpenAPI document (a list: comma-separated or repeated).
    query: type[BaseModel] | None = None
    # A page with no data of its own (reporting's dashboard): a browser loads it without a token, and
    # the page calls the token-guarded API. Not part of the API, so not in OpenAPI or the access matrix.
    page: bool = False
    # A route that takes a file (a bank's camt.054) may take more than a JSON body, and says its type.
    max_body_bytes: int = MAX_BODY_BYTES
    file_type: str | None = None


class Problem(web.HTTPException):
    """An RFC 9457 problem document: `errors` lists each field and the rule it broke."""

    def __init__(self, status: int, title: str, detail: str, errors: Sequence[dict[str, str]] = ()):
        self.status_code = status
        super().__init__(
            text=json.dumps({"status": status, "title": title, "detail": detail, "errors": list(errors)}),
            content_type="application/problem+json",
        )


def invalid(field: str, rule: str) -> Problem:
    """422 for one field (a path or query parameter, a header) and the rule it broke."""
    return Problem(422, "Invalid request", f"{field}: {rule}", [{"field": field, "rule": rule}])


def field_errors(error: ValidationError) -> list[dict[str, str]]:
    """Every field pydantic refused and its rule; the input itself is never echoed."""
    return [{"field": ".".join(str(part) for part in item["loc"]) or "body", "rule": item["msg"]}
            for item in error.errors(include_url=False, include_input=False)]


def invalid_fields(error: ValidationError) -> Problem:
    """422 naming every field pydantic refused and its rule."""
    errors = field_errors(error)
    return Problem(422, "Invalid request", "; ".join(f"{item['field']}: {item['rule']}" for item in errors), errors)


async def parse_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    raw = await request.read()
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        if any(item["type"] == "json_invalid" for item in error.errors(include_url=False)):
            _refuse_malformed_json(raw)
        raise invalid_fields(error) from None


def _refuse_malformed_json(raw: bytes) -> None:
    """The standard library's message names what is wrong and where (`line 1 column 28`); only a body
    that already failed is parsed a second time for it."""
    try:
        json.loads(raw)
    except ValueError as error:
        raise Problem(400, "Malformed JSON", f"the request body is not valid JSON: {error}") from None


def path_uuid(request: web.Request, name: str) -> UUID:
    try:
        return UUID(request.match_info[name])
    except ValueError:
        raise invalid(name, "must be a UUID") from None


def path_int(request: web.Request, name: str, most: int = 1000) -> int:
    value = request.match_info[name]
    # ASCII digits only: str.isdigit() also takes "²", which int() then refuses (a 500 the fuzzing found).
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= most:
        raise invalid(name, f"must be a whole number from 1 to {most}")
    return int(value)


def parse_query(request: web.Request, model: type[BaseModel]) -> BaseModel:
    """The query string as `model`; 422 naming each parameter and its rule. A list field takes its values
    comma-separated, repeated, or both (`?scope=a,b` = `?scope=a&scope=b`); any other field one value."""
    values: dict[str, Any] = {}
    for name in request.query.keys():
        if name in values:
            continue
        if _is_list(model, name):
            values[name] = [part for value in request.query.getall(name) for part in value.split(",") if part]
        elif len(given := request.query.getall(name)) > 1:
            raise invalid(name, "one value only")
        else:
            values[name] = given[0]
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise invalid_fields(error) from None


def _is_list(model: type[BaseModel], name: str) -> bool:
    field = model.model_fields.get(name)
    if field is None:
        return False
    return any(get_origin(kind) is list for kind in (field.annotation, *get_args(field.annotation)))


def callers_area(request: web.Request) -> str:
    """The caller's employment area; a report's `?employment_area=` may only name that one."""
    area = principal_of(request).area
    asked = request.query.get("employment_area", area)
    if asked != area:
        raise Forbidden(f"employment_area: the caller sees area {area} only, not {asked}")
    return area


def stated_purpose(request: web.Request, required: bool = False) -> str | None:
    """The X-Purpose header: why the caller acts, a code of services/purposes.yaml in force today, kept in
    the audit log."""
    purpose = request.headers.get(PURPOSE_HEADER, "").strip()
    if required and not purpose:
        raise invalid(PURPOSE_HEADER, "required: say why the personal data is read, with a purpose code "
                                      "(services/purposes.yaml)")
    in_force = codes_in_force(date.today())
    if purpose and purpose not in in_force:
        raise invalid(PURPOSE_HEADER, "must be a purpose code in force today (services/purposes.yaml), one of "
                                      + ", ".join(in_force))
    return purpose or None


def _to_json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return TypeAdapter(type(value)).dump_python(value, mode="json")


def too_large(limit: int) -> Problem:
    return Problem(413, "Request body too large", f"the body may be at most {limit} bytes")


def _endpoint(route: Route) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def endpoint(request: web.Request) -> web.Response:
        # The application reads up to the largest route's limit; this route's own limit is checked
        # here, on the body as read (a chunked body has no Content-Length to check first).
        if request.can_read_body and len(await request.read()) > route.max_body_bytes:
            raise too_large(route.max_body_bytes)
        args = [await parse_body(request, route.body)] if route.body else []
        if route.query:
            args.append(parse_query(request, route.query))
        result = await route.handler(request, *args)
        if isinstance(result, web.StreamResponse):  # a document that is not JSON (XML, CSV, XLSX, HTML)
            return result
        return web.json_response(_to_json(result), status=route.status, dumps=lambda v: json.dumps(v))

    return endpoint


@web.middleware
async def problems(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except RuleViolated as error:
        raise Problem(422, "Rule violated", str(error), [{"field": error.field, "rule": error.rule}]) from None
    except idempotency.KeyReused as error:
        raise invalid(idempotency.HEADER, str(error).split(": ", 1)[1]) from None
    except (ConcurrencyConflict, StateConflict, idempotency.FirstStillOpen) as error:
        raise Problem(409, "Conflict", str(error)) from None
    except NotFound as error:
        raise Problem(404, "Not found", str(error)) from None
    except idempotency.AnswerLost as error:
        raise Problem(410, "Answer lost", str(error), [{"field": idempotency.HEADER, "rule": "answered once"}]) from None
    except Gone as error:
        raise Problem(410, "Gone", str(error)) from None
    except Forbidden as error:
        raise Problem(403, "Forbidden", str(error)) from None
    except web.HTTPRequestEntityTooLarge:
        raise too_large(request.app[MAX_BODY]) from None


def principal_of(request: web.Request) -> Principal:
    """Who is calling; set by the authentication middleware on every non-public route."""
    return request[PRINCIPAL]


def guard(verifier: TokenVerifier, access: dict[str, frozenset[str]], pages: frozenset[str] = frozenset()):
    """Authentication (401) and the access matrix (403) in front of every non-public route."""

    @web.middleware
    async def authenticate(request: web.Request, handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        if request.path in PUBLIC_PATHS or request.path in pages or resource is None:
            return await handler(request)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("an Authorization: Bearer <token> header is required")
        try:
            # With a JWKS URL the verifier may fetch the identity provider's keys: not on the event loop.
            verify = verifier.verify
            principal = await asyncio.to_thread(verify, token.strip()) if verifier.fetches_keys else verify(token.strip())
        except Unauthenticated as error:
            raise _unauthorized(str(error)) from None
        except KeysUnavailable as error:
            raise Problem(503, "Service unavailable", str(error)) from None
        endpoint = f"{request.method} {resource.canonical}"
        allowed = access.get(endpoint, frozenset())
        if not principal.roles & allowed:
            raise Forbidden(f"{endpoint} is for {', '.join(sorted(allowed)) or 'no role'}; "
                            f"the token has {', '.join(sorted(principal.roles)) or 'no role'}")
        _check_partner(request, principal)
        request[PRINCIPAL] = principal
        return await handler(request)

    return authenticate


def _check_partner(request: web.Request, principal: Principal) -> None:
    """A partner's system asks only as itself: a `partner` query parameter must be the partner
    system its token names (claim `partner_system`), never one the caller merely says it is."""
    for asked in request.query.getall("partner", []):
        if principal.partner is None:
            raise Forbidden(f"partner: the token names no partner system ({PARTNER_CLAIM} claim), so it cannot "
                            f"ask as {asked}")
        if asked != principal.partner:
            raise Forbidden(f"partner: the token is {principal.partner}'s, not {asked}'s")


@web.middleware
async def idempotent(request: web.Request, handler) -> web.StreamResponse:
    """A POST with an Idempotency-Key runs once per caller and key (services/platform/idempotency.py)."""
    try:
        key = idempotency.key_of(request)
    except ValueError as error:
        raise invalid(idempotency.HEADER, str(error)) from None
    if key is None or PRINCIPAL not in request:
        return await handler(request)
    runtime = request.app[RUNTIME]
    return await idempotency.answer_once(request, handler, runtime.engine, principal_of(request).user_id, key,
                                         idempotency.KeyTimes.of(runtime.settings))


def _unauthorized(reason: str) -> Problem:
    problem = Problem(401, "Unauthorized", reason)
    problem.headers["WWW-Authenticate"] = 'Bearer realm="polku"'
    return problem


def openapi_document(title: str, description: str, routes: Sequence[Route],
                     access: dict[str, frozenset[str]]) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for route in (route for route in routes if not route.page):
        roles = sorted(access.get(f"{route.method} {route.path}", ()))
        operation: dict[str, Any] = {
            "operationId": route.handler.__name__,
            "summary": route.summary,
            "description": f"Roles: {', '.join(roles)}. Data of the caller's employment area only.",
            "security": [{"bearer": []}],
            "x-polku-roles": roles,
            "responses": {str(route.status): {"description": "OK"},
                          "401": {"description": "no valid bearer token; `detail` says what is wrong"},
                          "403": {"description": "the token's roles may not call this"}},
        }
        if route.method == "POST":
            operation["parameters"] = [{
                "name": idempotency.HEADER, "in": "header", "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH},
                "description": "the same key and request again: the first response again, nothing written; "
                               "the same key with another request: 422"}]
            operation["responses"]["409"] = {"description": "the request conflicts with the current state, or "
                                                            "the first request with this Idempotency-Key is still open"}
            operation["responses"]["422"] = {"description": "a field or header breaks a rule; `errors` names each"}
            operation["responses"]["410"] = {"description": "the first request with this Idempotency-Key made its "
                                                            "change but its answer was lost (its process stopped); "
                                                            "`detail` names what changed; it does not run again"}
        if route.body is not None:
            schemas.update(_schemas_of(route.body))
            operation["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{route.body.__name__}"}}}}
            operation["responses"]["422"] = {"description": "a field breaks a rule; `errors` names each"}
            operation["responses"]["400"] = {"description": "the body is not JSON"}
        elif route.file_type is not None:
            operation["requestBody"] = {"required": True, "content": {route.file_type: {"schema": {"type": "string"}}}}
            operation["responses"]["422"] = {"description": "the file is refused whole; `errors` names where and why"}
            operation["responses"]["413"] = {"description": f"the file is over {route.max_body_bytes} bytes"}
        if route.response is not None:
            schema = TypeAdapter(route.response).json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            operation["responses"][str(route.status)]["content"] = {"application/json": {"schema": schema}}
        parameters = [{"name": part[1:-1], "in": "path", "required": True,
                       "schema": {"type": "string", "format": "uuid"} if part.endswith("_id}") else {"type": "string"}}
                      for part in route.path.split("/") if part.startswith("{")]
        if parameters:
            operation["responses"]["404"] = {"description": "nothing of that id in the caller's employment area"}
            operation["responses"].setdefault("422", {"description": "a path id is not a UUID, or a field breaks a "
                                                                     "rule; `errors` names each"})
        if route.query is not None:
            parameters += _query_parameters(route.query)
            operation["responses"].setdefault("422", {"description": "a query parameter breaks a rule; `errors` "
                                                                     "names each"})
        parameters.append({"name": PURPOSE_HEADER, "in": "header", "required": False,
                           "schema": {"type": "string", "enum": codes_in_force(date.today())},
                           "description": "why the caller acts, a purpose code of services/purposes.yaml, kept in "
                                          "the audit log; required to read personal data"})
        operation["parameters"] = parameters + operation.get("parameters", [])
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1", "description": description},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = schema.get("$defs", {})
    parameters = []
    for name, field in schema["properties"].items():
        field = {key: value for key, value in field.items() if key != "title"}
        if "$ref" in field:  # an enum of its own: inline, a parameter has no components of its own here
            field = definitions[field["$ref"].rsplit("/", 1)[1]]
        if "items" in field and "$ref" in field["items"]:
            field = field | {"items": definitions[field["items"]["$ref"].rsplit("/", 1)[1]]}
        parameter = {"name": name, "in": "query", "required": name in schema.get("required", []), "schema": field}
        if field.get("type") == "array":
            parameter |= {"style": "form", "explode": False}
        parameters.append(parameter)
    return parameters


def _schemas_of(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    nested = schema.pop("$defs", {})
    return {model.__name__: schema, **nested}


def build_app(title: str, description: str, routes: Sequence[Route],
              ready: Callable[[], Awaitable[dict[str, bool]]], verifier: TokenVerifier,
              access: dict[str, frozenset[str]]) -> web.Application:
    missing = [f"{route.method} {route.path}" for route in routes
               if not route.page and f"{route.method} {route.path}" not in access]
    if missing:
        raise ValueError(f"{title}: no roles in services/access.yaml for {', '.join(missing)}")
    largest = max([MAX_BODY_BYTES, *(route.max_body_bytes for route in routes)])
    pages = frozenset(route.path for route in routes if route.page)
    app = traced_application(client_max_size=largest,
                             middlewares=[problems, guard(verifier, access, pages), idempotent])
    app[MAX_BODY] = largest
    document = openapi_document(title, description, routes, access)

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def readiness(_request: web.Request) -> web.Response:
        checks = await ready()
        return web.json_response({"ready": all(checks.values()), "checks": checks},
                                 status=200 if all(checks.values()) else 503)

    async def openapi(_request: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get("/health", health)
    app.router.add_get("/ready", readiness)
    app.router.add_get("/openapi.json", openapi)
    for route in routes:
        app.router.add_route(route.method, route.path, _endpoint(route))
    return app
