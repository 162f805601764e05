"""Money and the references that identify a payment. Money is Decimal euros, rounded to the cent
once, half up, where a rule produces an amount."""
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

CENT = Decimal("0.01")


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def reference_base(invoice_id: UUID) -> str:
    """Nine digits from the invoice id, never starting with 0: banks drop leading zeros of a reference,
    so a stored "0001234563" would not match the "1234563" a payment comes back with."""
    return str(10**8 + invoice_id.int % (9 * 10**8))


def finnish_reference(base: str) -> str:
    """Finnish creditor reference (viitenumero): the base digits and a 7-3-1 check digit."""
    weights = (7, 3, 1)
    total = sum(int(digit) * weights[index % 3] for index, digit in enumerate(reversed(base)))
    return base + str((10 - total % 10) % 10)


def rf_reference(reference: str) -> str:
    """The ISO 11649 creditor reference of a Finnish one (RF, two check digits, the same digits)."""
    return iso11649.validate(f"RF{mod_97_10.calc_check_digits(reference + 'RF')}{reference}")


def normalised_reference(text: str) -> str:
    """A reference as a payment brings it back: spaces out; an RF reference to its Finnish digits."""
    compact = "".join(text.split()).upper()
    if compact.startswith("RF") and iso11649.is_valid(compact):
        return compact[4:].lstrip("0")
    return compact.lstrip("0")
