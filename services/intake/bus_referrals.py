"""Referrals over the bus: a TE-office or city system on NATS sends a referral to
`polku.referrals.<area>` and gets the answer an HTTP referral would give, or a refusal naming each
field and rule. The sending system's own referral id makes a resent message harmless: the client and
referral ids follow from it. No personal data travels: the person follows over HTTP under the id."""
from datetime import date
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import Field, ValidationError, field_validator

from contracts.values import Text
from services.intake import caseload
from services.intake.domain.client import CLIENT
from services.intake.domain.referral import ReferClient, refer
from services.platform.auth import Principal
from services.platform.errors import NotFound, RuleViolated, StateConflict
from services.platform.http import field_errors
from services.platform.inbound import Inbound
from services.platform.nats_permissions import REFERRAL_ROOT, referrals_user


class BusReferral(ReferClient):
    """A referral as a message: the fields of POST /clients without `person`, plus the sender's own id."""

    sender_referral_id: Text = Field(max_length=64, description="the sending system's own id of the referral")
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
        name = f"polku:bus-referral:{area}:{referral.referred_by}:{referral.sender_referral_id}"
        referral_id = uuid5(NAMESPACE_URL, name)
        client_id = referral.client_id or uuid5(NAMESPACE_URL, f"{name}:client")

        def decide(client):
            if referral.client_id is not None and not client.periods:
                raise NotFound()
            return refer(client, client_id, referral, date.today(), referral_id)

        sender = Principal(referrals_user(area), frozenset({"integration"}), area)
        try:
            async with runtime.acting_as(sender, f"referral {referral.sender_referral_id} over the bus") as uow:
                client = await uow.decide(CLIENT, str(client_id), decide, area=area)
                await caseload.save(uow.connection, client_id, client)
        except NotFound:  # none, or another area's (invisible to this sender)
            return _refused(422, "client_id", f"no client {client_id} in area {area}: leave it out for a new client")
        except RuleViolated as error:
            return _refused(422, error.field, error.rule)
        except StateConflict as error:
            return _refused(409, "client_id", str(error))
        return {"status": 201, "client_id": str(client_id), "referral_id": str(referral_id),
                "client_status": client.status, "period": client.current.number}

    return Inbound(f"{REFERRAL_ROOT}.*", "intake-referrals", handle)
