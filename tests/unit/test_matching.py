"""services/employer/domain/matching.py: ranking and reasons on a fixed cohort; proposals and openings."""
from datetime import date
from uuid import UUID

import pytest
from pydantic import ValidationError

from contracts.events.employer import OpeningRegistered, ProposalAccepted, ProposalDeclined
from services.employer.domain import openings, proposals
from services.employer.domain.matching import Work, available, rank
from services.employer.domain.openings import OPENING, CloseOpening, RegisterOpening
from services.employer.domain.proposals import PROPOSAL, DeclineProposal, ProposeCandidate
from services.platform.errors import Forbidden, RuleViolated, StateConflict
from services.platform.event_store import fold
from tests.unit.employer_fixtures import EMPLOYER_ID, PLACEMENT_ID, enrolled

KITCHEN = Work.of(["hygiene_passport", "kitchen"], ["Kemi"])
A, B, C, D, E, F = (UUID(int=n) for n in range(101, 107))
COHORT = [
    enrolled(A, municipality="Kemi", skill_tags=frozenset({"hygiene_passport", "kitchen"}), months_unemployed=6),
    enrolled(B, municipality="Tornio", skill_tags=frozenset({"hygiene_passport", "kitchen"}), months_unemployed=40,
             priority_groups=("over_54",)),
    enrolled(C, municipality="Kemi", skill_tags=frozenset({"kitchen"}), months_unemployed=18, hours_in_steps=15),
    enrolled(D, municipality="Kemi", skill_tags=frozenset(), months_unemployed=None),
    enrolled(E, municipality="Kemi", skill_tags=frozenset({"hygiene_passport", "kitchen"}), hours_in_steps=30),
    enrolled(F, municipality="Kemi", skill_tags=frozenset({"hygiene_passport", "kitchen"}), exited=True),
]


def test_the_ranking_of_a_fixed_cohort_with_its_scores():
    ranked = rank(KITCHEN, COHORT)
    # B: 40 + 0 + 15 + 20 (36+ months) + 10 = 85; A: 40 + 15 + 15 + 20*6/36 = 73.3;
    # C: 20 + 15 + 7.5 + 10 = 52.5; D: 0 + 15 + 15 + 0 = 30. E is in full-time steps, F has left.
    assert [(each.client_id, each.score) for each in ranked] == [(B, 85), (A, 73), (C, 52), (D, 30)]


def test_each_candidate_has_the_reasons_of_its_score():
    by_id = {each.client_id: each for each in rank(KITCHEN, COHORT)}
    assert by_id[B].reasons == ("meets 2 of 2 requirement tags: hygiene_passport, kitchen", "in no pathway step now",
                                "unemployed 40 months", "priority groups: over_54")
    assert by_id[C].reasons == ("meets 1 of 2 requirement tags: kitchen; lacks hygiene_passport",
                                "lives in Kemi, where the work is", "in pathway steps 15 h a week",
                                "unemployed 18 months")
    assert by_id[D].reasons[0] == "meets 0 of 2 requirement tags; lacks hygiene_passport, kitchen"
    assert by_id[D].reasons[-1] == "length of unemployment not recorded"


def test_candidates_are_clients_in_no_full_time_step_who_have_not_left():
    assert not available(COHORT[4]) and not available(COHORT[5]) and available(COHORT[2])
    assert not available(enrolled(A, enrolled=False))


def test_ties_go_to_the_longest_unemployed_then_by_id_and_the_limit_holds():
    twins = [enrolled(UUID(int=n), months_unemployed=12) for n in (9, 8)] + [enrolled(UUID(int=7), months_unemployed=13)]
    ranked = rank(Work.of([], []), twins, limit=2)
    assert [each.client_id for each in ranked] == [UUID(int=7), UUID(int=8)]
    assert ranked[0].reasons[0] == "the work has no requirement tags"


def opening(**overrides):
    fields = dict(employer_id=EMPLOYER_ID, title="Keittiöapulainen", hours_per_week="30", starts_on="2025-03-01",
                  source="hidden", requirement_tags=["kitchen"])
    events = openings.register(UUID(int=40), RegisterOpening(**(fields | overrides)), date(2025, 2, 10))
    return fold(OPENING, events)


def test_an_opening_is_filled_withdrawn_or_expired_once():
    registered = opening()
    assert isinstance(registered.registered, OpeningRegistered) and registered.registered.source == "hidden"
    filled = fold(OPENING, openings.fill(registered, UUID(int=40), PLACEMENT_ID, EMPLOYER_ID, date(2025, 3, 1)),
                  registered)
    assert (filled.status, filled.placement_id) == ("filled", PLACEMENT_ID)
    with pytest.raises(StateConflict, match="is filled since 2025-03-01"):
        openings.withdraw(filled, UUID(int=40), CloseOpening(on=date(2025, 3, 2)))
    with pytest.raises(RuleViolated, match="opening_id: opening .* is another employer's"):
        openings.fill(registered, UUID(int=40), PLACEMENT_ID, UUID(int=99), date(2025, 3, 1))
    with pytest.raises(RuleViolated, match="on: not before the opening was registered"):
        openings.expire(registered, UUID(int=40), CloseOpening(on=date(2025, 2, 9)))
    assert fold(OPENING, openings.expire(registered, UUID(int=40), CloseOpening(on=date(2025, 2, 10))),
                registered).status == "expired"


@pytest.mark.parametrize(("fields", "field"), [
    ({"title": " "}, "title"), ({"occupation": "912"}, "occupation"), ({"source": "newspaper"}, "source"),
    ({"requirement_tags": ["Kitchen Work"]}, "requirement_tags.0"), ({"duration_months": 0}, "duration_months"),
])
def test_a_bad_opening_names_the_field(fields, field):
    with pytest.raises(ValidationError) as caught:
        opening(**fields)
    assert ".".join(map(str, caught.value.errors()[0]["loc"])) == field


def proposed():
    candidate = rank(KITCHEN, COHORT)[0]
    events = proposals.propose(UUID(int=60), ProposeCandidate(client_id=B, opening_id=UUID(int=40)), candidate,
                               date(2025, 2, 11))
    return fold(PROPOSAL, events)


def test_only_the_clients_own_case_worker_decides_a_proposal_once():
    proposal = proposed()
    assert proposal.proposed.score == 85 and proposal.proposed.reasons[0].startswith("meets 2 of 2")
    with pytest.raises(Forbidden, match="another case worker"):
        proposals.accept(proposal, UUID(int=60), "cw-1", "cw-2", date(2025, 2, 12))
    [accepted] = proposals.accept(proposal, UUID(int=60), "cw-1", "cw-1", date(2025, 2, 12))
    assert accepted == ProposalAccepted(proposal_id=UUID(int=60), client_id=B, decided_on=date(2025, 2, 12))
    decided = fold(PROPOSAL, [accepted], proposal)
    with pytest.raises(StateConflict, match="was accepted on 2025-02-12"):
        proposals.decline(decided, UUID(int=60), "cw-1", "cw-1", DeclineProposal(reason="health"), date(2025, 2, 13))
    [declined] = proposals.decline(proposal, UUID(int=60), "cw-1", "cw-1", DeclineProposal(reason="health"),
                                   date(2025, 2, 13))
    assert isinstance(declined, ProposalDeclined) and declined.reason == "health"


def test_a_proposal_names_an_opening_or_tasks():
    for fields in ({}, {"opening_id": str(UUID(int=40)), "task_ids": [str(UUID(int=41))]}):
        with pytest.raises(ValidationError, match="name either opening_id or task_ids"):
            ProposeCandidate.model_validate({"client_id": str(B)} | fields)
