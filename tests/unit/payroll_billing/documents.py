"""The Finvoice schema the tests validate against, and camt.054 documents built as a bank sends them
(by the demo's bank, services/demo_payroll.py)."""
from datetime import date
from functools import cache
from pathlib import Path

import xmlschema

from services.demo_payroll import bank_notification
from services.payroll_billing.finvoice import SCHEMA as SCHEMA_IN_REPO

ROOT = Path(__file__).resolve().parents[3]
# The team's reference copy beside the project; else the copy kept in the repo, for a clean clone.
SHARED_SCHEMA = ROOT.parent / "shared" / "reference" / "finvoice" / "Finvoice3.0.xsd"
SCHEMA = SHARED_SCHEMA if SHARED_SCHEMA.exists() else SCHEMA_IN_REPO
CAMT054 = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"


@cache
def finvoice_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMA))


def finvoice_errors(document: bytes) -> list[str]:
    return [f"{error.path}: {error.reason}" for error in finvoice_schema().iter_errors(document.decode())]


def camt054(*transactions: tuple[str, str, str | None], booked_on: date = date(2026, 10, 20),
            namespace: str = CAMT054) -> bytes:
    return bank_notification(*transactions, booked_on=booked_on, namespace=namespace)
