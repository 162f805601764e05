"""services/intake/domain.py: referral, eligibility from eligibility_rules.yaml, enrolment, age bands."""
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import yaml
from pydantic import ValidationError

from contracts.events.intake import ClientEnrolled, ClientReferred, EligibilityAssessed
from services.intake.domain import (CLIENT, RULES, Client, EligibilityRule, ReferClient, age_band, evolve, refer,
                                    target_groups)
from services.platform.errors import StateConflict
from services.platform.event_store import fold

CLIENT_ID = UUID(int=1)
TODAY = date(2025, 3, 3)
RULES_FILE = Path(__file__).parents[2] / "services" / "intake" / "eligibility_rules.yaml"
SOURCE = "ESF project S20649 description; Pointti article (structurally unemployed, rakennetyötön)"


def referral(**overrides: Any) -> ReferClient:
    """A referral that matches no rule: 40 years old, short unemployment, not in joint service."""
    fields: dict[str, Any] = dict(
        employment_area="kemi", municipality="Kemi", referred_by="te_office", age=40, gender="female",
        labour_market_subsidy_days=0, unemployed_months=0, in_multisectoral_service=False,
        partially_able_to_work=False, case_worker_id="cw-17",
    )
    return ReferClient(**(fields | overrides))


def decide(command: ReferClient, client: Client = Client(), today: date = TODAY, **kwargs):
    return refer(client, CLIENT_ID, command, today, **kwargs)


def assessment(events) -> EligibilityAssessed:
    [assessed] = [event for event in events if isinstance(event, EligibilityAssessed)]
    return assessed


# --- the rules file ------------------------------------------------------------------------------

def test_rules_are_loaded_from_the_yaml_in_order():
    raw = yaml.safe_load(RULES_FILE.read_text())
    assert [rule.criterion for rule in RULES] == [
        "labour_market_subsidy_over_300_days", "unemployed_over_12_months", "multisectoral_joint_service_client"]
    assert [rule.criterion for rule in RULES] == [rule["criterion"] for rule in raw]
    assert [(rule.measure, rule.more_than) for rule in RULES] == [
        ("labour_market_subsidy_days", 300), ("unemployed_months", 12), ("in_multisectoral_service", None)]
    assert {rule.source for rule in RULES} == {SOURCE}


# --- eligibility -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("overrides", "criterion"), [
    ({"labour_market_subsidy_days": 301}, "labour_market_subsidy_over_300_days"),
    ({"unemployed_months": 13}, "unemployed_over_12_months"),
    ({"in_multisectoral_service": True}, "multisectoral_joint_service_client"),
])
def test_each_criterion_makes_the_client_eligible_and_is_recorded(overrides, criterion):
    events = decide(referral(**overrides))
    assert [type(event) for event in events] == [ClientReferred, EligibilityAssessed, ClientEnrolled]
    assert events[1] == EligibilityAssessed(
        client_id=CLIENT_ID, eligible=True, criterion=criterion, rule_source=SOURCE,
        target_groups=target_groups(referral(**overrides), True))
    assert "structurally_unemployed" in events[1].target_groups
    assert events[2] == ClientEnrolled(client_id=CLIENT_ID, case_worker_id="cw-17", enrolled_on=TODAY)


@pytest.mark.parametrize("overrides", [
    {"labour_market_subsidy_days": 300},  # "more than 300": 300 is not enough
    {"unemployed_months": 12},  # "more than 12 months": 12 is not enough
    {"partially_able_to_work": True, "age": 20},  # target groups alone do not make a client eligible
])
def test_the_boundary_values_do_not_match(overrides):
    events = decide(referral(**overrides))
    assert [type(event) for event in events] == [ClientReferred, EligibilityAssessed]
    assessed = assessment(events)
    assert (assessed.eligible, assessed.criterion, assessed.rule_source) == (False, None, None)
    assert "structurally_unemployed" not in assessed.target_groups


def test_a_client_who_matches_no_rule_is_referred_but_not_enrolled():
    events = decide(referral(age=26, gender="male", municipality="Tornio", referred_by="city"))
    assert events == [
        ClientReferred(client_id=CLIENT_ID, referred_by="city", employment_area="kemi", municipality="Tornio",
                       age_band="25_29", gender="male", referred_on=TODAY),
        EligibilityAssessed(client_id=CLIENT_ID, eligible=False, criterion=None, rule_source=None,
                            target_groups=("youth",)),
    ]
    client = fold(CLIENT, events)
    assert client == Client(status="referred", employment_area="kemi", criterion=None, case_worker_id=None)


def test_the_first_matching_rule_is_the_recorded_criterion():
    events = decide(referral(labour_market_subsidy_days=400, unemployed_months=30, in_multisectoral_service=True))
    assert assessment(events).criterion == "labour_market_subsidy_over_300_days"
    events = decide(referral(unemployed_months=30, in_multisectoral_service=True))
    assert assessment(events).criterion == "unemployed_over_12_months"


def test_only_rules_in_force_on_the_referral_day_apply():
    def rule(criterion: str, valid_from: date, valid_to: date | None) -> EligibilityRule:
        return EligibilityRule(criterion=criterion, description="", measure="unemployed_months", more_than=6,
                               source="test", valid_from=valid_from, valid_to=valid_to)

    rules = [rule("expired", date(2015, 1, 1), date(2024, 12, 31)), rule("future", date(2025, 6, 1), None),
             rule("current", date(2025, 1, 1), date(2025, 5, 31))]
    command = referral(unemployed_months=7)
    assert assessment(decide(command, rules=rules)).criterion == "current"
    assert assessment(decide(command, today=date(2024, 12, 31), rules=rules)).criterion == "expired"
    assert assessment(decide(command, today=date(2025, 5, 31), rules=rules)).criterion == "current"
    assert assessment(decide(command, today=date(2025, 6, 1), rules=rules)).criterion == "future"
    assert assessment(decide(command, today=date(2014, 12, 31), rules=rules)).eligible is False


def test_the_referral_day_overrides_today_for_rules_and_dates():
    rules = [EligibilityRule(criterion="new_rule", description="", measure="unemployed_months", more_than=6,
                             source="test", valid_from=date(2025, 3, 1), valid_to=None)]
    events = decide(referral(unemployed_months=7, referred_on=date(2025, 2, 28)), rules=rules)
    assert events[0].referred_on == date(2025, 2, 28)
    assert assessment(events).eligible is False
    events = decide(referral(unemployed_months=7, referred_on=date(2025, 3, 1)), today=date(2025, 4, 1), rules=rules)
    assert (events[0].referred_on, events[2].enrolled_on) == (date(2025, 3, 1), date(2025, 3, 1))


# --- age bands and target groups --------------------------------------------------------------------

@pytest.mark.parametrize(("age", "band"), [
    (15, "under_25"), (24, "under_25"), (25, "25_29"), (29, "25_29"), (30, "30_54"), (54, "30_54"),
    (55, "55_plus"), (70, "55_plus"),
])
def test_age_band_boundaries(age, band):
    assert age_band(age) == band
    assert decide(referral(age=age))[0].age_band == band


@pytest.mark.parametrize(("overrides", "eligible", "groups"), [
    ({}, False, ()),
    ({"age": 29}, False, ("youth",)),
    ({"age": 30}, False, ()),
    ({"age": 54}, False, ()),
    ({"age": 55}, False, ("over_54",)),
    ({"unemployed_months": 11}, False, ()),
    ({"unemployed_months": 12}, False, ("long_term_unemployed",)),
    ({"unemployed_months": 13}, True, ("long_term_unemployed", "structurally_unemployed")),
    ({"partially_able_to_work": True}, False, ("partially_able_to_work",)),
    ({"age": 22, "unemployed_months": 24, "partially_able_to_work": True}, True,
     ("long_term_unemployed", "structurally_unemployed", "youth", "partially_able_to_work")),
])
def test_target_groups(overrides, eligible, groups):
    assert target_groups(referral(**overrides), eligible) == groups
    assert assessment(decide(referral(**overrides))).target_groups == groups


# --- state ------------------------------------------------------------------------------------------

def test_an_eligible_referral_folds_into_an_enrolled_client():
    client = fold(CLIENT, decide(referral(in_multisectoral_service=True, employment_area="meri_lappi")))
    assert client == Client(status="enrolled", employment_area="meri_lappi",
                            criterion="multisectoral_joint_service_client", case_worker_id="cw-17")


@pytest.mark.parametrize("first", [referral(), referral(unemployed_months=13)], ids=["referred", "enrolled"])
def test_a_client_cannot_be_referred_twice(first):
    client = fold(CLIENT, decide(first))
    assert client.status in ("referred", "enrolled")
    with pytest.raises(StateConflict, match=f"client {CLIENT_ID} was referred already"):
        decide(referral(unemployed_months=13), client=client)


def test_evolve_ignores_events_of_other_aggregates():
    from contracts.events.pathway import PathwayPlanned

    client = Client(status="referred", employment_area="kemi")
    assert evolve(client, PathwayPlanned(pathway_id=UUID(int=2), client_id=CLIENT_ID, kind="employment")) is client


# --- the command ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("overrides", "field"), [
    ({"age": 14}, "age"),
    ({"age": 71}, "age"),
    ({"labour_market_subsidy_days": -1}, "labour_market_subsidy_days"),
    ({"municipality": ""}, "municipality"),
    ({"employment_area": "Kemi"}, "employment_area"),
    ({"referred_by": "police"}, "referred_by"),
    ({"personal_identity_code": "131052-308T"}, "personal_identity_code"),
])
def test_a_bad_referral_names_the_field(overrides, field):
    with pytest.raises(ValidationError) as caught:
        referral(**overrides)
    assert [error["loc"] for error in caught.value.errors()] == [(field,)]
