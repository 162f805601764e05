"""Finvoice 3.0 e-invoices (Finance Finland's XML format) of issued invoices and credit notes.

Seller: the foundation, from configuration. Buyer: the employer by its Y-tunnus. EpiDetails carry
the foundation's IBAN, the reference (RF form) and the due date. Amounts use a decimal comma.
The schema (Finvoice3.0.xsd, modified 30.11.2020) is kept beside this module: tests validate
every generated document against it.
"""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from xml.etree.ElementTree import Element, SubElement, tostring

from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.events.payroll_billing import EmployerInvoiced, InvoiceCredited

SCHEMA = Path(__file__).parent / "reference" / "Finvoice3.0.xsd"


class Seller(BaseSettings):
    """The foundation as seller (POLKU_SELLER_* environment variables); the defaults are illustrative."""

    model_config = SettingsConfigDict(env_prefix="POLKU_SELLER_")

    name: str = "Meri-Lapin työhönvalmennussäätiö sr (demo)"
    business_id: str = "2876543-5"  # the demo's Kemi foundation (services/demo.py)
    street: str = "Valtakatu 1"
    post_code: str = "94100"
    town: str = "Kemi"
    iban: str = "FI2112345600000785"
    bic: str = "NDEAFIHH"


@dataclass(frozen=True)
class Buyer:
    business_id: str
    name: str


def finvoice(invoice: EmployerInvoiced, seller: Seller, buyer: Buyer,
             credit_note: InvoiceCredited | None = None) -> bytes:
    """The invoice as a Finvoice 3.0 document; with `credit_note`, that credit note (INV02, negative
    amounts) referring to the invoice it corrects."""
    sign = -1 if credit_note else 1
    root = Element("Finvoice", Version="3.0")
    seller_party = SubElement(root, "SellerPartyDetails")
    _text(seller_party, "SellerPartyIdentifier", seller.business_id)
    _text(seller_party, "SellerOrganisationName", seller.name)
    _text(seller_party, "SellerOrganisationTaxCode", "FI" + seller.business_id.replace("-", ""))
    address = SubElement(seller_party, "SellerPostalAddressDetails")
    _text(address, "SellerStreetName", seller.street)
    _text(address, "SellerTownName", seller.town)
    _text(address, "SellerPostCodeIdentifier", seller.post_code)
    _text(address, "CountryCode", "FI")
    information = SubElement(root, "SellerInformationDetails")
    account = SubElement(information, "SellerAccountDetails")
    _text(account, "SellerAccountID", seller.iban, IdentificationSchemeName="IBAN")
    _text(account, "SellerBic", seller.bic, IdentificationSchemeName="BIC")
    buyer_party = SubElement(root, "BuyerPartyDetails")
    _text(buyer_party, "BuyerPartyIdentifier", buyer.business_id)
    _text(buyer_party, "BuyerOrganisationName", buyer.name[:70])

    details = SubElement(root, "InvoiceDetails")
    if credit_note:
        _text(details, "InvoiceTypeCode", "INV02")
        _text(details, "InvoiceTypeText", "HYVITYSLASKU")
    else:
        _text(details, "InvoiceTypeCode", "INV01")
        _text(details, "InvoiceTypeText", "LASKU")
    _text(details, "OriginCode", "Original")
    _text(details, "InvoiceNumber", invoice_number(credit_note.credit_note_id if credit_note else invoice.invoice_id))
    _date(details, "InvoiceDate", credit_note.issued_on if credit_note else invoice.issued_on)
    if credit_note:
        _text(details, "OriginalInvoiceNumber", invoice_number(invoice.invoice_id))
        _date(details, "OriginalInvoiceDate", invoice.issued_on)
    _date(details, "InvoicingPeriodStartDate", invoice.period_start)
    _date(details, "InvoicingPeriodEndDate", invoice.period_end)
    _amount(details, "InvoiceTotalVatExcludedAmount", sign * invoice.amount)
    _amount(details, "InvoiceTotalVatAmount", sign * invoice.vat_amount)
    _amount(details, "InvoiceTotalVatIncludedAmount", sign * invoice.total)
    for percent, (base, vat) in _vat_breakdown(invoice).items():
        specification = SubElement(details, "VatSpecificationDetails")
        _amount(specification, "VatBaseAmount", sign * base)
        _text(specification, "VatRatePercent", _decimal(percent))
        _text(specification, "VatCode", "S" if percent else "E")
        _amount(specification, "VatRateAmount", sign * vat)
    terms = SubElement(details, "PaymentTermsDetails")
    _text(terms, "PaymentTermsFreeText", f"{(invoice.due_on - invoice.issued_on).days} pv netto")
    _date(terms, "InvoiceDueDate", invoice.due_on)

    for line in invoice.lines:
        row = SubElement(root, "InvoiceRow")
        _text(row, "ArticleIdentifier", f"task:{line.task_id}" if line.task_id else f"employment:{line.employment_id}")
        _text(row, "ArticleName", "Työsuoritus (silpputyö)" if line.task_id else "Työsuoritus")
        _text(row, "DeliveredQuantity", _decimal(line.hours), QuantityUnitCode="h")
        _text(row, "InvoicedQuantity", _decimal(sign * line.hours), QuantityUnitCode="h")
        _date(row, "StartDate", line.period_start)
        _date(row, "EndDate", line.period_end)
        _amount(row, "UnitPriceAmount", line.hourly_billing_rate)
        _text(row, "RowVatRatePercent", _decimal(line.vat_percent))
        _text(row, "RowVatCode", "S" if line.vat_percent else "E")
        _amount(row, "RowVatAmount", sign * line.vat)
        _amount(row, "RowVatExcludedAmount", sign * line.net)
        _amount(row, "RowAmount", sign * (line.net + line.vat))

    epi = SubElement(root, "EpiDetails")
    identification = SubElement(epi, "EpiIdentificationDetails")
    _date(identification, "EpiDate", credit_note.issued_on if credit_note else invoice.issued_on)
    _text(identification, "EpiReference", invoice.reference)
    party = SubElement(epi, "EpiPartyDetails")
    bank = SubElement(party, "EpiBfiPartyDetails")
    _text(bank, "EpiBfiIdentifier", seller.bic, IdentificationSchemeName="BIC")
    beneficiary = SubElement(party, "EpiBeneficiaryPartyDetails")
    _text(beneficiary, "EpiNameAddressDetails", seller.name[:35])
    _text(beneficiary, "EpiBei", seller.business_id)
    _text(beneficiary, "EpiAccountID", seller.iban, IdentificationSchemeName="IBAN")
    instruction = SubElement(epi, "EpiPaymentInstructionDetails")
    _text(instruction, "EpiRemittanceInfoIdentifier", invoice.rf_reference, IdentificationSchemeName="ISO")
    _amount(instruction, "EpiInstructedAmount", sign * invoice.total)
    _text(instruction, "EpiCharge", "SLEV", ChargeOption="SLEV")
    _date(instruction, "EpiDateOptionDate", invoice.due_on)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="utf-8", xml_declaration=False)


def invoice_number(invoice_id) -> str:
    """At most 20 characters (the schema's limit): the invoice id's first 20 hex digits."""
    return invoice_id.hex[:20]


def _vat_breakdown(invoice: EmployerInvoiced) -> dict[Decimal, tuple[Decimal, Decimal]]:
    breakdown: dict[Decimal, tuple[Decimal, Decimal]] = {}
    for line in invoice.lines:
        base, vat = breakdown.get(line.vat_percent, (Decimal(0), Decimal(0)))
        breakdown[line.vat_percent] = (base + line.net, vat + line.vat)
    return breakdown


def _decimal(value: Decimal) -> str:
    """Finvoice's decimal comma; no trailing zeros beyond the cents (25.5 % stays "25,5")."""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")


def _amount(parent: Element, name: str, value: Decimal) -> None:
    _text(parent, name, f"{value:.2f}".replace(".", ","), AmountCurrencyIdentifier="EUR")


def _date(parent: Element, name: str, value: date) -> None:
    _text(parent, name, value.strftime("%Y%m%d"), Format="CCYYMMDD")


def _text(parent: Element, name: str, value: str, **attributes: str) -> Element:
    element = SubElement(parent, name, attributes)
    element.text = value
    return element
