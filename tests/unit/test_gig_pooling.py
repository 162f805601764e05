"""services/employer/domain/gig_jobs.py: pooling gig tasks of several employers into one gig job."""
from datetime import date, time
from decimal import Decimal
from uuid import UUID

import pytest
from pydantic import ValidationError

from contracts.events.employer import GigJobPooled, GigTaskPooled, PlacementStarted
from services.employer.domain import gig_tasks
from services.employer.domain.gig_jobs import PoolGigJob, pool_gig_job
from services.employer.domain.placement_rules import PoolingRule
from services.platform.errors import RuleViolated, StateConflict
from tests.unit.employer_fixtures import CLIENT, PLACEMENT_ID, enrolled, registered, task

FOUNDATION, SHOP, ASSOCIATION, CITY = (UUID(int=n) for n in (20, 21, 22, 23))
MONDAY = date(2025, 3, 3)


def employers_of(*employer_ids: UUID, scope=("gig_work",)):
    return {employer_id: registered(employer_id, scope=scope, business_id="0210427-6") for employer_id in employer_ids}


def foundation():
    return registered(FOUNDATION, scope=(), employer_type="foundation")


def week_of_three_employers():
    """20 hours in one week: 8 + 6 + 6, of a shop, an association and a city unit."""
    return [task(1, MONDAY, time(8), time(16), SHOP, rate="26.00"),
            task(2, MONDAY.replace(day=4), time(9), time(15), ASSOCIATION, rate="22.00"),
            task(3, MONDAY.replace(day=5), time(10), time(16), CITY, rate="24.00")]


def pool(tasks, task_employers=None, client=None, rule=None):
    command = PoolGigJob(client_id=CLIENT, foundation_id=FOUNDATION,
                         task_ids=tuple(each.offered.task_id for each in tasks))
    return pool_gig_job(PLACEMENT_ID, command, foundation(), {each.offered.task_id: each for each in tasks},
                        task_employers or employers_of(SHOP, ASSOCIATION, CITY), client or enrolled(), rule)


def test_a_gig_job_of_three_employers_is_a_gig_work_placement_of_the_foundation():
    started, pooled = pool(week_of_three_employers())
    assert isinstance(started, PlacementStarted) and isinstance(pooled, GigJobPooled)
    assert (started.kind, started.employer_id, started.employer_type) == ("gig_work", FOUNDATION, "foundation")
    assert (started.starts_on, started.planned_end_on) == (MONDAY, date(2025, 3, 5))
    assert started.schedule.hours_per_week == Decimal("20.00")
    # the placement's rate is the tasks' rates weighted by hours; each task keeps its own
    assert started.hourly_billing_rate == Decimal("24.20")
    assert [(each.employer_id, each.hours, each.hourly_billing_rate) for each in pooled.tasks] == [
        (SHOP, Decimal("8.00"), Decimal("26.00")), (ASSOCIATION, Decimal("6.00"), Decimal("22.00")),
        (CITY, Decimal("6.00"), Decimal("24.00"))]


@pytest.mark.parametrize(("second_start", "second_end", "refused"), [
    (time(15, 59), time(18), True), (time(16), time(18), False), (time(7), time(8, 1), True), (time(6), time(8), False)])
def test_tasks_of_one_day_may_not_overlap(second_start, second_end, refused):
    tasks = [task(1, MONDAY, time(8), time(16), SHOP), task(2, MONDAY, second_start, second_end, ASSOCIATION),
             task(3, MONDAY.replace(day=4), time(8), time(20), CITY)]
    if refused:
        with pytest.raises(RuleViolated, match="overlap on 2025-03-03"):
            pool(tasks)
    else:
        assert pool(tasks)[0].schedule.hours_per_week >= 18


def test_a_job_under_the_minimum_hours_a_week_is_refused_and_the_minimum_is_data():
    short = [task(1, MONDAY, time(8), time(16), SHOP), task(2, MONDAY.replace(day=4), time(8), time(17, 59), CITY)]
    with pytest.raises(RuleViolated) as caught:
        pool(short)
    assert caught.value.field == "task_ids"
    assert "must reach 18 hours a week" in caught.value.rule and "17.98 a week" in caught.value.rule
    exactly = [task(1, MONDAY, time(8), time(16), SHOP), task(2, MONDAY.replace(day=4), time(8), time(18), CITY)]
    assert pool(exactly)[0].schedule.hours_per_week == Decimal("18.00")
    lower = PoolingRule(date(2025, 1, 1), None, "a city's own minimum", min_hours_per_week=Decimal(10))
    assert pool(short, rule=lower)


def test_hours_a_week_are_averaged_over_the_calendar_weeks_spanned():
    """Sunday and the next Monday are two calendar weeks: 20 hours make 10 a week."""
    two_weeks = [task(1, date(2025, 3, 9), time(8), time(18), SHOP), task(2, date(2025, 3, 10), time(8), time(18), CITY)]
    with pytest.raises(RuleViolated, match="20.00 hours over 2 calendar weeks, 10.00 a week"):
        pool(two_weeks)


def test_places_of_one_day_are_in_one_municipality():
    tasks = [task(1, MONDAY, time(8), time(12), SHOP, municipality="Kemi"),
             task(2, MONDAY, time(13), time(17), CITY, municipality="Tornio"),
             task(3, MONDAY.replace(day=4), time(8), time(20), ASSOCIATION, municipality="Tornio")]
    with pytest.raises(RuleViolated, match="on 2025-03-03 the tasks are in 2 municipalities"):
        pool(tasks)
    tasks[1] = task(2, MONDAY, time(13), time(17), CITY, municipality="KEMI")
    assert pool(tasks)


def test_each_tasks_employer_needs_an_agreement_covering_gig_work():
    employers = employers_of(SHOP, CITY) | employers_of(ASSOCIATION, scope=("work_trial",))
    with pytest.raises(RuleViolated, match=f"employer {ASSOCIATION} has no partnership agreement covering gig_work"):
        pool(week_of_three_employers(), task_employers=employers)


def test_the_employer_of_the_gig_job_is_a_foundation():
    command = PoolGigJob(client_id=CLIENT, foundation_id=SHOP, task_ids=(UUID(int=1001),))
    tasks = week_of_three_employers()
    with pytest.raises(RuleViolated, match="is not a registered foundation"):
        pool_gig_job(PLACEMENT_ID, command, registered(SHOP), {tasks[0].offered.task_id: tasks[0]},
                     employers_of(SHOP), enrolled())


def test_the_client_must_be_enrolled():
    with pytest.raises(RuleViolated, match="client_id"):
        pool(week_of_three_employers(), client=enrolled(enrolled=False))


def test_a_task_is_pooled_once():
    offered = task(1, MONDAY, time(8), time(16))
    assert gig_tasks.pool(offered, offered.offered.task_id, PLACEMENT_ID) == [
        GigTaskPooled(task_id=offered.offered.task_id, placement_id=PLACEMENT_ID)]
    pooled = gig_tasks.evolve(offered, GigTaskPooled(task_id=offered.offered.task_id, placement_id=PLACEMENT_ID))
    with pytest.raises(StateConflict, match="pooled into gig job"):
        gig_tasks.pool(pooled, offered.offered.task_id, UUID(int=9))


def test_a_task_ends_after_it_starts_and_tasks_are_named_once():
    with pytest.raises(ValidationError, match="must be after starts_at"):
        gig_tasks.OfferGigTask(employer_id=SHOP, works_on=MONDAY, starts_at=time(12), ends_at=time(12),
                               municipality="Kemi", place="Sauvosaari", hourly_billing_rate="20")
    with pytest.raises(ValidationError, match="each task at most once"):
        PoolGigJob(client_id=CLIENT, foundation_id=FOUNDATION, task_ids=(SHOP, SHOP))
