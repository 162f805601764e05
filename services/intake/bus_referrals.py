"""Referrals over the bus: a TE-office or city system on NATS sends a referral to
`polku.referrals.<area>` and gets the answer an HTTP referral would give, or a refusal naming each
field and rule. The sending system's own referral id makes a resent message harmless: the client and
referral ids follow from it. No personal data travels: the person follows over HTTP under the id."""
from datetime import date
from uuid import UUID

from pydantic import Field, ValidationError, field_validator

from services.intake.domain.referral import SENDER_REFERRAL_ID, ReferClient
from services.intake.sender_referrals import SenderReferral, take
from services.platform.auth import Principal
from services.platform.errors import NotFound, RuleViolated, StateConflict
from services.platform.http import field_errors
from services.platform.inbound import Inbound
from services.platform.nats_permissions import REFERRAL_ROOT, referrals_user


class BusReferral(ReferClient):
    """A referral as a message: the fields of POST /clients without `person`, plus the sender's own id."""

    sender_referral_id: str = Field(pattern=SENDER_REFERRAL_ID, description="the sending system's own id of the referral")
    client_id: UUID | None = Field(default=None, description="a returning client's id; none for a new client")
    person: None = Field(default=None, description="never on the bus: send the person over HTTP")

    @field_validator("person", mode="before")
    @classmethod
    def _no_person(cls, person: object) -> None:
        if person is not None:
            raise ValueError("personal data never travels on the bus: send the person over HTTP under the client id")
        return None


def _refused(status: int, field: str, rule: str) -> dict:
    return {"status": status, "errors": [{"field": field, "rule": rule}]}


def bus_referrals(runtime) -> Inbound:
    async def handle(subject: str, body: bytes) -> dict:
        area = subject.removeprefix(f"{REFERRAL_ROOT}.")
        try:
            referral = BusReferral.model_validate_json(body)
        except ValidationError as error:
            return {"status": 422, "errors": field_errors(error)}
        if referral.employment_area != area:
            return _refused(422, "employment_area", f"must be {area}, the area of the subject {subject}")
        sender = Principal(referrals_user(area), frozenset({"integration"}), area)
        try:
            taken = await take(lambda: runtime.acting_as(sender, f"referral {referral.sender_referral_id} over the bus"),
                               runtime.engine, referral, date.today(), returning=referral.client_id)
        except NotFound:  # none, or another area's (invisible to this sender)
            return _refused(422, "client_id", f"no client {referral.client_id} in area {area}: "
                                              "leave it out for a new client")
        except RuleViolated as error:
            return _refused(422, error.field, error.rule)
        except StateConflict as error:
            return _refused(409, "client_id", str(error))
        client = taken.client
        return {"status": 201, "client_id": str(taken.client_id), "referral_id": str(SenderReferral.of(referral).referral_id),
                "client_status": client.status, "period": client.current.number, "replayed": taken.again}

    return Inbound(f"{REFERRAL_ROOT}.*", "intake-referrals", handle)
