"""Property tests of deciders: for any sequence of commands, decide emits only events that evolve
accepts, that survive the bus (JSON and back, unchanged), and whose fold from the first event equals
the state built step by step (what a rebuild finds is what the live service saw).

Each command a sequence holds is valid input (the API checked it); the domain may refuse it, which
is then no change. Commands to an aggregate that does not exist are not sent: the platform answers
those (UnitOfWork.decide: NotFound).
"""
from datetime import date, timedelta
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from services.employer.domain import employers, openings
from services.platform.errors import REFUSALS
from services.platform.event_store import fold

DAYS = st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31))
NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyzäö -", min_size=1, max_size=30).filter(str.strip)


def run(kind, steps, refusals: tuple[type[Exception], ...] = REFUSALS) -> None:
    """Apply each step's decide to the state so far; check every property after every change."""
    state, history = kind.initial, []
    for decide in steps:
        try:
            new_events = decide(state)
        except refusals:
            continue
        for event in new_events:
            assert type(event).model_validate_json(event.model_dump_json()) == event, "the event survives the bus"
        state = fold(kind, new_events, state)
        history += new_events
        assert fold(kind, history) == state, "replaying the history gives the live state"


@st.composite
def opening_steps(draw):
    opening_id, employer_id = uuid4(), uuid4()
    registered_on = draw(DAYS)
    command = openings.RegisterOpening(employer_id=employer_id, title=draw(NAMES), hours_per_week="30",
                                       starts_on=draw(DAYS), source=draw(st.sampled_from(["advertised", "hidden"])))
    steps = [lambda opening: openings.register(opening_id, command, registered_on)]
    for _ in range(draw(st.integers(0, 6))):
        day = draw(DAYS)
        match draw(st.sampled_from(["fill", "fill_by_another", "withdraw", "expire"])):
            case "fill":
                steps.append(lambda opening, day=day: openings.fill(opening, opening_id, uuid4(), employer_id, day))
            case "fill_by_another":
                steps.append(lambda opening, day=day: openings.fill(opening, opening_id, uuid4(), uuid4(), day))
            case "withdraw":
                steps.append(lambda opening, day=day: openings.withdraw(opening, opening_id,
                                                                        openings.CloseOpening(on=day)))
            case "expire":
                steps.append(lambda opening, day=day: openings.expire(opening, opening_id,
                                                                      openings.CloseOpening(on=day)))
    return steps


@settings(max_examples=200, deadline=None)
@given(opening_steps())
def test_openings(steps):
    run(openings.OPENING, steps)


@settings(max_examples=200, deadline=None)
@given(opening_steps())
def test_a_closed_opening_stays_closed(steps):
    state, closed = openings.OPENING.initial, None
    for decide in steps:
        try:
            state = fold(openings.OPENING, decide(state), state)
        except REFUSALS:
            pass
        if closed is not None:
            assert (state.status, state.closed_on) == closed
        elif state.status != "open":
            closed = (state.status, state.closed_on)


@st.composite
def employer_steps(draw):
    employer_id = uuid4()
    register = employers.RegisterEmployer(name=draw(NAMES), employer_type="company", business_id="0210427-6",
                                          employment_area="kemi")
    steps = [lambda employer: employers.register(employer, employer_id, register)]
    agreement_ids = [uuid4() for _ in range(3)]
    for _ in range(draw(st.integers(0, 8))):
        match draw(st.sampled_from(["register", "correct", "sign", "end"])):
            case "register":
                steps.append(lambda employer: employers.register(employer, employer_id, register))
            case "correct":
                details = employers.EmployerDetails(name=draw(NAMES), employer_type=draw(
                    st.sampled_from(["company", "association", "foundation", "city_unit"])))
                steps.append(lambda employer, details=details: employers.correct(employer, details))
            case "sign":
                valid_from = draw(DAYS)
                command = employers.SignAgreement(scope=("gig_work",), valid_from=valid_from,
                                                  valid_to=valid_from + timedelta(days=draw(st.integers(0, 700))))
                agreement_id = draw(st.sampled_from(agreement_ids))
                steps.append(lambda employer, command=command, agreement_id=agreement_id:
                             employers.sign_agreement(employer, agreement_id, command))
            case "end":
                command = employers.EndAgreement(ended_on=draw(DAYS), reason=draw(st.sampled_from(
                    list(employers.EndAgreement.model_fields["reason"].annotation.__args__))))
                agreement_id = draw(st.sampled_from(agreement_ids))
                steps.append(lambda employer, command=command, agreement_id=agreement_id:
                             employers.end_agreement(employer, agreement_id, command))
    return steps


@settings(max_examples=200, deadline=None)
@given(employer_steps())
def test_employers(steps):
    run(employers.EMPLOYER, steps)
