"""Erasure by crypto-shredding: the client's key and encrypted data leave intake's vault; no file and
no message keeps the person; the anonymous history and the reports stay as they were."""
import asyncio
import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from services.demo import identity_code
from services.intake.service import SERVICE as INTAKE
from services.platform.nats_server import free_port
from services.platform.processes import ServiceProcesses
from services.platform.stream_reader import read_batches
from tests.integration.test_vault import base_url, call, refer, referral, stored
from tests.support import eventually

TODAY = date.today().isoformat()
ERASE = {"reason": "client_request"}
# A person no other test uses, so any trace of them in a file or message comes from this test.
ZOFIA = {"name": "Zofia Kryptoshreddaus", "personal_identity_code": identity_code(date(1988, 4, 12), "V", 517),
         "email": "zofia.kryptoshreddaus@example.org", "phone": "+358 40 555 0177",
         "notes": "Shredding canary: interested in forklift training."}


# --- over HTTP, in this process -----------------------------------------------------------------------

async def test_after_erasure_personal_data_is_gone_and_the_anonymous_client_stays(start_service, token):
    intake = await start_service(INTAKE)
    client_id = await refer(intake, token)
    url = base_url(intake)
    own = token("case_worker", user="cw-own")
    _, before, _ = await call("GET", f"{url}/clients/{client_id}", token("manager"))
    assert (await call("POST", f"{url}/clients/{client_id}/consents", own, {
        "partner": "te_office", "scope": ["contact_details"], "valid_from": TODAY, "valid_to": TODAY}))[0] == 201
    counts = await stored(intake.engine)

    status, erased, raw = await call("POST", f"{url}/clients/{client_id}/erasure", own, ERASE)
    assert status == 200, raw
    assert erased["personal_data_erased_on"] == TODAY
    after = await stored(intake.engine)
    assert (after["events"], after["vault"]) == (counts["events"] + 1, counts["vault"] - 1)

    status, body, _ = await call("GET", f"{url}/clients/{client_id}/personal-data", own,
                                 headers={"X-Purpose": "erasure_check"})
    assert (status, body["detail"]) == (410, f"the personal data of client {client_id} was erased on {TODAY}; "
                                             "the anonymous history of the client remains")
    status, _, _ = await call("GET", f"{url}/clients/{client_id}/shared-data?partner=te_office&scope=contact_details",
                              token("integration"))
    assert status == 410
    status, body, _ = await call("POST", f"{url}/clients/{client_id}/consents", own, {
        "partner": "te_office", "scope": ["contact_details"], "valid_from": TODAY, "valid_to": TODAY})
    assert status == 409 and "nothing left to share" in body["detail"]

    _, view, _ = await call("GET", f"{url}/clients/{client_id}", token("manager"))
    assert view["personal_data_erased_on"] == TODAY
    assert {key: value for key, value in view.items() if key not in ("personal_data_erased_on", "consents")} == {
        key: value for key, value in before.items() if key not in ("personal_data_erased_on", "consents")}

    status, entries, _ = await call("GET", f"{url}/audit?subject=Client {client_id}&action=change: ClientDataErased",
                                    token("auditor"))
    assert [(entry["actor"], entry["action"]) for entry in entries] == [("cw-own", "change: ClientDataErased")]


async def test_who_may_erase_and_that_it_happens_once(start_service, token):
    intake = await start_service(INTAKE)
    url = base_url(intake)
    first, second = await refer(intake, token), await refer(intake, token)
    before = await stored(intake.engine)

    for bearer, expected in [(token("case_worker", user="cw-other"), 403), (token("integration"), 403),
                             (token("auditor"), 403), (token("manager", area="tornio"), 404)]:
        assert (await call("POST", f"{url}/clients/{first}/erasure", bearer, ERASE))[0] == expected
    for body, field in [({}, "reason"), ({"reason": "asked nicely"}, "reason"), ({**ERASE, "all": True}, "all")]:
        status, problem, _ = await call("POST", f"{url}/clients/{first}/erasure", token("manager"), body)
        assert status == 422 and [error["field"] for error in problem["errors"]] == [field]
    assert await stored(intake.engine) == before, "refused erasures change nothing"

    # A manager may erase any client of the area (retention, or when no case worker is left).
    assert (await call("POST", f"{url}/clients/{second}/erasure", token("manager"),
                       {"reason": "retention_period_ended"}))[0] == 200
    assert (await call("POST", f"{url}/clients/{first}/erasure", token("case_worker", user="cw-own"), ERASE))[0] == 200
    status, body, _ = await call("POST", f"{url}/clients/{first}/erasure", token("manager"), ERASE)
    assert (status, body["detail"]) == (409, f"the personal data of client {first} was erased already on {TODAY}")
    assert (await stored(intake.engine))["vault"] == before["vault"] - 2


# --- as processes, searching every file and message afterwards -------------------------------------------

@pytest.fixture
def intake_and_reporting(nc, nats_server, tmp_path, signing_key_file):
    """Intake and reporting as processes on a var dir of their own, logging at DEBUG (SQL included)."""
    services = ServiceProcesses(nats_server.url, tmp_path / "var", {"intake": free_port(), "reporting": free_port()},
                                extra_env={"POLKU_SIGNING_KEY_FILE": str(signing_key_file), "POLKU_LOG_LEVEL": "DEBUG"})
    services.start("intake")
    services.start("reporting")
    yield services
    services.stop_all()


def forms(value: str) -> set[bytes]:
    """The bytes a value takes in a file or message: UTF-8 and as JSON writes it (non-ASCII escaped)."""
    return {value.encode(), json.dumps(value)[1:-1].encode(), value.lower().encode()}


def traces(root: Path, needles: dict[str, set[bytes]]) -> list[str]:
    """Which needle each file under root holds, as 'path: needle'."""
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            content = path.read_bytes()
            found += [f"{path.relative_to(root)}: {name}" for name, variants in needles.items()
                      if any(variant in content for variant in variants)]
    return found


def vault_row(database: Path, client_id: str) -> tuple[bytes, bytes]:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        row = connection.execute("SELECT wrapped_key, ciphertext FROM vault WHERE client_id = ?",
                                 (client_id,)).fetchone()
    finally:
        connection.close()  # a reader left open would keep the write-ahead log from being truncated
    assert row is not None, "the person is in the vault before the erasure"
    return row


async def stream_messages(nc) -> list[bytes]:
    messages = []
    async for batch in read_batches(nc, "POLKU", "polku.events.>", batch_size=100):
        messages += [msg.subject.encode() + json.dumps(msg.headers or {}).encode() + msg.data for msg in batch]
    return messages


async def reporting_caught_up(nc, events: int) -> bool:
    """Intake's relay has published `events` events, and reporting has taken all of them (without the
    first condition, a check that ran before the relay published would pass on an empty stream)."""
    if (await nc.jetstream().stream_info("POLKU")).state.messages < events:
        return False
    info = await nc.jetstream().consumer_info("POLKU", "reporting")
    return info.num_pending == 0 and info.num_ack_pending == 0


@pytest.mark.e2e
async def test_an_erased_person_is_in_no_file_and_no_message_and_reports_stay(intake_and_reporting, nc, token,
                                                                               nats_server):
    services = intake_and_reporting
    await asyncio.to_thread(services.wait_ready)
    intake, reporting, var = services.url("intake"), services.url("reporting"), services.var_dir
    own = token("case_worker", user="cw-own")

    status, created, raw = await call("POST", f"{intake}/clients", token("integration"), referral(person=ZOFIA))
    assert status == 201, raw
    client_id = created["client_id"]
    status, read, _ = await call("GET", f"{intake}/clients/{client_id}/personal-data", own,
                                 headers={"X-Purpose": "client_meeting"})
    assert (status, read) == (200, {"client_id": client_id, **ZOFIA})

    await eventually(lambda: reporting_caught_up(nc, events=3), what="reporting taking the referral")
    report = f"{reporting}/reports/clients-by-status"
    _, report_before, _ = await call("GET", report, token("manager"))
    assert report_before == [{"employment_area": "kemi", "status": "enrolled", "clients": 1}]
    _, view_before, _ = await call("GET", f"{intake}/clients/{client_id}", token("manager"))

    wrapped_key, ciphertext = vault_row(var / "intake.db", client_id)
    sealed = {"wrapped key": {wrapped_key[-24:]}, "ciphertext": {ciphertext[-24:]}}
    assert {entry.split(": ")[1] for entry in traces(var, sealed)} == {"wrapped key", "ciphertext"}, \
        "the search finds the vault row in the database files before the erasure"

    status, erased, raw = await call("POST", f"{intake}/clients/{client_id}/erasure", own, ERASE)
    assert status == 200, raw
    status, gone, _ = await call("GET", f"{intake}/clients/{client_id}/personal-data", own,
                                 headers={"X-Purpose": "client_meeting"})
    assert status == 410 and "was erased on" in gone["detail"]
    await eventually(lambda: reporting_caught_up(nc, events=4), what="reporting taking ClientDataErased")

    # The anonymous history and the reports are as they were.
    _, view_after, _ = await call("GET", f"{intake}/clients/{client_id}", token("manager"))
    assert view_after == view_before | {"personal_data_erased_on": TODAY}
    assert (await call("GET", report, token("manager")))[1] == report_before

    # While the services run: the key and the ciphertext are gone from the database and its log.
    assert traces(var, sealed) == [], "secure_delete and the log truncation leave no copy of the vault row"
    person = {field: forms(value) for field, value in ZOFIA.items()}
    assert traces(var, person) == []

    # The stream has the whole anonymous history, and nothing of the person.
    messages = await stream_messages(nc)
    assert len(messages) == 5 and b"ClientDataErased" in messages[-1]
    assert [field for field, variants in person.items() for message in messages
            if any(variant in message for variant in variants)] == []

    services.stop_all()  # every log flushed, every database closed
    logs = var / "logs"
    assert (logs / "intake.log").stat().st_size > 0 and b"personal data erased" in (logs / "intake.log").read_bytes()
    assert b"SELECT" in (logs / "intake.log").read_bytes(), "DEBUG logging wrote the SQL too"
    assert traces(var, person | sealed) == []
    assert traces(nats_server.store_dir, person) == [], "nor the JetStream store"
