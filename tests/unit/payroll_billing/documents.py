"""The Finvoice schema the tests validate against, and camt.054 documents built as a bank sends them."""
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

import xmlschema

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
            entry_reference: str = "20261020-ENTRY-1", namespace: str = CAMT054) -> bytes:
    """One credit entry of reference payments: (bank reference, amount, creditor reference)."""
    details = "".join(
        f"<TxDtls><Refs><AcctSvcrRef>{bank}</AcctSvcrRef></Refs>"
        f"<AmtDtls><TxAmt><Amt Ccy=\"EUR\">{amount}</Amt></TxAmt></AmtDtls>"
        + (f"<RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>{reference}</Ref>"
           f"</CdtrRefInf></Strd></RmtInf>" if reference else "")
        + "</TxDtls>" for bank, amount, reference in transactions)
    total = sum((Decimal(amount) for _, amount, _ in transactions), Decimal(0))
    return (f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{namespace}"><BkToCstmrDbtCdtNtfctn>'
            f"<GrpHdr><MsgId>MSG-{entry_reference}</MsgId><CreDtTm>{booked_on}T18:00:00</CreDtTm></GrpHdr>"
            f"<Ntfctn><Id>N-{entry_reference}</Id><CreDtTm>{booked_on}T18:00:00</CreDtTm>"
            f"<Acct><Id><IBAN>FI2112345600000785</IBAN></Id></Acct>"
            f"<Ntry><NtryRef>{entry_reference}</NtryRef><Amt Ccy=\"EUR\">{total}</Amt><CdtDbtInd>CRDT</CdtDbtInd>"
            f"<Sts>BOOK</Sts><BookgDt><Dt>{booked_on}</Dt></BookgDt><ValDt><Dt>{booked_on}</Dt></ValDt>"
            f"<AcctSvcrRef>{entry_reference}</AcctSvcrRef><BkTxCd/><NtryDtls>{details}</NtryDtls></Ntry>"
            f"</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>").encode()
