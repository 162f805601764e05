"""Property tests of the deciders of intake, pathway, employer's placements and gig pooling, and
payroll's employments (tests/unit/test_decider_properties.py has openings and employers and `run`):
for any sequence of commands and events, decide emits only events evolve accepts, events that survive
the bus, and the fold of the history equals the state built step by step.

A command a sequence holds is valid input (the API checked it, or it is an event another service
wrote); the domain may refuse it, which is then no change.
"""
from datetime import date, time, timedelta
from decimal import Decimal
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.events.employer import GigJobPooled, PlacementEnded, PlacementExtended, PlacementStarted, Schedule
from services.employer.domain import employers, gig_jobs, gig_tasks, placements
from services.employer.domain.clients import ClientFacts
from services.intake.domain import consent, journey
from services.intake.domain.client import CLIENT
from services.intake.domain.referral import ReferClient, refer
from services.pathway.domain import placements as placement_steps
from services.pathway.domain import steps as pathway_steps
from services.pathway.domain.pathway import PATHWAY, close, pathway_id_of, plan
from services.payroll_billing.domain import employment as employments
from services.platform.auth import Principal
from services.platform.errors import REFUSALS, Forbidden, Gone, NotFound
from services.platform.event_store import fold
from tests.unit.test_decider_properties import DAYS, run

EXAMPLES = 150
CASE_WORKERS = ["cw-1", "cw-2"]
EXIT_STATUSES = ["employed_company", "in_education_or_training", "unemployed", "inactive", "other"]
PLACEMENT_KINDS = ["work_trial", "rehabilitative_work", "pay_subsidised_work", "apprenticeship", "open_market"]
ENDINGS = ["completed", "hired_by_employer", "interrupted_by_client", "interrupted_by_employer", "other"]


def _tick(draw, clock: date) -> date:
    """The next step happens the same day, up to three months or about half a year later: days add up to
    exits, follow-ups and timesheets that the rules allow, besides the many they refuse."""
    return clock + timedelta(days=draw(st.integers(0, 90) | st.integers(180, 200)))


def _recently(draw, today: date, most: int = 30) -> date:
    return today - timedelta(days=draw(st.integers(0, most)))


def _actor(draw) -> Principal:
    user = draw(st.sampled_from(["cw-1", "cw-1", "cw-1", "cw-2", "manager-1"]))  # mostly the client's own
    return Principal(user, frozenset({"manager" if user.startswith("manager") else "case_worker"}), "kemi")


# --- intake: the client ----------------------------------------------------------------------------

@st.composite
def client_steps(draw):
    client_id, consent_ids, clock = uuid4(), [uuid4(), uuid4()], draw(DAYS)
    steps = []
    for index in range(draw(st.integers(1, 14))):
        clock = _tick(draw, clock)
        today, actor = clock, _actor(draw)
        action = "refer" if index == 0 else draw(st.sampled_from(
            ["refer", "exit", "exit", "follow_up", "follow_up", "follow_up", "reassign", "skills", "correct",
             "consent", "withdraw", "withdraw", "erase", "retention"]))
        match action:
            case "refer":
                referral = ReferClient(
                    programme="kemi_model", employment_area="kemi", municipality="Kemi", referred_by="te_office",
                    age=draw(st.integers(15, 70)), gender=draw(st.sampled_from(["female", "male", "non_binary"])),
                    case_worker_id=draw(st.sampled_from(["cw-1", "cw-1", "cw-2"])),
                    labour_market_subsidy_days=draw(st.integers(0, 1200)), unemployed_months=draw(st.integers(0, 40)),
                    referred_on=draw(st.none() | st.just(_recently(draw, today))))
                steps.append(lambda client, referral=referral, today=today: refer(client, client_id, referral, today))
            case "exit":
                exited_on = _recently(draw, today, 10)
                command = journey.ExitClient(exited_on=exited_on, status_at_exit=draw(st.sampled_from(EXIT_STATUSES)),
                                             status_on=_recently(draw, today, (today - exited_on).days),
                                             qualification_gained=draw(st.booleans()))
                steps.append(lambda client, command=command, actor=actor, today=today: journey.exit_client(
                    client, client_id, actor, command, today))
            case "follow_up":
                command = journey.RecordFollowUp(status=draw(st.sampled_from(EXIT_STATUSES)),
                                                 status_on=_recently(draw, today))
                period = draw(st.integers(1, 2))
                steps.append(lambda client, command=command, period=period, actor=actor, today=today:
                             journey.record_follow_up(client, client_id, actor, period, command, today))
            case "reassign":
                command = journey.ReassignCaseWorker(case_worker_id=draw(st.sampled_from(CASE_WORKERS)))
                steps.append(lambda client, command=command, actor=actor, today=today: journey.reassign(
                    client, client_id, actor, command, today))
            case "skills":
                command = journey.RecordSkillTags(skill_tags=draw(st.lists(
                    st.sampled_from(["forklift_licence", "cleaning", "driving_b"]), unique=True)))
                steps.append(lambda client, command=command, actor=actor: journey.record_skill_tags(
                    client, client_id, actor, command))
            case "correct":
                command = journey.CorrectEntryFacts(age=draw(st.integers(15, 70)),
                                                    labour_market_subsidy_days=draw(st.integers(0, 1200)),
                                                    unemployed_months=draw(st.integers(0, 40)))
                steps.append(lambda client, command=command, actor=actor, today=today: journey.correct_entry_facts(
                    client, client_id, actor, command, today))
            case "consent":
                valid_from = _recently(draw, today)
                command = consent.RecordConsent(partner="te_office", scope=["contact_details"], valid_from=valid_from,
                                                valid_to=today + timedelta(days=draw(st.integers(0, 400))))
                consent_id = draw(st.sampled_from(consent_ids))
                steps.append(lambda client, command=command, consent_id=consent_id, actor=actor, today=today:
                             consent.record_consent(client, client_id, consent_id, actor, command, today))
            case "withdraw":
                consent_id = draw(st.sampled_from(consent_ids))
                steps.append(lambda client, consent_id=consent_id, actor=actor, today=today:
                             consent.withdraw_consent(client, client_id, consent_id, actor, today))
            case "erase":
                steps.append(lambda client, actor=actor, today=today: consent.erase(
                    client, client_id, actor, consent.EraseClientData(reason="client_request"), today))
            case "retention":
                steps.append(lambda client, today=today: consent.erase_after_retention(
                    client, client_id, today, today - timedelta(days=365)))
    return steps


@settings(max_examples=EXAMPLES, deadline=None)
@given(client_steps())
def test_clients(steps):
    run(CLIENT, steps, REFUSALS + (Forbidden, Gone))  # intake's domain also says who may act


# --- pathway: plans, steps, placements as steps, the close -------------------------------------------

@st.composite
def pathway_steps_of(draw):
    client_id, period = uuid4(), draw(st.integers(1, 3))
    pathway_id, step_ids, placement_ids = pathway_id_of(client_id, period), [uuid4(), uuid4()], [uuid4(), uuid4()]
    steps, clock = [], draw(DAYS)
    for index in range(draw(st.integers(1, 14))):
        clock = _tick(draw, clock)
        today = clock
        action = "plan" if index == 0 and draw(st.booleans()) else draw(st.sampled_from(
            ["plan", "goal", "plan_step", "start", "complete", "interrupt", "cancel", "placement_started",
             "placement_extended", "placement_ended", "close"]))
        step_id, placement_id = draw(st.sampled_from(step_ids)), draw(st.sampled_from(placement_ids))
        match action:
            case "plan":
                steps.append(lambda pathway, today=today: plan(pathway, client_id, period, today))
            case "goal":
                command = pathway_steps.SetGoal(goal=draw(st.sampled_from(["employment", "training"])))
                steps.append(lambda pathway, command=command, today=today: pathway_steps.set_goal(
                    pathway, pathway_id, command, today))
            case "plan_step":
                start = today + timedelta(days=draw(st.integers(-10, 30)))
                command = pathway_steps.PlanStep(
                    step_kind=draw(st.sampled_from(["start_period", "coaching", "training"])), planned_start_on=start,
                    planned_end_on=draw(st.none() | st.just(start + timedelta(days=draw(st.integers(0, 300))))),
                    provider="city")
                steps.append(lambda pathway, command=command, step_id=step_id, today=today: pathway_steps.plan_step(
                    pathway, pathway_id, step_id, command, today))
            case "start":
                command = pathway_steps.StartStep(started_on=_recently(draw, today))
                steps.append(lambda pathway, command=command, step_id=step_id, today=today:
                             pathway_steps.start_step(pathway, pathway_id, step_id, command, today))
            case "complete":
                command = pathway_steps.CompleteStep(completed_on=_recently(draw, today))
                steps.append(lambda pathway, command=command, step_id=step_id, today=today:
                             pathway_steps.complete_step(pathway, pathway_id, step_id, command, today))
            case "interrupt":
                command = pathway_steps.InterruptStep(interrupted_on=_recently(draw, today), reason="client_illness")
                steps.append(lambda pathway, command=command, step_id=step_id, today=today:
                             pathway_steps.interrupt_step(pathway, pathway_id, step_id, command, today))
            case "cancel":
                command = pathway_steps.CancelStep(cancelled_on=_recently(draw, today))
                steps.append(lambda pathway, command=command, step_id=step_id:
                             pathway_steps.cancel_step(pathway, pathway_id, step_id, command))
            case "placement_started":
                started = _placement_started(draw, placement_id, client_id, starts_on=_recently(draw, today))
                steps.append(lambda pathway, started=started: placement_steps.start_placement_step(pathway, started))
            case "placement_extended":
                extended = PlacementExtended(placement_id=placement_id, client_id=client_id, planned_end_on=today)
                steps.append(lambda pathway, extended=extended: placement_steps.extend_placement_step(
                    pathway, extended))
            case "placement_ended":
                ended = PlacementEnded(placement_id=placement_id, client_id=client_id, employer_id=uuid4(),
                                       employer_type="company", kind="work_trial", ended_on=today,
                                       ending=draw(st.sampled_from(ENDINGS)))
                steps.append(lambda pathway, ended=ended: placement_steps.end_placement_step(pathway, ended))
            case "close":
                steps.append(lambda pathway, today=today: close(pathway, client_id, today))
    return steps


def _placement_started(draw, placement_id, client_id, kind=None, employer_type="company",
                       starts_on: date | None = None) -> PlacementStarted:
    starts_on = starts_on or draw(DAYS)
    return PlacementStarted(
        placement_id=placement_id, client_id=client_id, employer_id=uuid4(), employer_type=employer_type,
        kind=kind or draw(st.sampled_from(PLACEMENT_KINDS)), starts_on=starts_on, hourly_billing_rate=Decimal("20.00"),
        planned_end_on=draw(st.none() | st.just(starts_on + timedelta(days=draw(st.integers(0, 200))))),
        schedule=Schedule(days_per_week=draw(st.integers(1, 5)), hours_per_day=Decimal("6"),
                          hours_per_week=Decimal(draw(st.integers(4, 37)))))


@settings(max_examples=EXAMPLES, deadline=None)
@given(pathway_steps_of())
def test_pathways(steps):
    run(PATHWAY, steps)


# --- employer: placements, and gig tasks pooled into a gig job -----------------------------------------

def _employer(employer_type: str, scope: tuple[str, ...]):
    employer_id = uuid4()
    employer = fold(employers.EMPLOYER, employers.register(employers.EMPLOYER.initial, employer_id, employers.RegisterEmployer(
        name="Työnantaja", employer_type=employer_type, business_id="0210427-6", employment_area="kemi")))
    employer = fold(employers.EMPLOYER, employers.sign_agreement(employer, uuid4(), employers.SignAgreement(
        scope=scope, valid_from=date(2024, 1, 1), valid_to=date(2028, 12, 31))), employer)
    return employer_id, employer


@st.composite
def placement_steps_of(draw):
    placement_id, client_id = uuid4(), uuid4()
    employer_id, employer = _employer("company", tuple(PLACEMENT_KINDS[:-1]))
    client = ClientFacts(client_id, "kemi", enrolled=True)
    starts_on = draw(DAYS)
    command = placements.StartPlacement(
        client_id=client_id, employer_id=employer_id, kind=draw(st.sampled_from(PLACEMENT_KINDS)), starts_on=starts_on,
        planned_end_on=starts_on + timedelta(days=draw(st.integers(0, 400))),
        schedule=Schedule(days_per_week=draw(st.integers(1, 5)), hours_per_day=Decimal(draw(st.integers(4, 8))),
                          hours_per_week=Decimal(draw(st.integers(4, 40)))),
        pay_subsidy_decision="TE-2026-1")
    steps = [lambda placement: placements.start(placement_id, command, employer, client, [])]
    for _ in range(draw(st.integers(0, 6))):
        day = draw(DAYS)
        if draw(st.booleans()):
            steps.append(lambda placement, day=day: placements.extend(
                _existing(placement), placements.ExtendPlacement(planned_end_on=day), []))
        else:
            ending = draw(st.sampled_from(ENDINGS))
            steps.append(lambda placement, day=day, ending=ending: placements.end(
                _existing(placement), placements.EndPlacement(ended_on=day, ending=ending)))
    return steps


def _existing(placement: placements.Placement) -> placements.Placement:
    """A command reaches a placement that exists only: the platform answers 404 before the domain."""
    if placement.started is None:
        raise NotFound("no placement")
    return placement


@settings(max_examples=EXAMPLES, deadline=None)
@given(placement_steps_of())
def test_placements(steps):
    run(placements.PLACEMENT, steps)


@st.composite
def gig_jobs_of(draw):
    """Gig tasks offered over a few weeks and pooled into a gig job (its placement and each task)."""
    foundation_id, foundation = _employer("foundation", ("gig_work",))
    employer_id, employer = _employer("company", ("gig_work",))
    first = draw(st.dates(min_value=date(2025, 1, 6), max_value=date(2027, 6, 1)))
    first -= timedelta(days=first.weekday())  # a Monday: a week of tasks spans one calendar week
    tasks = {}
    # Mostly distinct days and whole shifts, so pools reach the hours a week a gig job needs; some
    # share a day (an overlap, or two municipalities) for the rules to refuse.
    for offset in draw(st.lists(st.integers(0, 6), min_size=3, max_size=12)):
        task_id, start = uuid4(), draw(st.integers(6, 14))
        offered = gig_tasks.OfferGigTask(
            employer_id=employer_id, works_on=first + timedelta(days=offset),
            starts_at=time(start), ends_at=time(start + draw(st.integers(6, 8))),
            municipality=draw(st.sampled_from(["Kemi", "Kemi", "Kemi", "Keminmaa"])), place="Halli",
            hourly_billing_rate=Decimal(draw(st.integers(15, 40))))
        tasks[task_id] = fold(gig_tasks.GIG_TASK, gig_tasks.offer(task_id, offered))
    return foundation_id, foundation, employer_id, employer, tasks


@settings(max_examples=EXAMPLES, deadline=None)
@given(gig_jobs_of(), st.data())
def test_gig_pooling(job, data):
    foundation_id, foundation, employer_id, employer, tasks = job
    placement_id, client_id = uuid4(), uuid4()
    offered = list(tasks)  # in the order offered: uuid4s sorted would vary between runs of one example
    chosen = data.draw(st.just(offered) | st.lists(st.sampled_from(offered), min_size=1, unique=True))
    ended_on = data.draw(DAYS)
    command = gig_jobs.PoolGigJob(client_id=client_id, foundation_id=foundation_id, task_ids=tuple(chosen))
    client = ClientFacts(client_id, "kemi", enrolled=True)
    run(placements.PLACEMENT, [
        lambda placement: gig_jobs.pool_gig_job(placement_id, command, foundation, {task: tasks[task] for task in chosen},
                                                {employer_id: employer}, client),
        lambda placement: placements.end(_existing(placement), placements.EndPlacement(
            ended_on=ended_on, ending="completed"))])
    for task_id in chosen:  # each task is pooled once: a second pooling is refused
        run(gig_tasks.GIG_TASK, [lambda task, task_id=task_id: gig_tasks.pool(tasks[task_id], task_id, placement_id),
                                 lambda task, task_id=task_id: gig_tasks.pool(task, task_id, uuid4())])


# --- payroll: an employment from its placement to approved timesheets ---------------------------------

@st.composite
def employment_steps(draw):
    placement_id, client_id = uuid4(), uuid4()
    kind = draw(st.sampled_from(["gig_work", "pay_subsidised_work", "work_trial", "rehabilitative_work"]))
    started = _placement_started(draw, placement_id, client_id, kind=kind,
                                 employer_type=draw(st.sampled_from(["foundation", "company"])))
    steps = [lambda employment: employments.open_for(employment, started)]
    day = started.starts_on
    for _ in range(draw(st.integers(0, 10))):
        day += timedelta(days=draw(st.integers(0, 30)))
        match draw(st.sampled_from(["open", "terms", "subsidy", "extend", "end", "approve", "approve", "tasks"])):
            case "open":
                steps.append(lambda employment: employments.open_for(employment, started))
            case "terms":
                command = employments.AgreeWageTerms(hourly_wage=Decimal("12.50"), collective_agreement="TES",
                                                     hours_per_week=Decimal(draw(st.integers(10, 37))), valid_from=day)
                steps.append(lambda employment, command=command: employments.agree_terms(
                    employment, placement_id, command))
            case "subsidy":
                steps.append(lambda employment, day=day: employments.grant_pay_subsidy(
                    employment, placement_id, "PS-1", day, day + timedelta(days=150)))
            case "extend":
                extended = PlacementExtended(placement_id=placement_id, client_id=client_id, planned_end_on=day)
                steps.append(lambda employment, extended=extended: employments.extend(employment, extended))
            case "end":
                ended = PlacementEnded(placement_id=placement_id, client_id=client_id, employer_id=started.employer_id,
                                       employer_type=started.employer_type, kind=kind, ended_on=day, ending="completed")
                steps.append(lambda employment, ended=ended: employments.end(employment, ended))
            case "approve":
                worked = sorted(set(draw(st.lists(st.integers(0, 13), min_size=1, max_size=8))))
                command = employments.ApproveTimesheet(
                    period_start=day, period_end=day + timedelta(days=13),
                    days=[employments.DayWorked(works_on=day + timedelta(days=offset),
                                                hours=Decimal(draw(st.integers(1, 6)))) for offset in worked])
                steps.append(lambda employment, command=command: employments.approve(
                    employment, placement_id, uuid4(), command))
            case "tasks":
                pooled = GigJobPooled(placement_id=placement_id, client_id=client_id, tasks=())
                steps.append(lambda employment, pooled=pooled: employments.assign_tasks(employment, pooled))
    return steps


@settings(max_examples=EXAMPLES, deadline=None)
@given(employment_steps())
def test_employments(steps):
    run(employments.EMPLOYMENT, steps)
