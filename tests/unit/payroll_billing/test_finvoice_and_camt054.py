"""Finvoice 3.0 documents validated against the schema; camt.054 payment notifications read or refused."""
from datetime import date
from decimal import Decimal
from uuid import UUID
from xml.etree.ElementTree import fromstring

import pytest

from services.payroll_billing.camt054 import Camt054Refused, read
from services.payroll_billing.domain.invoice import (INVOICE as INVOICE_KIND, BillableDay, CreditInvoice,
                                                     InvoiceEmployer, credit, issue)
from services.payroll_billing.finvoice import SCHEMA as SCHEMA_IN_REPO
from services.payroll_billing.finvoice import Buyer, Seller, finvoice
from services.platform.event_store import fold
from tests.unit.payroll_billing.builders import CAFE, EMPLOYER, INVOICE, PLACEMENT, SHOP
from tests.unit.payroll_billing.documents import SHARED_SCHEMA, camt054, finvoice_errors

BUYER = Buyer("0210427-6", "Kemin kaupunki")


def an_invoice(exempt: bool = False):
    days = [BillableDay(PLACEMENT, SHOP, date(2024, 8, 30), Decimal("4"), Decimal("26.00")),
            BillableDay(PLACEMENT, CAFE, date(2024, 9, 2), Decimal("2.5"), Decimal("22.50"))]
    command = InvoiceEmployer(employer_id=EMPLOYER, period_start=date(2024, 8, 1), period_end=date(2024, 9, 30),
                              issued_on=date(2024, 10, 1))
    [event] = issue(INVOICE, command, exempt, days, date(2024, 10, 1))
    return event


@pytest.mark.parametrize("exempt", [False, True])
def test_an_invoice_is_a_valid_finvoice_3_0_document(exempt):
    invoice = an_invoice(exempt)
    document = finvoice(invoice, Seller(), BUYER)
    assert finvoice_errors(document) == []
    root = fromstring(document)
    assert root.get("Version") == "3.0"
    assert root.findtext("BuyerPartyDetails/BuyerPartyIdentifier") == "0210427-6"
    assert root.findtext("InvoiceDetails/InvoiceTotalVatIncludedAmount") == f"{invoice.total:.2f}".replace(".", ",")
    assert root.findtext("EpiDetails/EpiPartyDetails/EpiBeneficiaryPartyDetails/EpiAccountID") == Seller().iban
    assert root.findtext("EpiDetails/EpiPaymentInstructionDetails/EpiRemittanceInfoIdentifier") == invoice.rf_reference
    assert root.findtext("EpiDetails/EpiPaymentInstructionDetails/EpiDateOptionDate") == "20241015"
    assert root.findtext("EpiDetails/EpiIdentificationDetails/EpiReference") == invoice.reference
    assert len(root.findall("InvoiceRow")) == 2


def test_a_total_with_a_round_ten_of_cents_keeps_both_decimals():
    """4 h × 25.00 = 100.00 and 25.5 % VAT: 125.50, which the payment block must write as 125,50
    (found by `make bench`: 12 of 200 documents with a total like it failed the schema)."""
    days = [BillableDay(PLACEMENT, None, date(2024, 9, 2), Decimal("4"), Decimal("25.00"))]
    command = InvoiceEmployer(employer_id=EMPLOYER, period_start=date(2024, 9, 1), period_end=date(2024, 9, 30))
    [invoice] = issue(INVOICE, command, False, days, date(2024, 10, 1))
    document = finvoice(invoice, Seller(), BUYER)
    assert invoice.total == Decimal("125.50") and finvoice_errors(document) == []
    assert fromstring(document).findtext("EpiDetails/EpiPaymentInstructionDetails/EpiInstructedAmount") == "125,50"


def test_a_credit_note_is_a_valid_finvoice_with_negative_amounts():
    invoice = an_invoice()
    [credited] = credit(fold(INVOICE_KIND, [invoice]), INVOICE, UUID(int=50), CreditInvoice(reason="wrong_hours"),
                        date(2024, 10, 3))
    document = finvoice(invoice, Seller(), BUYER, credited)
    assert finvoice_errors(document) == []
    root = fromstring(document)
    assert root.findtext("InvoiceDetails/InvoiceTypeCode") == "INV02"
    assert root.findtext("InvoiceDetails/InvoiceTotalVatIncludedAmount").startswith("-")


def test_the_schema_check_catches_a_broken_document():
    """The validation above could fail: a document without its buyer does."""
    document = finvoice(an_invoice(), Seller(), BUYER)
    start, end = document.index(b"<BuyerPartyDetails>"), document.index(b"</BuyerPartyDetails>")
    broken = document[:start] + document[end + len(b"</BuyerPartyDetails>"):]
    assert any("BuyerPartyDetails" in error for error in finvoice_errors(broken))


@pytest.mark.skipif(not SHARED_SCHEMA.exists(), reason="../shared/reference is absent: nothing to compare the copy to")
def test_the_repos_copy_of_the_schema_is_the_reference():
    assert SCHEMA_IN_REPO.read_bytes() == SHARED_SCHEMA.read_bytes()


# --- camt.054 ----------------------------------------------------------------------------------------

def test_reference_payments_are_read():
    payments = read(camt054(("B-1", "100.00", "RF18 5390 0754 7034"), ("B-2", "12.5", None)))
    assert [(p.bank_reference, p.amount, p.booked_on, p.reference) for p in payments] == [
        ("B-1", Decimal("100.00"), date(2026, 10, 20), "RF18 5390 0754 7034"),
        ("B-2", Decimal("12.5"), date(2026, 10, 20), None)]


def test_a_debit_entry_is_no_payment():
    assert read(camt054(("B-1", "100.00", "1232")).replace(b"<CdtDbtInd>CRDT", b"<CdtDbtInd>DBIT")) == []


@pytest.mark.parametrize(("document", "field", "rule"), [
    (b"not xml", "file", "not well-formed XML"),
    (camt054(("B-1", "1.00", "1232"), namespace="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"), "Document",
     "not an ISO 20022 camt.054"),
    (camt054(("B-1", "10.005", "1232")), "Ntfctn[1]/Ntry[1]/NtryDtls/TxDtls[1]/Amt", "at most two decimals"),
    (camt054(("B-1", "-5.00", "1232")), "Ntfctn[1]/Ntry[1]/NtryDtls/TxDtls[1]/Amt", "a positive amount"),
    (camt054(("B-1", "5.00", "1232")).replace(b'Ccy="EUR">5.00</Amt></TxAmt>', b'Ccy="SEK">5.00</Amt></TxAmt>'),
     "Ntfctn[1]/Ntry[1]/NtryDtls/TxDtls[1]/Amt/@Ccy", "only EUR"),
    (camt054(("B-1", "5.00", "1232")).replace(b"<BookgDt><Dt>2026-10-20</Dt></BookgDt>", b""),
     "Ntfctn[1]/Ntry[1]/BookgDt/Dt", "required"),
])
def test_a_bad_file_is_refused_whole_naming_where(document, field, rule):
    with pytest.raises(Camt054Refused) as refused:
        read(document)
    assert refused.value.field == field and rule in refused.value.rule


def test_an_entity_expansion_bomb_is_refused_at_once():
    entities = "".join(f'<!ENTITY {name} "{("&" + previous + ";") * 10}">'
                       for previous, name in zip("abcdefg", "bcdefgh"))
    bomb = f'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">{entities}]><Document>&h;</Document>'
    with pytest.raises(Camt054Refused, match="amplification") as refused:
        read(bomb.encode())
    assert refused.value.field == "file"
