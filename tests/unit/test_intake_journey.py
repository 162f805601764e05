"""services/intake/domain/journey.py: reassignment, skill tags, corrected entry facts, the exit within
28 days and the six-month follow-up, at their boundaries."""
from datetime import date, timedelta
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.events.intake import CaseWorkerAssigned, ClientExited, EntryFactsCorrected, SkillTagsRecorded
from services.intake.domain.client import CLIENT, Client
from services.intake.domain.journey import (CorrectEntryFacts, ExitClient, ReassignCaseWorker, RecordFollowUp,
                                            RecordSkillTags, correct_entry_facts, exit_client, follow_up_due_on,
                                            follow_up_overdue_from, reassign, record_follow_up, record_skill_tags)
from services.intake.domain.referral import ReferClient, refer
from services.platform.auth import Principal
from services.platform.dates import add_months
from services.platform.errors import Forbidden, RuleViolated, StateConflict
from services.platform.event_store import fold

CLIENT_ID = UUID(int=1)
ENROLLED, TODAY = date(2025, 1, 6), date(2026, 11, 30)
OWN = Principal("cw-own", frozenset({"case_worker"}), "kemi")
OTHER = Principal("cw-other", frozenset({"case_worker"}), "kemi")
MANAGER = Principal("mgr", frozenset({"manager"}), "kemi")


def enrolled() -> Client:
    referral = ReferClient(programme="kemi_model", employment_area="kemi", municipality="Kemi",
                           referred_by="city", age=40, gender="male", labour_market_subsidy_days=400,
                           unemployed_months=14, case_worker_id="cw-own", referred_on=ENROLLED)
    return fold(CLIENT, refer(Client(), CLIENT_ID, referral, TODAY))


def exited(on: date = date(2025, 5, 30)) -> Client:
    client = enrolled()
    return fold(CLIENT, exit_client(client, CLIENT_ID, OWN, ExitClient(
        exited_on=on, status_at_exit="unemployed", status_on=on, qualification_gained=False), TODAY), client)


def test_reassignment_moves_the_client_and_is_refused_to_another_case_worker():
    client = enrolled()
    with pytest.raises(Forbidden):
        reassign(client, CLIENT_ID, OTHER, ReassignCaseWorker(case_worker_id="cw-other"), TODAY)
    [event] = reassign(client, CLIENT_ID, MANAGER, ReassignCaseWorker(case_worker_id="cw-other"), TODAY)
    assert event == CaseWorkerAssigned(client_id=CLIENT_ID, case_worker_id="cw-other",
                                       previous_case_worker_id="cw-own", assigned_on=TODAY)
    assert fold(CLIENT, [event], client).case_worker_id == "cw-other"
    assert reassign(client, CLIENT_ID, OWN, ReassignCaseWorker(case_worker_id="cw-own"), TODAY) == []


def test_skill_tags_replace_the_earlier_set():
    client = enrolled()
    [event] = record_skill_tags(client, CLIENT_ID, OWN, RecordSkillTags(skill_tags=["forklift_licence", "cleaning"]))
    assert event == SkillTagsRecorded(client_id=CLIENT_ID, skill_tags=("cleaning", "forklift_licence"))
    client = fold(CLIENT, [event], client)
    assert record_skill_tags(client, CLIENT_ID, OWN, RecordSkillTags(skill_tags=["cleaning", "forklift_licence"])) == []
    assert fold(CLIENT, record_skill_tags(client, CLIENT_ID, OWN, RecordSkillTags(skill_tags=[])), client
                ).skill_tags == ()


def test_corrected_entry_facts_replace_the_recorded_ones():
    client = enrolled()
    command = CorrectEntryFacts(age=40, labour_market_subsidy_days=400, unemployed_months=14, immigrant=True,
                                education_level="isced_2", disability="declined_to_say")
    [event] = correct_entry_facts(client, CLIENT_ID, OWN, command, TODAY)
    assert isinstance(event, EntryFactsCorrected) and event.period == 1
    client = fold(CLIENT, [event], client)
    assert client.current.entry_facts.priority_groups == ("immigrant",)
    assert correct_entry_facts(client, CLIENT_ID, OWN, command, TODAY) == []


@pytest.mark.parametrize(("days_after", "accepted"), [(0, True), (28, True), (29, False)])
def test_the_status_at_exit_is_observed_within_28_days(days_after, accepted):
    command = ExitClient(exited_on=date(2025, 5, 30), status_at_exit="employed_company",
                         status_on=date(2025, 5, 30) + timedelta(days=days_after), qualification_gained=True)
    if accepted:
        [event] = exit_client(enrolled(), CLIENT_ID, OWN, command, TODAY)
        assert isinstance(event, ClientExited) and event.period == 1
        return
    with pytest.raises(RuleViolated) as caught:
        exit_client(enrolled(), CLIENT_ID, OWN, command, TODAY)
    assert caught.value.field == "status_on" and "ESF+" in caught.value.rule


@pytest.mark.parametrize(("exited_on", "field"), [(ENROLLED - timedelta(days=1), "exited_on"),
                                                  (TODAY + timedelta(days=1), "exited_on")])
def test_an_exit_outside_the_period_is_refused(exited_on, field):
    with pytest.raises(RuleViolated) as caught:
        exit_client(enrolled(), CLIENT_ID, OWN, ExitClient(exited_on=exited_on, status_at_exit="other",
                                                           status_on=exited_on, qualification_gained=False), TODAY)
    assert caught.value.field == field


def test_an_exited_client_cannot_exit_again():
    with pytest.raises(StateConflict, match="not enrolled"):
        exit_client(exited(), CLIENT_ID, OWN, ExitClient(exited_on=TODAY, status_at_exit="other", status_on=TODAY,
                                                         qualification_gained=False), TODAY)


@pytest.mark.parametrize(("status_on", "accepted"), [(date(2025, 11, 29), False), (date(2025, 11, 30), True)])
def test_the_follow_up_is_six_months_after_leaving(status_on, accepted):
    command = RecordFollowUp(status="in_education_or_training", status_on=status_on)
    if not accepted:
        with pytest.raises(RuleViolated, match="not before 2025-11-30"):
            record_follow_up(exited(), CLIENT_ID, OWN, 1, command, TODAY)
        return
    client = fold(CLIENT, record_follow_up(exited(), CLIENT_ID, OWN, 1, command, TODAY), exited())
    assert client.current.follow_up_status == "in_education_or_training"
    with pytest.raises(StateConflict, match="recorded already"):
        record_follow_up(client, CLIENT_ID, OWN, 1, command, TODAY)


def test_due_and_overdue_at_month_ends():
    assert follow_up_due_on(date(2025, 8, 31)) == date(2026, 2, 28)
    assert follow_up_due_on(date(2027, 8, 31)) == date(2028, 2, 29)
    assert follow_up_overdue_from(date(2025, 5, 30)) == date(2025, 11, 30) + timedelta(days=29)


@given(day=st.dates(date(2000, 1, 1), date(2100, 12, 31)), months=st.integers(0, 120))
def test_add_months_lands_in_the_right_month_never_past_the_same_day(day, months):
    later = add_months(day, months)
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months
    assert later.day <= day.day
    assert later.day == day.day or (later + timedelta(days=1)).day == 1  # clamped to the month's end only
