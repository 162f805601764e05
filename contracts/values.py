"""Value types that travel in events and commands."""
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, PlainSerializer, StringConstraints, ValidationInfo, field_validator
from stdnum.exceptions import InvalidChecksum, InvalidLength
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.fi import ytunnus


BUSINESS_ID_FORMAT = "7 digits, a hyphen and a check digit, e.g. 0210427-6"


def _valid_business_id(value: str) -> str:
    """Y-tunnus: 7 digits, hyphen, check digit (weights 7 9 10 5 8 4 2, mod 11).

    Normalised to the standard form with the hyphen, so "02104276", " 0210427-6 " and the VAT form
    "FI02104276" are all stored and compared as "0210427-6".
    """
    try:
        return ytunnus.format(ytunnus.validate(value))
    except InvalidChecksum:
        rule = "check digit does not match the first 7 digits (weights 7 9 10 5 8 4 2, mod 11)"
    except InvalidLength:
        rule = f"wrong length: must be {BUSINESS_ID_FORMAT}"
    except StdnumValidationError:
        rule = f"wrong format: must be {BUSINESS_ID_FORMAT}"
    raise ValueError(f"not a valid Finnish business ID (Y-tunnus): {rule}")


BusinessId = Annotated[str, AfterValidator(_valid_business_id),
                       Field(description="Finnish business ID (Y-tunnus), stored as 0000000-0", examples=["0210427-6"])]

# Money is Decimal euros with cents; it travels as a string so no JSON reader turns it into a float.
Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=12, decimal_places=2),
    PlainSerializer(lambda amount: f"{amount:.2f}", return_type=str, when_used="json"),
]
# Hours of one timesheet: at most a 31-day month (744 h).
Hours = Annotated[
    Decimal,
    Field(gt=0, le=744, max_digits=6, decimal_places=2),
    PlainSerializer(lambda hours: f"{hours:.2f}", return_type=str, when_used="json"),
]
# Hours billed at once: the sum of any number of approved timesheets, so not capped at one month.
BilledHours = Annotated[
    Decimal,
    Field(gt=0, max_digits=9, decimal_places=2),
    PlainSerializer(lambda hours: f"{hours:.2f}", return_type=str, when_used="json"),
]

# under_18 and 18_24 since ClientReferred version 2 (ESF+ counts under 18 and 18-29); under_25 only in
# version 1 events, which cannot be split.
AgeBand = Literal["under_18", "18_24", "under_25", "25_29", "30_54", "55_plus"]
Gender = Literal["female", "male", "non_binary", "unknown"]
EmployerType = Literal["company", "association", "foundation", "city_unit", "other_public"]
Tag = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$", description="an anonymous tag: a requirement of a job "
                                                                      "or a skill of a client, e.g. forklift_licence")]
AreaCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$", description="employment area (työllisyysalue) code")]


def _no_control_characters(value: str) -> str:
    if any(ord(character) < 32 or 127 <= ord(character) < 160 for character in value):
        raise ValueError("must not contain control characters (such as NUL, tab or a line break)")
    return value


# One line of text a person typed: trimmed, never empty, no control characters (a NUL would be cut
# short by SQLite's JSON functions, a line break would forge lines in a CSV or a log).
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
                 AfterValidator(_no_control_characters)]


def _only_line_breaks(value: str) -> str:
    return _no_control_characters(value.replace("\r\n", "").replace("\n", "").replace("\t", ""))


# Free text of several lines (a case worker's notes): line breaks and tabs, no other control characters.
MultilineText = Annotated[str, StringConstraints(max_length=4000), AfterValidator(_only_line_breaks)]


def not_before(earlier: str, later: str):
    """A model's field validator: the date `later` is not before the date `earlier` (either may be absent).

    In the class body: `_ends_after_start = not_before("starts_on", "planned_end_on")`."""
    def check(cls, value, info: ValidationInfo):
        start = info.data.get(earlier)
        if value is not None and start is not None and value < start:
            raise ValueError(f"must not be before {earlier}")
        return value

    return field_validator(later)(classmethod(check))
