"""The partner of a shared-data request is the one its integration token names, not a query parameter."""
import aiohttp

from services.intake.service import SERVICE as INTAKE
from services.platform.auth import issue_dev_token
from services.platform.config import Settings
from tests.integration.test_vault import PERSON
from tests.support import bearer, referral_body


async def test_one_partner_cannot_ask_as_another(start_service, token):
    intake = await start_service(INTAKE)
    base = f"http://127.0.0.1:{intake.settings.http_port}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/clients", headers=bearer(token("case_worker", "kemi", "cw-own")), json=referral_body(person=PERSON)) as response:
            client_id = (await response.json())["client_id"]
        async with http.post(f"{base}/clients/{client_id}/consents", headers=bearer(token("case_worker", "kemi", "cw-own")),
                             json={"partner": "te_office", "scope": ["contact_details"], "valid_from": "2026-01-01",
                                   "valid_to": "2099-12-31"}) as response:
            assert response.status == 201, await response.text()
        shared = f"{base}/clients/{client_id}/shared-data?partner=te_office&scope=contact_details"
        async with http.get(shared, headers=bearer(token("integration", partner="te_office"))) as response:
            assert response.status == 200
        # The city's system says it is the TE office: refused, whatever the client consented to.
        async with http.get(shared, headers=bearer(token("integration", partner="city"))) as response:
            assert response.status == 403
            assert (await response.json())["detail"] == "partner: the token is city's, not te_office's"
        unnamed = issue_dev_token(Settings(service="tests", signing_key_file=intake.settings.signing_key_file),
                                  "some-system", ["integration"], "kemi")
        async with http.get(shared, headers=bearer(unnamed)) as response:
            assert response.status == 403 and "names no partner system" in (await response.json())["detail"]
