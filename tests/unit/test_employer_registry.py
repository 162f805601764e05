"""services/employer/domain/employers.py: the registry and partnership agreements."""
from datetime import date
from uuid import UUID

import pytest
from pydantic import ValidationError

from contracts.events.employer import EmployerDetailsCorrected, EmployerRegistered, PartnershipAgreementEnded
from services.employer.domain import employers
from services.employer.domain.employers import EMPLOYER, Employer, EmployerDetails, EndAgreement, SignAgreement
from services.platform.errors import RuleViolated, StateConflict
from services.platform.event_store import fold
from tests.unit.employer_fixtures import AGREEMENT, EMPLOYER_ID, KEMI, registered, registration


def test_registering_an_employer():
    assert employers.register(Employer(), EMPLOYER_ID, registration(industry="84110")) == [EmployerRegistered(
        employer_id=EMPLOYER_ID, business_id=KEMI, name="Kemin kaupunki", employer_type="city_unit",
        employment_area="kemi", industry="84110", municipality="Kemi")]


@pytest.mark.parametrize("written", ["02104276", " 0210427-6 ", "FI02104276"])
def test_the_business_id_is_stored_in_the_hyphenated_form(written):
    assert registration(business_id=written).business_id == KEMI


def test_an_employer_is_registered_once():
    with pytest.raises(StateConflict, match=f"employer {EMPLOYER_ID} is registered already"):
        employers.register(registered(), EMPLOYER_ID, registration(name="Kemi again"))


@pytest.mark.parametrize(("overrides", "field", "rule"), [
    ({"business_id": "0210427-5"}, "business_id", "check digit does not match"),
    ({"business_id": "021042"}, "business_id", "wrong length"),
    ({"name": ""}, "name", "at least 1 character"),
    ({"name": "Kemi\x00Oy"}, "name", "control characters"),
    ({"municipality": "Kemi\nTornio"}, "municipality", "control characters"),
    ({"employer_type": "ministry"}, "employer_type", "'city_unit' or 'other_public'"),
    ({"employment_area": "Kemi Area"}, "employment_area", "should match pattern"),
    ({"industry": "4711A"}, "industry", "should match pattern"),
])
def test_a_bad_registration_names_the_field_and_rule(overrides, field, rule):
    with pytest.raises(ValidationError) as caught:
        registration(**overrides)
    [error] = caught.value.errors()
    assert error["loc"] == (field,)
    assert rule in error["msg"]


def test_details_are_corrected_by_an_event_and_only_when_changed():
    employer = registered()
    same = EmployerDetails(**employer.details.model_dump())
    assert employers.correct(employer, same) == []
    changed = same.model_copy(update={"employer_type": "other_public", "industry": "84110"})
    [event] = employers.correct(employer, changed)
    assert event == EmployerDetailsCorrected(employer_id=EMPLOYER_ID, name="Kemin kaupunki",
                                             employer_type="other_public", industry="84110", municipality="Kemi")
    corrected = fold(EMPLOYER, [event], employer)
    assert corrected.details.employer_type == "other_public" and corrected.business_id == KEMI


def test_an_agreement_covers_its_scope_from_its_first_to_its_last_day():
    employer = registered(scope=("work_trial",), valid=(date(2025, 1, 1), date(2025, 12, 31)))
    assert employer.agreement_covering("work_trial", date(2025, 1, 1))
    assert employer.agreement_covering("work_trial", date(2025, 12, 31))
    assert not employer.agreement_covering("work_trial", date(2024, 12, 31))
    assert not employer.agreement_covering("work_trial", date(2026, 1, 1))
    assert not employer.agreement_covering("gig_work", date(2025, 6, 1))


def test_an_agreement_ended_early_covers_no_day_from_its_end_on():
    employer = registered(scope=("work_trial",), valid=(date(2025, 1, 1), date(2025, 12, 31)))
    events = employers.end_agreement(employer, AGREEMENT, EndAgreement(ended_on=date(2025, 7, 1),
                                                                        reason="employer_request"))
    assert events == [PartnershipAgreementEnded(employer_id=EMPLOYER_ID, agreement_id=AGREEMENT,
                                                ended_on=date(2025, 7, 1), reason="employer_request")]
    ended = fold(EMPLOYER, events, employer)
    assert ended.agreement_covering("work_trial", date(2025, 6, 30))
    assert not ended.agreement_covering("work_trial", date(2025, 7, 1))
    with pytest.raises(StateConflict, match="ended on 2025-07-01 already"):
        employers.end_agreement(ended, AGREEMENT, EndAgreement(ended_on=date(2025, 8, 1), reason="other"))


@pytest.mark.parametrize("ended_on", [date(2025, 1, 1), date(2026, 1, 1)])
def test_an_agreement_ends_early_within_its_validity(ended_on):
    employer = registered(scope=("work_trial",), valid=(date(2025, 1, 1), date(2025, 12, 31)))
    with pytest.raises(RuleViolated) as caught:
        employers.end_agreement(employer, AGREEMENT, EndAgreement(ended_on=ended_on, reason="other"))
    assert caught.value.field == "ended_on"


def test_ending_an_unknown_agreement_is_a_conflict():
    with pytest.raises(StateConflict, match="has no agreement"):
        employers.end_agreement(registered(), UUID(int=99), EndAgreement(ended_on=date(2025, 7, 1), reason="other"))


@pytest.mark.parametrize(("fields", "field", "rule"), [
    ({"scope": []}, "scope", "at least 1 item"),
    ({"scope": ["work_trial", "work_trial"]}, "scope", "each scope at most once"),
    ({"scope": ["volunteering"]}, "scope.0", "'work_trial'"),
    ({"valid_to": "2024-12-31"}, "valid_to", "must not be before valid_from"),
])
def test_a_bad_agreement_names_the_field_and_rule(fields, field, rule):
    with pytest.raises(ValidationError) as caught:
        SignAgreement.model_validate({"scope": ["work_trial"], "valid_from": "2025-01-01", "valid_to": "2025-12-31"}
                                     | fields)
    error = caught.value.errors()[0]
    assert ".".join(map(str, error["loc"])) == field
    assert rule in error["msg"]
