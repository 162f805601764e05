"""services/pathway/domain.py: a pathway is planned once; a placement step starts only after planning."""
from uuid import UUID

import pytest

from contracts.events.intake import ClientEnrolled
from contracts.events.pathway import PathwayPlanned, StepStarted
from services.pathway.domain import PATHWAY, Pathway, evolve, pathway_id_of, plan, start_placement_step
from services.platform.errors import StateConflict
from services.platform.event_store import fold

CLIENT, OTHER_CLIENT, PLACEMENT, OTHER_PLACEMENT = (UUID(int=n) for n in range(1, 5))


def planned(client_id: UUID = CLIENT, kind="employment") -> Pathway:
    return fold(PATHWAY, plan(Pathway(), client_id, kind))


def test_the_pathway_id_follows_from_the_client_id():
    assert pathway_id_of(CLIENT) == pathway_id_of(UUID(int=1))
    assert pathway_id_of(CLIENT) != pathway_id_of(OTHER_CLIENT)
    assert pathway_id_of(CLIENT) != CLIENT
    assert pathway_id_of(CLIENT).version == 5


def test_planning_a_new_pathway():
    assert plan(Pathway(), CLIENT) == [PathwayPlanned(pathway_id=pathway_id_of(CLIENT), client_id=CLIENT,
                                                      kind="employment")]
    assert plan(Pathway(), CLIENT, "rehabilitation")[0].kind == "rehabilitation"
    assert planned(kind="training") == Pathway(client_id=CLIENT, kind="training")


@pytest.mark.parametrize("kind", ["employment", "training"])
def test_a_pathway_is_planned_once(kind):
    """ClientEnrolled may be delivered again; planning again decides nothing."""
    pathway = planned()
    assert plan(pathway, CLIENT, kind) == []
    assert fold(PATHWAY, plan(pathway, CLIENT, kind), pathway) == Pathway(client_id=CLIENT, kind="employment")


def test_a_step_cannot_start_before_the_pathway_is_planned():
    with pytest.raises(StateConflict, match=f"pathway of client {CLIENT} is not planned yet"):
        start_placement_step(Pathway(), CLIENT, PLACEMENT)


def test_a_placement_step_starts_after_planning():
    [step] = start_placement_step(planned(), CLIENT, PLACEMENT)
    assert isinstance(step, StepStarted)
    assert (step.pathway_id, step.step_kind, step.placement_id) == (pathway_id_of(CLIENT), "placement", PLACEMENT)
    assert step.step_id not in (PLACEMENT, pathway_id_of(CLIENT))


def test_the_step_id_follows_from_the_placement():
    """A redelivered PlacementStarted decided against a stale state gives the same step id."""
    [first] = start_placement_step(planned(), CLIENT, PLACEMENT)
    [again] = start_placement_step(planned(), CLIENT, PLACEMENT)
    [other] = start_placement_step(planned(), CLIENT, OTHER_PLACEMENT)
    assert first.step_id == again.step_id
    assert other.step_id != first.step_id


def test_the_same_placement_starts_one_step_only():
    pathway = fold(PATHWAY, start_placement_step(planned(), CLIENT, PLACEMENT), planned())
    assert pathway.started_placements == frozenset({PLACEMENT})
    assert start_placement_step(pathway, CLIENT, PLACEMENT) == []


def test_different_placements_start_their_own_steps():
    pathway = planned()
    for placement in (PLACEMENT, OTHER_PLACEMENT):
        pathway = fold(PATHWAY, start_placement_step(pathway, CLIENT, placement), pathway)
    assert pathway == Pathway(client_id=CLIENT, kind="employment",
                              started_placements=frozenset({PLACEMENT, OTHER_PLACEMENT}))


def test_a_step_without_a_placement_is_not_a_started_placement():
    step = StepStarted(pathway_id=pathway_id_of(CLIENT), step_id=UUID(int=9), step_kind="coaching", placement_id=None)
    assert evolve(planned(), step) == planned()


def test_evolve_ignores_events_of_other_aggregates():
    from datetime import date

    pathway = planned()
    assert evolve(pathway, ClientEnrolled(client_id=CLIENT, case_worker_id="cw-17", enrolled_on=date(2025, 1, 9))) \
        is pathway
