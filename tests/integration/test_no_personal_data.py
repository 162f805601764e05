"""Nothing personal on the bus, in logs or in traces: the demo flow, with every personal-data path
of intake exercised (referral, read, consent and sharing, refusal, erasure), under DEBUG logging and
the session's span exporter; then every message of the streams, every log record and every span is
searched for the demo persons' names, identity codes, e-mails, phone numbers and notes."""
import json
import logging

import pytest
from sqlalchemy import select

from services.demo import PERSONS, REFERRALS, demo_person, load_demo
from services.demo_payroll import WAGES
from services.platform.logs import JsonFormatter
from services.platform.stream_reader import read_batches
from services.platform.tables import events
from tests.integration.test_vault import call
from tests.support import settled, url_of


class CapturedLogs(logging.Handler):
    """Every record of this process, as the services' JSON formatter writes it (extras and tracebacks too)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.json = JsonFormatter("tests")
        self.lines: list[str] = []
        self.loggers: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        self.loggers.add(record.name)
        # Without its timestamp: "04:35:11.930021" holds the demo wage "11.93" one second a minute.
        formatted = json.loads(self.json.format(record))
        formatted.pop("time", None)
        self.lines.append(json.dumps(formatted, ensure_ascii=False) + " " + repr(record.args))


@pytest.fixture
def captured_logs():
    """Not pytest's caplog, which `-p no:logging` would switch off. Root at DEBUG, so SQLAlchemy logs its SQL."""
    handler, root = CapturedLogs(), logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def needles() -> dict[str, set[str]]:
    """Each demo person's values in every form a text may hold them: as given, JSON-escaped, lower case;
    a name also by its (invented) surname alone."""
    found: dict[str, set[str]] = {}
    for number in range(1, len(PERSONS) + 1):
        person = demo_person(number)
        values = {**person, "surname": person["name"].split()[-1],
                  "compact phone": person["phone"].replace(" ", "")}
        for field, value in values.items():
            found[f"person {number} {field}"] = {value, json.dumps(value)[1:-1], value.lower()}
    return found


def leaks(texts: list[str], where: str) -> list[str]:
    return [f"{where}: {name} in {text[:200]!r}" for text in texts for name, forms in needles().items()
            if any(form in text for form in forms)]


def span_texts(spans) -> list[str]:
    texts = []
    for span in spans:
        parts = [span.name, json.dumps(dict(span.attributes or {}), default=str),
                 str(span.status.description or "")]
        for event in span.events:
            parts += [event.name, json.dumps(dict(event.attributes or {}), default=str)]
        texts.append(" ".join(parts))
    return texts


async def stream_texts(nc, stream: str, subject: str) -> list[str]:
    texts = []
    async for batch in read_batches(nc, stream, subject, batch_size=500):
        texts += [f"{msg.subject} {json.dumps(msg.headers or {})} {msg.data.decode()}" for msg in batch]
    return texts


async def test_the_demo_puts_no_personal_data_on_the_bus_in_logs_or_in_spans(captured_logs, five_services, nc,
                                                                          token, span_exporter):
    runtimes, url = five_services, url_of(five_services)

    span_exporter.clear()
    assert await load_demo(url, token) == {"clients": 22, "employers": 6, "placements": 8, "invoices": 3,
                                           "payroll_runs": 2, "payments": 3, "claims": 3}

    # Every way personal data moves through intake, while logs and spans are recorded.
    async with runtimes["intake"].engine.connect() as connection:
        referred = [json.loads(envelope)["data"]["client_id"] for (envelope,) in await connection.execute(
            select(events.c.envelope).where(events.c.event_type == "ClientReferred").order_by(events.c.position))]
    referred = referred[:len(REFERRALS)]  # the demo's journeys after them come without a person
    read = 0
    for number, (client_id, (area, *_)) in enumerate(zip(referred, REFERRALS, strict=True), start=1):
        own = token("case_worker", area, f"cw-{area}-{number % 3 + 1}")
        status, body, _ = await call("GET", f"{url('intake')}/clients/{client_id}/personal-data", own,
                                     headers={"X-Purpose": "demo check"})
        if status == 200:
            assert body == {"client_id": client_id, **demo_person(number)}, "the demo person is in the vault"
            read += 1
        else:
            assert status == 403, body  # not enrolled: no case worker
    assert read == 8

    second, fourth = referred[1], referred[3]
    own = token("case_worker", "kemi", "cw-kemi-3")
    status, _, _ = await call("POST", f"{url('intake')}/clients/{second}/consents", own, {
        "partner": "te_office", "scope": ["contact_details", "personal_data"], "valid_from": "2026-01-01",
        "valid_to": "2099-12-31"})
    assert status == 201
    status, shared, _ = await call("GET", f"{url('intake')}/clients/{second}/shared-data"
                                          "?partner=te_office&scope=contact_details,personal_data",
                                   token("integration", "kemi"))
    assert status == 200 and shared["data"]["personal_identity_code"] == demo_person(2)["personal_identity_code"]
    status, _, _ = await call("GET", f"{url('intake')}/clients/{second}/shared-data?partner=foundation"
                                     "&scope=contact_details", token("integration", "kemi"))
    assert status == 403
    bad = demo_person(5) | {"personal_identity_code": demo_person(5)["personal_identity_code"][:-1] + "?"}
    status, _, raw = await call("POST", f"{url('intake')}/clients", token("integration", "kemi"), {
        "programme": "kemi_model", "employment_area": "kemi", "municipality": "Kemi", "referred_by": "te_office",
        "age": 52, "gender": "male",
        "labour_market_subsidy_days": 900, "unemployed_months": 40, "case_worker_id": "cw-kemi-3", "person": bad})
    assert status == 422 and "person.personal_identity_code" in raw
    status, _, _ = await call("POST", f"{url('intake')}/clients/{fourth}/erasure",
                              token("case_worker", "kemi", "cw-kemi-2"), {"reason": "client_request"})
    assert status == 200

    await settled(runtimes.values())

    # Nothing of any demo person on the bus: the events stream and the dead letters, subjects,
    # headers and bodies.
    messages = await stream_texts(nc, "POLKU", "polku.events.>")
    types = {text.split()[0].rsplit(".", 1)[-1] for text in messages}  # the subject ends in the event type
    assert {"ClientReferred", "ConsentRecorded", "ClientDataErased", "PlacementStarted", "EmployerInvoiced"} <= types
    assert leaks(messages, "POLKU") == []
    # Nor a wage (services/demo_payroll.py): the hourly wages, and two payroll lines they make.
    assert "PayrollRunClosed" in types
    hourly_wages = [wage for wage, *_ in WAGES.values()]
    wages = [f'"{wage}"' for wage in hourly_wages] + ['"494.80"', '"1574.76"']
    assert [text[:200] for text in messages if any(wage in text for wage in wages)] == []
    assert leaks(await stream_texts(nc, "POLKU_DEADLETTER", "polku.deadletter.>"), "POLKU_DEADLETTER") == []

    # Nor in any log record, though the services logged at DEBUG, SQLAlchemy's statements included.
    lines = captured_logs.lines
    assert any("personal data erased" in line for line in lines), "the services' own records are captured"
    assert any("INSERT INTO vault" in line for line in lines), "the SQL and its parameters are captured"
    assert any("INSERT INTO payroll_register" in line for line in lines)
    assert [line[:200] for line in lines if any(wage in line for wage in hourly_wages)] == [], \
        "no wage in a log record"
    assert {"services.intake.api", "services.platform.relay"} & captured_logs.loggers
    assert leaks(lines, "log") == []

    # Nor in any span: names, attributes (URLs, SQL statements), events and status texts.
    spans = span_exporter.get_finished_spans()
    texts = span_texts(spans)
    assert any(text.startswith("POST") and "/clients" in text for text in texts), "HTTP spans are captured"
    assert any("personal-data" in text for text in texts)
    assert leaks(texts, "span") == []
