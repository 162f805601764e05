"""Who the client is (henkilötiedot): the personal data that lives in intake's vault only, and the
fields each consent scope lets intake share."""
import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from stdnum.exceptions import InvalidChecksum, InvalidComponent
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.fi import hetu

from contracts.values import MultilineText, Text

HETU_FORMAT = ("DDMMYY, a century sign (+ for the 1800s; -, Y, X, W, V or U for the 1900s; A, B, C, D, E or F "
               "for the 2000s), a three-digit individual number and a check character, e.g. 131052-308T")
CENTURIES = {"+": 1800, **dict.fromkeys("-YXWVU", 1900), **dict.fromkeys("ABCDEF", 2000)}


def _valid_personal_identity_code(value: str) -> str:
    """Henkilötunnus, checked by python-stdnum (which knows the century signs added in 2023) and
    normalised to upper case. The error names the rule broken, never the value."""
    try:
        return hetu.validate(value)
    except InvalidChecksum:
        rule = "the check character does not match the birth date and individual number (mod 31)"
    except InvalidComponent:
        rule = _broken_component(hetu.compact(value))
    except StdnumValidationError:
        rule = f"wrong format: must be {HETU_FORMAT}"
    raise ValueError(f"not a valid personal identity code (henkilötunnus): {rule}")


def _broken_component(code: str) -> str:
    """stdnum says only "invalid component": which one, for the error."""
    try:
        date(CENTURIES[code[6]] + int(code[4:6]), int(code[2:4]), int(code[0:2]))
    except ValueError:
        return "the birth date (DDMMYY and the century sign) is not a calendar date"
    if int(code[7:10]) >= 900:
        return "individual numbers 900-999 are temporary identifiers, not personal identity codes"
    return "the individual number must be from 002 to 899"


PersonalIdentityCode = Annotated[str, AfterValidator(_valid_personal_identity_code), Field(
    description=f"Finnish personal identity code (henkilötunnus): {HETU_FORMAT}", examples=["131052-308T"])]


def _matching(pattern: str, rule: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(rule)
        return value

    return AfterValidator(check)


# No control characters either: \x00-\x1f and \x7f-\x9f are outside every part.
_EMAIL_PART = r"[^@\s\x00-\x1f\x7f-\x9f]+"
Email = Annotated[str, Field(max_length=254), _matching(
    rf"{_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART}",
    "must be an e-mail address, name@domain, without control characters")]
Phone = Annotated[str, _matching(r"\+?[0-9][0-9 -]{4,19}", "must be a phone number: 5 to 20 digits, spaces and "
                                                            "hyphens, optionally after a +")]


class PersonalData(BaseModel):
    """Who the client is (henkilötiedot). Kept only in intake's vault, encrypted with the client's own
    key; never in an event, a log or an error. No field shows in repr() and a validation error never
    quotes the input, so a logged object or error reveals nothing."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, hide_input_in_errors=True)

    name: Text = Field(min_length=1, max_length=200, repr=False)
    personal_identity_code: PersonalIdentityCode = Field(repr=False)
    email: Email | None = Field(default=None, repr=False, description="an e-mail address, name@domain")
    phone: Phone | None = Field(default=None, repr=False, description="a phone number, e.g. +358 40 123 4567")
    notes: MultilineText | None = Field(default=None, repr=False,
                                          description="the case worker's free-text notes; never shared with partners")


# What each consent scope lets intake share. Free-text notes are never shared.
SHARED_FIELDS: dict[str, tuple[str, ...]] = {
    "contact_details": ("name", "email", "phone"),
    "personal_data": ("name", "personal_identity_code"),
}
