"""services/intake/domain.py on personal data: who may read it, consent to share it, and erasure."""
from datetime import date, timedelta
from uuid import UUID

import pytest
from pydantic import ValidationError

from contracts.events.intake import ClientDataErased, ConsentRecorded, ConsentWithdrawn
from services.intake.domain.client import CLIENT, Client, Consent
from services.intake.domain.consent import (EraseClientData, RecordConsent, consents_to_share, erase,
                                            read_personal_data, record_consent, withdraw_consent)
from services.intake.domain.referral import ReferClient, refer
from services.platform.auth import Principal
from services.platform.errors import Forbidden, Gone, NotFound, RuleViolated, StateConflict
from services.platform.event_store import fold

CLIENT_ID, CONSENT_ID, OTHER_CONSENT_ID = UUID(int=1), UUID(int=2), UUID(int=3)
TODAY = date(2026, 5, 4)
OWN = Principal("cw-own", frozenset({"case_worker"}), "kemi")
OTHER = Principal("cw-other", frozenset({"case_worker"}), "kemi")
MANAGER = Principal("mgr-1", frozenset({"manager"}), "kemi")
PERSON = {"name": "Ilmari Salatunen", "personal_identity_code": "131052-308T"}


def referral(**overrides) -> ReferClient:
    return ReferClient(**({"programme": "kemi_model", "employment_area": "kemi", "municipality": "Kemi",
                           "referred_by": "te_office", "age": 40, "gender": "female",
                           "labour_market_subsidy_days": 400, "unemployed_months": 14,
                           "case_worker_id": "cw-own", "person": PERSON} | overrides))


def enrolled() -> Client:
    return fold(CLIENT, refer(Client(), CLIENT_ID, referral(), TODAY))


def consent_command(**overrides) -> RecordConsent:
    return RecordConsent(**({"partner": "te_office", "scope": ["contact_details"], "valid_from": TODAY,
                             "valid_to": TODAY + timedelta(days=30)} | overrides))


def with_consent(client: Client, consent_id: UUID = CONSENT_ID, **overrides) -> Client:
    return fold(CLIENT, record_consent(client, CLIENT_ID, consent_id, OWN, consent_command(**overrides), TODAY), client)


# --- no personal data in events --------------------------------------------------------------------

def test_a_referral_with_a_person_decides_events_without_any_of_it():
    events = refer(Client(), CLIENT_ID, referral(), TODAY)
    assert len(events) == 4
    for event in events:
        dumped = event.model_dump_json()
        assert "Salatunen" not in dumped and "131052" not in dumped and "person" not in dumped


# --- reading ------------------------------------------------------------------------------------------

def test_the_own_case_worker_may_read():
    read_personal_data(enrolled(), CLIENT_ID, OWN)  # no exception


@pytest.mark.parametrize(("client", "actor", "error", "message"), [
    (enrolled(), OTHER, Forbidden, "is not a client of case worker cw-other"),
    (enrolled(), MANAGER, Forbidden, "is not a client of case worker mgr-1"),
    (fold(CLIENT, refer(Client(), CLIENT_ID, referral(unemployed_months=0, labour_market_subsidy_days=0), TODAY)),
     OWN, Forbidden, "has no case worker (not enrolled)"),
    (Client(), OWN, NotFound, f"no client {CLIENT_ID}"),
])
def test_anyone_else_may_not(client, actor, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_personal_data(client, CLIENT_ID, actor)


def test_after_erasure_reading_is_gone():
    client = fold(CLIENT, erase(enrolled(), CLIENT_ID, OWN, EraseClientData(reason="client_request"), TODAY),
                  enrolled())
    with pytest.raises(Gone, match=f"client {CLIENT_ID} was erased on 2026-05-04"):
        read_personal_data(client, CLIENT_ID, OWN)


# --- erasure ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("actor", [OWN, MANAGER])
def test_the_own_case_worker_or_a_manager_erases(actor):
    events = erase(enrolled(), CLIENT_ID, actor, EraseClientData(reason="retention_period_ended"), TODAY)
    assert events == [ClientDataErased(client_id=CLIENT_ID, reason="retention_period_ended", erased_on=TODAY)]
    client = fold(CLIENT, events, enrolled())
    assert client.erased_on == TODAY
    assert (client.status, client.case_worker_id, client.current.criterion) == ("enrolled", "cw-own",
                                                                        "labour_market_subsidy_over_300_days")


def test_another_case_worker_may_not_erase():
    with pytest.raises(Forbidden, match="cw-other"):
        erase(enrolled(), CLIENT_ID, OTHER, EraseClientData(reason="client_request"), TODAY)


def test_erasure_happens_once_and_only_to_a_known_client():
    client = fold(CLIENT, erase(enrolled(), CLIENT_ID, OWN, EraseClientData(reason="client_request"), TODAY),
                  enrolled())
    with pytest.raises(StateConflict, match="erased already on 2026-05-04"):
        erase(client, CLIENT_ID, MANAGER, EraseClientData(reason="client_request"), TODAY)
    with pytest.raises(NotFound):
        erase(Client(), CLIENT_ID, MANAGER, EraseClientData(reason="client_request"), TODAY)


def test_an_erasure_needs_a_known_reason():
    with pytest.raises(ValidationError) as caught:
        EraseClientData(reason="because")
    assert caught.value.errors()[0]["loc"] == ("reason",)


# --- consent --------------------------------------------------------------------------------------------

def test_the_own_case_worker_records_a_consent():
    events = record_consent(enrolled(), CLIENT_ID, CONSENT_ID, OWN, consent_command(scope=["personal_data",
                                                                                           "contact_details"]), TODAY)
    assert events == [ConsentRecorded(client_id=CLIENT_ID, consent_id=CONSENT_ID, partner="te_office",
                                      scope=("personal_data", "contact_details"), valid_from=TODAY,
                                      valid_to=TODAY + timedelta(days=30), recorded_on=TODAY)]
    [consent] = fold(CLIENT, events, enrolled()).consents
    assert consent == Consent(CONSENT_ID, "te_office", ("personal_data", "contact_details"), TODAY,
                              TODAY + timedelta(days=30), TODAY)


def test_only_the_own_case_worker_records_a_consent():
    with pytest.raises(Forbidden):
        record_consent(enrolled(), CLIENT_ID, CONSENT_ID, OTHER, consent_command(), TODAY)
    with pytest.raises(NotFound):
        record_consent(Client(), CLIENT_ID, CONSENT_ID, OWN, consent_command(), TODAY)


def test_a_consent_that_ended_already_is_refused():
    with pytest.raises(RuleViolated) as caught:
        record_consent(enrolled(), CLIENT_ID, CONSENT_ID, OWN,
                       consent_command(valid_from=TODAY - timedelta(days=9), valid_to=TODAY - timedelta(days=1)),
                       TODAY)
    assert caught.value.field == "valid_to" and "in the past" in caught.value.rule


def test_no_consent_after_erasure():
    client = fold(CLIENT, erase(enrolled(), CLIENT_ID, OWN, EraseClientData(reason="client_request"), TODAY),
                  enrolled())
    with pytest.raises(StateConflict, match="nothing left to share"):
        record_consent(client, CLIENT_ID, CONSENT_ID, OWN, consent_command(), TODAY)


@pytest.mark.parametrize(("overrides", "field", "rule"), [
    ({"valid_to": TODAY - timedelta(days=1)}, "valid_to", "must not be before valid_from"),
    ({"scope": []}, "scope", "at least 1 item"),
    ({"scope": ["contact_details", "contact_details"]}, "scope", "each scope at most once"),
    ({"scope": ["notes"]}, "scope.0", "'contact_details' or 'personal_data'"),
    ({"partner": "employer"}, "partner", "'te_office', 'foundation' or 'education_provider'"),
    ({"valid_from": "soon"}, "valid_from", "valid date"),
])
def test_a_bad_consent_names_the_field_and_the_rule(overrides, field, rule):
    with pytest.raises(ValidationError) as caught:
        consent_command(**overrides)
    [item] = caught.value.errors()
    assert ".".join(map(str, item["loc"])) == field and rule in item["msg"]


@pytest.mark.parametrize(("day", "covered"), [
    (TODAY - timedelta(days=1), False), (TODAY, True), (TODAY + timedelta(days=30), True),
    (TODAY + timedelta(days=31), False),
])
def test_a_consent_covers_its_days_both_included(day, covered):
    [consent] = with_consent(enrolled()).consents
    assert consent.covers("te_office", "contact_details", day) is covered


def test_a_consent_covers_its_partner_and_scopes_only():
    [consent] = with_consent(enrolled()).consents
    assert not consent.covers("foundation", "contact_details", TODAY)
    assert not consent.covers("te_office", "personal_data", TODAY)


def test_a_withdrawal_is_effective_at_once():
    client = with_consent(enrolled())
    events = withdraw_consent(client, CLIENT_ID, CONSENT_ID, OWN, TODAY + timedelta(days=3))
    assert events == [ConsentWithdrawn(client_id=CLIENT_ID, consent_id=CONSENT_ID,
                                       withdrawn_on=TODAY + timedelta(days=3))]
    [consent] = fold(CLIENT, events, client).consents
    assert consent.covers("te_office", "contact_details", TODAY + timedelta(days=2))
    assert not consent.covers("te_office", "contact_details", TODAY + timedelta(days=3))
    with pytest.raises(StateConflict, match="withdrawn already"):
        withdraw_consent(fold(CLIENT, events, client), CLIENT_ID, CONSENT_ID, OWN, TODAY + timedelta(days=4))


def test_withdrawing_an_unknown_consent_or_someone_elses():
    client = with_consent(enrolled())
    with pytest.raises(NotFound, match=f"no consent {OTHER_CONSENT_ID}"):
        withdraw_consent(client, CLIENT_ID, OTHER_CONSENT_ID, OWN, TODAY)
    with pytest.raises(Forbidden):
        withdraw_consent(client, CLIENT_ID, CONSENT_ID, OTHER, TODAY)


def test_sharing_needs_a_consent_in_force_for_every_asked_scope():
    client = with_consent(with_consent(enrolled()), OTHER_CONSENT_ID, partner="foundation",
                          scope=["personal_data"])
    assert [c.consent_id for c in consents_to_share(client, CLIENT_ID, "te_office", ["contact_details"], TODAY)] == [
        CONSENT_ID]
    with pytest.raises(Forbidden, match="no consent in force on 2026-05-04 to share personal_data with te_office"):
        consents_to_share(client, CLIENT_ID, "te_office", ["contact_details", "personal_data"], TODAY)
    with pytest.raises(Forbidden, match="contact_details with foundation"):
        consents_to_share(client, CLIENT_ID, "foundation", ["contact_details"], TODAY)
    with pytest.raises(Forbidden, match="on 2026-06-04"):
        consents_to_share(client, CLIENT_ID, "te_office", ["contact_details"], TODAY + timedelta(days=31))


def test_nothing_is_shared_after_erasure():
    client = with_consent(enrolled())
    client = fold(CLIENT, erase(client, CLIENT_ID, MANAGER, EraseClientData(reason="client_request"), TODAY), client)
    with pytest.raises(Gone):
        consents_to_share(client, CLIENT_ID, "te_office", ["contact_details"], TODAY)
