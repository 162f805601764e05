"""The bank's ISO 20022 camt.054 notification of incoming reference payments (BankToCustomerDebitCredit
Notification, versions .001.02 to .001.08 as Finnish banks deliver them), read into payments.

A file that is not XML, not camt.054, or has an entry this reader cannot take whole is refused as a
whole (Camt054Refused names the element and the rule), so nothing of it is imported.
"""
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError, fromstring

NAMESPACE = re.compile(r"^\{(urn:iso:std:iso:20022:tech:xsd:camt\.054\.001\.0[2-8])\}Document$")
MAX_BYTES = 5 * 1024 * 1024


class Camt054Refused(ValueError):
    def __init__(self, field: str, rule: str):
        super().__init__(f"{field}: {rule}")
        self.field, self.rule = field, rule


@dataclass(frozen=True)
class IncomingPayment:
    """One credit transaction: the bank's own reference for it makes a second upload of the file a no-op."""

    bank_reference: str
    amount: Decimal
    booked_on: date
    reference: str | None


def read(document: bytes) -> list[IncomingPayment]:
    if len(document) > MAX_BYTES:
        raise Camt054Refused("file", f"at most {MAX_BYTES} bytes")
    try:
        root = fromstring(document)
    except ParseError as error:
        raise Camt054Refused("file", f"not well-formed XML ({error})") from None
    match = NAMESPACE.match(root.tag)
    if not match:
        raise Camt054Refused("Document", "not an ISO 20022 camt.054.001.02-08 document (namespace "
                                         "urn:iso:std:iso:20022:tech:xsd:camt.054.001.0x)")
    ns = {"c": match.group(1)}
    notifications = root.findall("c:BkToCstmrDbtCdtNtfctn/c:Ntfctn", ns)
    if not notifications:
        raise Camt054Refused("BkToCstmrDbtCdtNtfctn/Ntfctn", "required")
    payments = []
    for n, notification in enumerate(notifications, start=1):
        for e, entry in enumerate(notification.findall("c:Ntry", ns), start=1):
            where = f"Ntfctn[{n}]/Ntry[{e}]"
            if _required(entry, "c:CdtDbtInd", ns, where) != "CRDT":
                continue  # a debit (an outgoing payment) is not a payment of an invoice
            booked_on = _date(_required(entry, "c:BookgDt/c:Dt", ns, where), f"{where}/BookgDt/Dt")
            entry_reference = entry.findtext("c:AcctSvcrRef", None, ns) or entry.findtext("c:NtryRef", None, ns)
            transactions = entry.findall("c:NtryDtls/c:TxDtls", ns)
            if not transactions:
                raise Camt054Refused(f"{where}/NtryDtls/TxDtls", "required: a reference payment comes with its details")
            for t, transaction in enumerate(transactions, start=1):
                at = f"{where}/NtryDtls/TxDtls[{t}]"
                amount_element = (transaction.find("c:Amt", ns) if transaction.find("c:Amt", ns) is not None
                                  else transaction.find("c:AmtDtls/c:TxAmt/c:Amt", ns))
                if amount_element is None:
                    raise Camt054Refused(f"{at}/Amt", "required")
                bank_reference = transaction.findtext("c:Refs/c:AcctSvcrRef", None, ns) or (
                    f"{entry_reference}/{t}" if entry_reference else None)
                if not bank_reference:
                    raise Camt054Refused(f"{at}/Refs/AcctSvcrRef", "required: the bank's reference of the payment")
                reference = transaction.findtext("c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref", None, ns) or ""
                payments.append(IncomingPayment(
                    bank_reference=bank_reference.strip(), amount=_amount(amount_element, f"{at}/Amt"),
                    booked_on=booked_on, reference=reference.strip() or None))
    return payments


def _required(element: Element, path: str, ns: dict[str, str], where: str) -> str:
    text = element.findtext(path, None, ns)
    if text is None or not text.strip():
        raise Camt054Refused(f"{where}/{path.replace('c:', '')}", "required")
    return text.strip()


def _date(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise Camt054Refused(field, "not an ISO 8601 date (YYYY-MM-DD)") from None


def _amount(element: Element, field: str) -> Decimal:
    if element.get("Ccy") != "EUR":
        raise Camt054Refused(f"{field}/@Ccy", "only EUR payments are taken")
    try:
        amount = Decimal((element.text or "").strip())
    except InvalidOperation:
        raise Camt054Refused(field, "not a decimal amount") from None
    if amount <= 0 or amount.as_tuple().exponent < -2 or not amount.is_finite():
        raise Camt054Refused(field, "a positive amount with at most two decimals")
    return amount
