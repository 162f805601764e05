"""Every route of every service against the access matrix of services/access.yaml.

The routes come from each running service's own /openapi.json, so a new endpoint is walked as soon
as it exists; the expected roles come from the matrix file (services.platform.access), never from
the OpenAPI document under test.
"""
from pathlib import Path

import aiohttp

from services.platform.access import EVERY_SERVICE, allowed_roles, markdown_table, matrix
from services.platform.auth import ROLES
from services.platform.http import PUBLIC_PATHS
from tests.support import DEFINITIONS, bearer, fill_path, operations, url_of

README = Path(__file__).resolve().parents[2] / "README.md"
WRITE_METHODS = {"POST", "PUT", "PATCH"}


async def _openapi(http: aiohttp.ClientSession, base: str) -> dict:
    async with http.get(f"{base}/openapi.json") as response:  # public: no token
        assert response.status == 200, await response.text()
        return await response.json()


async def _call(http: aiohttp.ClientSession, method: str, url: str, headers: dict[str, str]):
    """One request with a minimal body for writes; returns the status and the response headers."""
    body = {"json": {}} if method in WRITE_METHODS else {}
    async with http.request(method, url, headers=headers, **body) as response:
        await response.read()
        return response.status, response.headers


async def test_every_route_refuses_callers_without_a_valid_token_or_an_allowed_role(five_services, token):
    url = url_of(five_services)
    wrong: list[str] = []
    walked = 0
    async with aiohttp.ClientSession() as http:
        for service in DEFINITIONS:
            access = allowed_roles(service)
            for method, template in operations(await _openapi(http, url(service))):
                endpoint = f"{method} {template}"
                target = url(service) + fill_path(template)
                walked += 1

                status, headers = await _call(http, method, target, {})
                if status != 401 or not headers.get("WWW-Authenticate", "").startswith("Bearer"):
                    wrong.append(f"{service} {endpoint} without a token: {status}, "
                                 f"WWW-Authenticate={headers.get('WWW-Authenticate')!r}")
                for garbage in ("garbage", "a.b.c", token("manager")[:-8] + "AAAAAAAA"):
                    status, _ = await _call(http, method, target, bearer(garbage))
                    if status != 401:
                        wrong.append(f"{service} {endpoint} with the token {garbage[:20]!r}…: {status}")
                status, _ = await _call(http, method, target, {"Authorization": "Basic dXNlcjpwYXNz"})
                if status != 401:
                    wrong.append(f"{service} {endpoint} with Basic credentials: {status}")

                allowed = access.get(endpoint, frozenset())
                for role in ROLES:
                    status, _ = await _call(http, method, target, bearer(token(role, "kemi")))
                    if role in allowed and status in (401, 403):
                        wrong.append(f"{service} {endpoint} refused {role}, whom the matrix allows: {status}")
                    if role not in allowed and status != 403:
                        wrong.append(f"{service} {endpoint} answered {role}, whom the matrix refuses: {status}")
    assert walked >= sum(len(allowed_roles(service)) for service in DEFINITIONS)
    assert not wrong, "\n".join(wrong)


async def test_the_openapi_routes_and_the_matrix_are_the_same(five_services):
    url = url_of(five_services)
    assert set(matrix()) - {EVERY_SERVICE} == set(DEFINITIONS), "the matrix names exactly the five services"
    async with aiohttp.ClientSession() as http:
        for service in DEFINITIONS:
            document = await _openapi(http, url(service))
            routes = {f"{method} {path}" for method, path in operations(document)}
            access = allowed_roles(service)
            assert routes - set(access) == set(), f"{service}: routes the matrix does not name"
            assert set(access) - routes == set(), f"{service}: matrix entries with no route"
            for method, path in operations(document):
                documented = document["paths"][path][method.lower()]["x-polku-roles"]
                assert documented == sorted(access[f"{method} {path}"]), f"{service} {method} {path}"


async def test_health_readiness_and_the_openapi_document_need_no_token(five_services):
    url = url_of(five_services)
    async with aiohttp.ClientSession() as http:
        for service in DEFINITIONS:
            for path in sorted(PUBLIC_PATHS):
                async with http.get(url(service) + path) as response:
                    assert response.status == 200, f"{service} {path}: {response.status} {await response.text()}"
                async with http.get(url(service) + path, headers=bearer("garbage")) as response:
                    assert response.status == 200, f"{service} {path} with a bad token: {response.status}"


async def test_an_unknown_path_is_404_not_401(five_services):
    url = url_of(five_services)
    async with aiohttp.ClientSession() as http, http.get(url("intake") + "/no/such/thing") as response:
        assert response.status == 404


def test_the_readme_shows_the_matrix_as_it_is():
    assert markdown_table() in README.read_text(), (
        "README.md's access matrix differs from services/access.yaml; paste the output of "
        "`python -m services.platform.access`")

