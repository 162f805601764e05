"""services/employer/domain.py: registering an employer and starting a placement."""
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from pydantic import ValidationError

from contracts.events.employer import EmployerRegistered, PlacementStarted
from services.employer.domain import (EMPLOYER, PLACEMENT, Employer, Placement, RegisterEmployer, StartPlacement,
                                      evolve_employer, evolve_placement, register, start)
from services.platform.errors import RuleViolated, StateConflict
from services.platform.event_store import fold

EMPLOYER_ID, PLACEMENT_ID, CLIENT = (UUID(int=n) for n in range(1, 4))
KEMI = "0210427-6"


def registration(**overrides: Any) -> RegisterEmployer:
    fields = dict(business_id=KEMI, name="Kemin kaupunki", employer_type="city_unit", employment_area="kemi")
    return RegisterEmployer(**(fields | overrides))


def placement_command(**overrides: Any) -> StartPlacement:
    fields = dict(client_id=CLIENT, employer_id=EMPLOYER_ID, kind="gig_work", starts_on=date(2025, 2, 3),
                  hourly_billing_rate=Decimal("12.50"))
    return StartPlacement(**(fields | overrides))


def registered(**overrides: Any) -> Employer:
    return fold(EMPLOYER, register(Employer(), EMPLOYER_ID, registration(**overrides)))


# --- employers ---------------------------------------------------------------------------------------

def test_registering_an_employer():
    assert register(Employer(), EMPLOYER_ID, registration()) == [EmployerRegistered(
        employer_id=EMPLOYER_ID, business_id=KEMI, name="Kemin kaupunki", employer_type="city_unit",
        employment_area="kemi")]


def test_the_business_id_is_stored_in_the_hyphenated_form():
    [event] = register(Employer(), EMPLOYER_ID, registration(business_id="02104276"))
    assert event.business_id == KEMI
    assert registered(business_id="FI02104276").registered.business_id == KEMI


def test_an_employer_is_registered_once():
    with pytest.raises(StateConflict, match=f"employer {EMPLOYER_ID} is registered already"):
        register(registered(), EMPLOYER_ID, registration(name="Kemi again"))


@pytest.mark.parametrize(("overrides", "field", "rule"), [
    ({"business_id": "0210427-5"}, "business_id", "check digit does not match"),
    ({"business_id": "021042"}, "business_id", "wrong length"),
    ({"name": ""}, "name", "at least 1 character"),
    ({"employer_type": "ministry"}, "employer_type", "'city_unit' or 'other_public'"),
    ({"employment_area": "Kemi Area"}, "employment_area", "should match pattern"),
])
def test_a_bad_registration_names_the_field_and_rule(overrides, field, rule):
    with pytest.raises(ValidationError) as caught:
        registration(**overrides)
    [error] = caught.value.errors()
    assert error["loc"] == (field,)
    assert rule in error["msg"]


# --- placements --------------------------------------------------------------------------------------

@pytest.mark.parametrize("employer_type", ["company", "association", "foundation", "city_unit"])
def test_a_placement_carries_the_employer_type_from_the_registration(employer_type):
    [event] = start(Placement(), PLACEMENT_ID, placement_command(), registered(employer_type=employer_type))
    assert event == PlacementStarted(
        placement_id=PLACEMENT_ID, client_id=CLIENT, employer_id=EMPLOYER_ID, employer_type=employer_type,
        kind="gig_work", starts_on=date(2025, 2, 3), hourly_billing_rate=Decimal("12.50"))


def test_a_placement_needs_a_registered_employer():
    with pytest.raises(RuleViolated) as caught:
        start(Placement(), PLACEMENT_ID, placement_command(), Employer())
    assert caught.value.field == "employer_id"
    assert caught.value.rule == f"no registered employer {EMPLOYER_ID}"


def test_a_placement_starts_once():
    placement = fold(PLACEMENT, start(Placement(), PLACEMENT_ID, placement_command(), registered()))
    assert placement.started.placement_id == PLACEMENT_ID
    with pytest.raises(StateConflict, match=f"placement {PLACEMENT_ID} has started already"):
        start(placement, PLACEMENT_ID, placement_command(kind="work_trial"), registered())


def test_an_unregistered_employer_is_reported_before_a_started_placement():
    placement = fold(PLACEMENT, start(Placement(), PLACEMENT_ID, placement_command(), registered()))
    with pytest.raises(RuleViolated, match="employer_id"):
        start(placement, PLACEMENT_ID, placement_command(), Employer())


@pytest.mark.parametrize(("rate", "rule"), [
    (Decimal("-0.01"), "greater than or equal to 0"),
    (Decimal("12.505"), "decimal places"),
])
def test_the_billing_rate_is_money(rate, rule):
    with pytest.raises(ValidationError) as caught:
        placement_command(hourly_billing_rate=rate)
    [error] = caught.value.errors()
    assert error["loc"] == ("hourly_billing_rate",)
    assert rule in error["msg"]


def test_a_placement_kind_must_be_known():
    with pytest.raises(ValidationError) as caught:
        placement_command(kind="volunteering")
    assert [error["loc"] for error in caught.value.errors()] == [("kind",)]


def test_evolve_keeps_only_its_own_events():
    employer, placement = registered(), Placement()
    [started] = start(placement, PLACEMENT_ID, placement_command(), employer)
    assert evolve_employer(employer, started) is employer
    assert evolve_placement(placement, employer.registered) is placement
    assert evolve_placement(placement, started) == Placement(started=started)
