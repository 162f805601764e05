"""services/intake/domain/: referral under a programme (programmes.yaml), entry facts, enrolment, age
bands, priority groups, and a return as a new enrolment period."""
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.events.intake import ClientEnrolled, ClientReferred, EligibilityAssessed, EntryFactsRecorded
from services.intake.domain.client import CLIENT, Client, evolve
from services.intake.domain.programmes import PROGRAMMES, Criterion, Programme, decide_eligibility
from services.intake.domain.referral import ReferClient, age_band, priority_groups, refer, target_groups
from services.platform.errors import RuleViolated, StateConflict
from services.platform.event_store import fold

CLIENT_ID = UUID(int=1)
TODAY = date(2025, 3, 3)
KEMI_SOURCE = "ESF project S20649 description; Pointti article (structurally unemployed, rakennetyötön)"


def referral(**overrides: Any) -> ReferClient:
    """A Kemi-model referral that matches no rule: 40 years old, short unemployment, not in joint service."""
    fields: dict[str, Any] = dict(
        programme="kemi_model", employment_area="kemi", municipality="Kemi", referred_by="te_office", age=40,
        gender="female", labour_market_subsidy_days=0, unemployed_months=0, case_worker_id="cw-17")
    return ReferClient(**(fields | overrides))


def decide(command: ReferClient, client: Client = Client(), today: date = TODAY):
    return refer(client, CLIENT_ID, command, today)


def assessment(events) -> EligibilityAssessed:
    [assessed] = [event for event in events if isinstance(event, EligibilityAssessed)]
    return assessed


def eligible(programme: str, day: date = TODAY, **facts: Any) -> str | None:
    """The criterion that matched, or None."""
    measures = {"labour_market_subsidy_days": 0, "unemployment_benefit_days": None, "unemployed_months": 0,
                "in_multisectoral_service": False, "in_employment_promoting_service": False, "age": 40,
                "municipality": "Kemi"} | facts
    matched = decide_eligibility(programme, measures, day).matched
    return matched.criterion if matched else None


# --- the programmes file ----------------------------------------------------------------------------

def test_every_seed_programme_is_shipped_with_sourced_dated_rules():
    assert set(PROGRAMMES) == {"kemi_model", "municipal_trial", "lapland_regional_trial", "typ_need_assessment",
                               "pointti"}
    for programme in PROGRAMMES.values():
        assert programme.criteria
        assert all(criterion.source and criterion.valid_from for criterion in programme.criteria)


# --- each programme at its boundaries ---------------------------------------------------------------

@pytest.mark.parametrize(("programme", "facts", "criterion"), [
    ("kemi_model", {"labour_market_subsidy_days": 300}, None),  # "more than 300"
    ("kemi_model", {"labour_market_subsidy_days": 301}, "labour_market_subsidy_over_300_days"),
    ("kemi_model", {"unemployed_months": 12}, None),  # "more than 12 months"
    ("kemi_model", {"unemployed_months": 13}, "unemployed_over_12_months"),
    ("kemi_model", {"in_multisectoral_service": True}, "multisectoral_joint_service_client"),
    ("municipal_trial", {"unemployment_benefit_days": 499}, None),
    ("municipal_trial", {"unemployment_benefit_days": 500}, "unemployment_benefit_at_least_500_days"),
    ("municipal_trial", {"unemployed_months": 11}, None),
    ("municipal_trial", {"unemployed_months": 12}, "unemployed_at_least_12_months"),
    ("typ_need_assessment", {"labour_market_subsidy_days": 299}, None),
    ("typ_need_assessment", {"labour_market_subsidy_days": 300}, "labour_market_subsidy_300_days"),
    ("typ_need_assessment", {"age": 25, "unemployed_months": 11}, None),
    ("typ_need_assessment", {"age": 25, "unemployed_months": 12}, "aged_25_or_over_unemployed_12_months"),
    ("typ_need_assessment", {"age": 24, "unemployed_months": 5}, None),
    ("typ_need_assessment", {"age": 24, "unemployed_months": 6}, "under_25_unemployed_6_months"),
    ("typ_need_assessment", {"age": 25, "unemployed_months": 6}, None),  # 25 needs 12 months
    ("pointti", {"age": 30, "labour_market_subsidy_days": 301}, None),  # "over 30"
    ("pointti", {"age": 31, "labour_market_subsidy_days": 301}, "over_30_labour_market_subsidy_over_300_days"),
    ("pointti", {"age": 31, "labour_market_subsidy_days": 300}, None),
    ("pointti", {"age": 31, "in_multisectoral_service": True}, "over_30_multisectoral_joint_service_client"),
])
def test_programme_boundaries(programme, facts, criterion):
    assert eligible(programme, **facts) == criterion


@pytest.mark.parametrize(("facts", "day", "criterion"), [
    ({"unemployed_months": 12}, date(2018, 12, 31), "unemployed_12_months_without_services"),
    ({"unemployed_months": 11}, date(2018, 12, 31), None),
    ({"unemployed_months": 12, "in_employment_promoting_service": True}, date(2018, 12, 31), None),
    ({"unemployed_months": 12, "municipality": "Oulu"}, date(2018, 12, 31), None),
    ({"unemployed_months": 12, "municipality": "kemijärvi"}, date(2017, 1, 1), "unemployed_12_months_without_services"),
])
def test_lapland_regional_trial(facts, day, criterion):
    assert eligible("lapland_regional_trial", day, **facts) == criterion


def test_a_programme_with_no_rule_in_force_refuses_the_referral_naming_the_rule():
    with pytest.raises(RuleViolated) as caught:
        eligible("lapland_regional_trial", date(2019, 1, 1), unemployed_months=40)
    assert caught.value.field == "programme"
    assert "lapland_regional_trial has no rule in force on 2019-01-01" in caught.value.rule
    with pytest.raises(RuleViolated):
        decide(referral(programme="lapland_regional_trial", unemployed_months=40))


@given(days=st.integers(0, 20000), months=st.integers(0, 600), age=st.integers(15, 70))
def test_the_kemi_model_is_the_arithmetic_of_its_rules(days, months, age):
    assert (eligible("kemi_model", labour_market_subsidy_days=days, unemployed_months=months, age=age) is not None) \
        == (days > 300 or months > 12)


@given(days=st.integers(0, 20000), months=st.integers(0, 600), age=st.integers(15, 70))
def test_typ_need_assessment_is_the_arithmetic_of_its_rules(days, months, age):
    expected = days >= 300 or (age >= 25 and months >= 12) or (age < 25 and months >= 6)
    assert (eligible("typ_need_assessment", labour_market_subsidy_days=days, unemployed_months=months, age=age)
            is not None) == expected


@given(days=st.integers(0, 20000), months=st.integers(0, 600), age=st.integers(15, 70), typ=st.booleans())
def test_pointti_is_over_30_and_structurally_unemployed(days, months, age, typ):
    structurally = eligible("kemi_model", labour_market_subsidy_days=days, unemployed_months=months,
                            in_multisectoral_service=typ) is not None
    assert (eligible("pointti", labour_market_subsidy_days=days, unemployed_months=months, age=age,
                     in_multisectoral_service=typ) is not None) == (age > 30 and structurally)


@given(benefit_days=st.one_of(st.none(), st.integers(0, 20000)), months=st.integers(0, 600))
def test_the_municipal_trial_is_the_arithmetic_of_its_rules(benefit_days, months):
    expected = (benefit_days is not None and benefit_days >= 500) or months >= 12
    assert (eligible("municipal_trial", unemployment_benefit_days=benefit_days, unemployed_months=months)
            is not None) == expected


@given(months=st.integers(0, 600), in_service=st.booleans(),
       municipality=st.sampled_from(["Kemi", "Kemijärvi", "Rovaniemi", "Sodankylä", "Tornio", "Oulu", "Keminmaa"]),
       day=st.dates(date(2016, 6, 1), date(2019, 6, 30)))
def test_the_lapland_regional_trial_is_the_arithmetic_of_its_rules(months, in_service, municipality, day):
    in_force = date(2017, 1, 1) <= day <= date(2018, 12, 31)
    if not in_force:
        with pytest.raises(RuleViolated):
            eligible("lapland_regional_trial", day, unemployed_months=months)
        return
    expected = months >= 12 and not in_service and municipality not in ("Oulu", "Keminmaa")
    assert (eligible("lapland_regional_trial", day, unemployed_months=months,
                     in_employment_promoting_service=in_service, municipality=municipality) is not None) == expected


def test_a_refusal_lists_every_criterion_and_why_it_failed():
    assessed = assessment(decide(referral(programme="typ_need_assessment", age=24, labour_market_subsidy_days=120,
                                          unemployed_months=5)))
    assert (assessed.eligible, assessed.criterion, assessed.programme) == (False, None, "typ_need_assessment")
    assert assessed.rule_set_version == "typ_need_assessment/2015-01-01"
    assert [(failed.criterion, failed.reason) for failed in assessed.failed_criteria] == [
        ("labour_market_subsidy_300_days", "labour_market_subsidy_days is 120, less than 300"),
        ("aged_25_or_over_unemployed_12_months", "age is 24, less than 25; unemployed_months is 5, less than 12"),
        ("under_25_unemployed_6_months", "unemployed_months is 5, less than 6"),
    ]
    assert all(failed.source == "tem.fi, monialainen yhteispalvelu (TYP)" for failed in assessed.failed_criteria)


def test_an_unverified_figure_is_cited_as_such():
    assessed = assessment(decide(referral(programme="municipal_trial", unemployment_benefit_days=600)))
    assert assessed.criterion == "unemployment_benefit_at_least_500_days"
    assert "unverified: the trial's start and end dates" in assessed.rule_source


def test_only_criteria_in_force_on_the_referral_day_apply():
    def criterion(name: str, valid_from: date, valid_to: date | None) -> Criterion:
        return Criterion(criterion=name, description="", all_of=[{"measure": "unemployed_months", "more_than": 6}],
                         source="test", valid_from=valid_from, valid_to=valid_to)

    programmes = {"kemi_model": Programme(name="test", criteria=[
        criterion("expired", date(2015, 1, 1), date(2024, 12, 31)), criterion("future", date(2025, 6, 1), None),
        criterion("current", date(2025, 1, 1), date(2025, 5, 31))])}

    def matched(day: date) -> str:
        decision = decide_eligibility("kemi_model", {"unemployed_months": 7}, day, programmes)
        return f"{decision.matched.criterion} {decision.rule_set_version}"

    assert matched(date(2024, 12, 31)) == "expired kemi_model/2015-01-01"
    assert matched(date(2025, 1, 1)) == "current kemi_model/2025-01-01"
    assert matched(date(2025, 5, 31)) == "current kemi_model/2025-01-01"
    assert matched(date(2025, 6, 1)) == "future kemi_model/2025-06-01"


# --- the referral's events -------------------------------------------------------------------------

def test_an_eligible_referral_records_facts_decision_and_enrolment():
    events = decide(referral(unemployed_months=13, immigrant=True, education_level="isced_3",
                             disability="declined_to_say"))
    assert [type(event) for event in events] == [ClientReferred, EntryFactsRecorded, EligibilityAssessed,
                                                  ClientEnrolled]
    referred, facts, assessed, enrolled = events
    assert (referred.programme, referred.period, referred.age_band) == ("kemi_model", 1, "30_54")
    assert (assessed.criterion, assessed.rule_source, assessed.failed_criteria) == (
        "unemployed_over_12_months", KEMI_SOURCE, ())
    assert facts.facts.priority_groups == ("immigrant",)
    assert (facts.facts.labour_market_status, facts.facts.education_level, facts.facts.disability) == (
        "long_term_unemployed", "isced_3", "declined_to_say")
    assert enrolled == ClientEnrolled(client_id=CLIENT_ID, period=1, case_worker_id="cw-17", enrolled_on=TODAY)
    client = fold(CLIENT, events)
    assert (client.status, client.case_worker_id, client.current.criterion) == ("enrolled", "cw-17",
                                                                                "unemployed_over_12_months")


def test_a_refused_referral_is_not_eligible_in_the_one_vocabulary():
    client = fold(CLIENT, decide(referral()))
    assert (client.status, client.case_worker_id) == ("not_eligible", None)


def test_the_referral_day_overrides_today():
    events = decide(referral(unemployed_months=13, referred_on=date(2025, 2, 28)), today=date(2025, 4, 1))
    assert (events[0].referred_on, events[3].enrolled_on) == (date(2025, 2, 28), date(2025, 2, 28))


@pytest.mark.parametrize(("age", "band"), [
    (15, "under_18"), (17, "under_18"), (18, "18_24"), (24, "18_24"), (25, "25_29"), (29, "25_29"), (30, "30_54"),
    (54, "30_54"), (55, "55_plus"), (70, "55_plus"),
])
def test_age_band_boundaries(age, band):
    assert age_band(age) == band
    assert decide(referral(age=age))[0].age_band == band


@pytest.mark.parametrize(("overrides", "groups"), [
    ({"age": 29}, ("under_30",)), ({"age": 30}, ()), ({"age": 54}, ()), ({"age": 55}, ("over_54",)),
    ({"partially_able_to_work": True, "outdated_training": True}, ("partially_able_to_work", "outdated_training")),
])
def test_priority_groups(overrides, groups):
    command = referral(**overrides)
    assert priority_groups(command.age, command) == groups


@pytest.mark.parametrize(("overrides", "eligible_", "groups"), [
    ({"age": 29}, False, ("youth",)),
    ({"unemployed_months": 12}, False, ("long_term_unemployed",)),
    ({"unemployed_months": 13}, True, ("long_term_unemployed", "structurally_unemployed")),
])
def test_target_groups(overrides, eligible_, groups):
    assert target_groups(referral(**overrides), eligible_) == groups


# --- a return: a new enrolment period ---------------------------------------------------------------

def test_a_client_in_a_period_cannot_be_referred_again():
    client = fold(CLIENT, decide(referral(unemployed_months=13)))
    with pytest.raises(StateConflict, match="is enrolled"):
        decide(referral(unemployed_months=13), client=client)


def test_a_refused_client_may_be_referred_again_as_period_2():
    client = fold(CLIENT, decide(referral()))
    events = decide(referral(programme="typ_need_assessment", labour_market_subsidy_days=300), client=client)
    assert (events[0].period, events[-1].period) == (2, 2)
    client = fold(CLIENT, events, client)
    assert [period.status for period in client.periods] == ["not_eligible", "enrolled"]


def test_a_resent_referral_changes_nothing():
    events = decide(referral(unemployed_months=13))
    client = fold(CLIENT, events)
    assert refer(client, CLIENT_ID, referral(unemployed_months=13), TODAY, referral_id=events[0].referral_id) == []


def test_a_returning_client_stays_in_their_area():
    client = fold(CLIENT, decide(referral()))
    with pytest.raises(RuleViolated, match="belongs to area kemi"):
        decide(referral(employment_area="tornio"), client=client)


def test_evolve_ignores_events_of_other_aggregates():
    from contracts.events.pathway import PathwayPlanned

    client = fold(CLIENT, decide(referral()))
    assert evolve(client, PathwayPlanned(pathway_id=UUID(int=2), client_id=CLIENT_ID, period=1, kind="employment",
                                         planned_on=TODAY)) is client


# --- the command ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("overrides", "field"), [
    ({"age": 14}, "age"),
    ({"age": 71}, "age"),
    ({"labour_market_subsidy_days": -1}, "labour_market_subsidy_days"),
    ({"municipality": ""}, "municipality"),
    ({"municipality": "Ke\x00mi"}, "municipality"),
    ({"municipality": "Ke\nmi"}, "municipality"),
    ({"case_worker_id": "cw\x1b[31m"}, "case_worker_id"),
    ({"employment_area": "Kemi"}, "employment_area"),
    ({"referred_by": "police"}, "referred_by"),
    ({"programme": "kemi"}, "programme"),
    ({"education_level": "isced_9"}, "education_level"),
    ({"disability": "maybe"}, "disability"),
    ({"personal_identity_code": "131052-308T"}, "personal_identity_code"),
])
def test_a_bad_referral_names_the_field(overrides, field):
    with pytest.raises(ValidationError) as caught:
        referral(**overrides)
    assert [error["loc"] for error in caught.value.errors()] == [(field,)]
