"""The Employment aggregate: the foundation's employment of a client (gig work, a pay subsidised job it
hosts), or the attendance of a work trial or rehabilitative work; its wage terms and approved days."""
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.events.base import Event
from contracts.events.employer import GigJobPooled, PlacementEnded, PlacementExtended, PlacementStarted, PooledTask
from contracts.events.payroll_billing import (AttendanceOpened, EmploymentEnded, EmploymentExtended, EmploymentOpened,
                                              GigTasksAssigned, PaySubsidyGranted, TimesheetApproved, WageTermsAgreed,
                                              WorkedDay)
from contracts.values import Hours, Money
from services.payroll_billing.domain.rules import Rule, tables
from services.platform.errors import NotFound, RuleViolated
from services.platform.event_store import AggregateKind

RULES = tables("employment_rules.yaml")
# The foundation employs the client in these; in its own pay subsidised jobs only (employer_type).
EMPLOYING_KINDS = {"gig_work", "pay_subsidised_work"}
ATTENDANCE_KINDS = {"work_trial", "rehabilitative_work"}


class DayWorked(BaseModel):
    model_config = ConfigDict(extra="forbid")

    works_on: date
    hours: Hours
    task_id: UUID | None = None


class ApproveTimesheet(BaseModel):
    """Days and hours (or attendance days, with their hours) of one period, approved by the clerk."""

    model_config = ConfigDict(extra="forbid")

    period_start: date
    period_end: date
    days: list[DayWorked] = Field(min_length=1, max_length=400)

    @model_validator(mode="after")
    def days_in_period(self) -> "ApproveTimesheet":
        if self.period_end < self.period_start:
            raise ValueError("period_end must not be before period_start")
        for index, day in enumerate(self.days):
            if not self.period_start <= day.works_on <= self.period_end:
                raise ValueError(f"days.{index}.works_on {day.works_on} is outside the period")
        repeated = [key for key, count in Counter((day.works_on, day.task_id) for day in self.days).items()
                    if count > 1]
        if repeated:
            raise ValueError(f"days: {repeated[0][0]} is given twice for the same task")
        return self


class AgreeWageTerms(BaseModel):
    """The employment contract's pay: the hourly wage stays in payroll's own database."""

    model_config = ConfigDict(extra="forbid")

    hourly_wage: Money = Field(gt=0)
    collective_agreement: str = Field(min_length=1, max_length=120)
    hours_per_week: Hours
    pay_period: Literal["month", "two_weeks"] = "month"
    valid_from: date
    fixed_term_until: date | None = None


@dataclass(frozen=True)
class Employment:
    opened: EmploymentOpened | AttendanceOpened | None = None
    terms: WageTermsAgreed | None = None
    tasks: dict[UUID, PooledTask] = field(default_factory=dict)
    approved_periods: tuple[tuple[date, date], ...] = ()
    days_worked: frozenset[date] = frozenset()
    approved_hours: Decimal = Decimal(0)
    ended_on: date | None = None
    pay_subsidy: PaySubsidyGranted | None = None
    extended_to: date | None = None

    @property
    def pays_wage(self) -> bool:
        return isinstance(self.opened, EmploymentOpened)

    @property
    def job_ends_on(self) -> date | None:
        """The fixed-term contract's last day, else the placement's planned end (as extended)."""
        if self.terms and self.terms.fixed_term_until:
            return self.terms.fixed_term_until
        return self.extended_to or getattr(self.opened, "planned_end_on", None)


def evolve(employment: Employment, event: Event) -> Employment:
    match event:
        case EmploymentOpened() | AttendanceOpened():
            return replace(employment, opened=event)
        case WageTermsAgreed():
            return replace(employment, terms=event)
        case EmploymentExtended():
            return replace(employment, extended_to=event.planned_end_on)
        case EmploymentEnded():
            return replace(employment, ended_on=event.ended_on)
        case PaySubsidyGranted():
            return replace(employment, pay_subsidy=event)
        case GigTasksAssigned():
            return replace(employment, tasks=employment.tasks | {task.task_id: task for task in event.tasks})
        case TimesheetApproved():
            return replace(employment, approved_hours=employment.approved_hours + event.hours,
                           approved_periods=employment.approved_periods + ((event.period_start, event.period_end),),
                           days_worked=employment.days_worked | {day.works_on for day in event.days})
    return employment


EMPLOYMENT = AggregateKind("Employment", Employment(), evolve)


def _wages_paid_here(kind: str, employer_type: str) -> bool:
    return kind == "gig_work" or (kind == "pay_subsidised_work" and employer_type == "foundation")


def concerns_payroll(kind: str, employer_type: str) -> bool:
    """Whether a placement of this kind and employer opens an employment or attendance here (open_for)."""
    return _wages_paid_here(kind, employer_type) or kind in ATTENDANCE_KINDS


def open_for(employment: Employment, placement: PlacementStarted) -> list[Event]:
    """Gig work (the foundation is the employer), a pay subsidised job the foundation hosts, or the
    attendance of a work trial or rehabilitative work; no other placement concerns payroll."""
    if employment.opened is not None:
        return []
    schedule = placement.schedule
    days_per_week, hours_per_day = (schedule.days_per_week, schedule.hours_per_day) if schedule else (None, None)
    common = {"employment_id": placement.placement_id, "placement_id": placement.placement_id,
              "client_id": placement.client_id, "employer_id": placement.employer_id,
              "days_per_week": days_per_week, "hours_per_day": hours_per_day}
    if _wages_paid_here(placement.kind, placement.employer_type):
        return [EmploymentOpened(**common, hourly_billing_rate=placement.hourly_billing_rate, kind=placement.kind,
                                 employer_type=placement.employer_type, starts_on=placement.starts_on,
                                 planned_end_on=placement.planned_end_on)]
    if placement.kind in ATTENDANCE_KINDS:
        return [AttendanceOpened(**common, kind=placement.kind, starts_on=placement.starts_on)]
    return []


def assign_tasks(employment: Employment, pooled: GigJobPooled) -> list[Event]:
    opened = _require_open(employment, pooled.placement_id)
    new = tuple(task for task in pooled.tasks if task.task_id not in employment.tasks)
    return [GigTasksAssigned(employment_id=opened.employment_id, tasks=new)] if new else []


def agree_terms(employment: Employment, employment_id: UUID, command: AgreeWageTerms) -> list[Event]:
    opened = _require_open(employment, employment_id)
    if not employment.pays_wage:
        raise RuleViolated("hourly_wage", f"a {opened.kind} is no employment: it earns the expense allowance "
                                          f"per day of attendance, not a wage")
    return [WageTermsAgreed(employment_id=employment_id, collective_agreement=command.collective_agreement,
                            hours_per_week=command.hours_per_week, pay_period=command.pay_period,
                            valid_from=command.valid_from, fixed_term_until=command.fixed_term_until)]


def grant_pay_subsidy(employment: Employment, employment_id: UUID, reference: str, starts_on: date,
                      ends_on: date) -> list[Event]:
    """The pay subsidy decision's reference and period; its percent and cap stay in payroll's own database."""
    _require_open(employment, employment_id)
    if not employment.pays_wage:
        raise RuleViolated("employment_id", "a pay subsidy is granted for an employment, not for attendance")
    return [PaySubsidyGranted(employment_id=employment_id, decision_reference=reference, starts_on=starts_on,
                              ends_on=ends_on)]


def extend(employment: Employment, extended: PlacementExtended) -> list[Event]:
    if employment.opened is None or employment.ended_on is not None:
        return []
    return [EmploymentExtended(employment_id=employment.opened.employment_id, planned_end_on=extended.planned_end_on)]


def end(employment: Employment, ended: PlacementEnded) -> list[Event]:
    if employment.opened is None or employment.ended_on is not None:
        return []
    return [EmploymentEnded(employment_id=employment.opened.employment_id, ended_on=ended.ended_on)]


def approve(employment: Employment, employment_id: UUID, timesheet_id: UUID, command: ApproveTimesheet) -> list[Event]:
    """The days as worked, checked against the placement's schedule and the rules of its kind."""
    opened = _require_open(employment, employment_id)
    for start, end in employment.approved_periods:
        if command.period_start <= end and start <= command.period_end:
            # A resent or overlapping timesheet would pay and bill the same hours twice.
            raise RuleViolated("period_start", f"employment {employment_id} has hours approved for "
                                               f"{start}–{end}, which this period overlaps")
    worked = [day.works_on for day in command.days]
    if opened.starts_on and min(worked) < opened.starts_on:
        raise RuleViolated("days", f"{min(worked)}: the placement starts on {opened.starts_on}")
    if employment.ended_on and max(worked) > employment.ended_on:
        raise RuleViolated("days", f"{max(worked)}: the placement ended on {employment.ended_on}")
    rule = RULES["schedule"].in_force(command.period_end, "days", kind=opened.kind)
    days = [_billed(employment, opened, index, day) for index, day in enumerate(command.days)]
    _check_schedule(opened, rule, days, employment.days_worked)
    return [TimesheetApproved(employment_id=employment_id, timesheet_id=timesheet_id,
                              period_start=command.period_start, period_end=command.period_end,
                              hours=sum(day.hours for day in days), days=tuple(days))]


def _billed(employment: Employment, opened: EmploymentOpened | AttendanceOpened, index: int,
            day: DayWorked) -> WorkedDay:
    """Who pays for the day's hours: the task's employer at its rate, else the placement's employer."""
    if day.task_id is None:
        if employment.tasks:
            raise RuleViolated(f"days.{index}.task_id", "a pooled gig job's hours are recorded per task")
        rate = opened.hourly_billing_rate if isinstance(opened, EmploymentOpened) else Decimal("0.00")
        return WorkedDay(works_on=day.works_on, hours=day.hours, employer_id=opened.employer_id,
                         hourly_billing_rate=rate)
    task = employment.tasks.get(day.task_id)
    if task is None:
        raise RuleViolated(f"days.{index}.task_id", f"task {day.task_id} is not a task of this gig job")
    if task.works_on != day.works_on:
        raise RuleViolated(f"days.{index}.works_on", f"task {day.task_id} is on {task.works_on}")
    if day.hours > task.hours:
        raise RuleViolated(f"days.{index}.hours", f"task {day.task_id} was pooled as {task.hours} h")
    return WorkedDay(works_on=day.works_on, hours=day.hours, task_id=task.task_id, employer_id=task.employer_id,
                     hourly_billing_rate=task.hourly_billing_rate)


def _check_schedule(opened: EmploymentOpened | AttendanceOpened, rule: Rule, days: list[WorkedDay],
                    approved_before: frozenset[date]) -> None:
    """Hours a day within the kind's limits and the placement's own hours a day; days a week at most
    the kind's limit and the placement's own days a week, counting the days of the same calendar
    week approved in earlier timesheets."""
    per_day: dict[date, Decimal] = defaultdict(Decimal)
    for day in days:
        per_day[day.works_on] += day.hours
    most_hours = rule.decimal("max_hours_per_day")
    if opened.hours_per_day is not None and opened.hours_per_day < most_hours:
        most_hours, most_source = opened.hours_per_day, "the placement's schedule"
    else:
        most_source = rule.label
    for works_on, hours in sorted(per_day.items()):
        if hours > most_hours:
            raise RuleViolated("days", f"{works_on}: {hours} h is more than {most_hours} h a day ({most_source})")
        if hours < rule.decimal("min_hours_per_day"):
            raise RuleViolated("days", f"{works_on}: {hours} h is less than {rule.decimal('min_hours_per_day')} h "
                                       f"a day ({rule.label})")
    most_days, days_source = int(rule.values["max_days_per_week"]), rule.label
    if opened.days_per_week is not None and opened.days_per_week < most_days:
        most_days, days_source = opened.days_per_week, "the placement's schedule"
    weeks = Counter(works_on.isocalendar()[:2] for works_on in per_day.keys() | approved_before)
    for (year, week), count in sorted(weeks.items()):
        if count > most_days:
            raise RuleViolated("days", f"week {week}/{year}: {count} days is more than {most_days} days a week "
                                       f"({days_source})")


def _require_open(employment: Employment, employment_id: UUID) -> EmploymentOpened | AttendanceOpened:
    if employment.opened is None:
        raise NotFound(f"no employment {employment_id}")
    return employment.opened
