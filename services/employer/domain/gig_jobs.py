"""Pooling gig tasks of several employers into one gig job (silpputyömalli): a placement of kind gig
work with the foundation as employer, each task billed to its own employer."""
from datetime import timedelta
from decimal import Decimal
from itertools import combinations
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.events.base import Event
from contracts.events.employer import GigJobPooled, PlacementStarted, PooledTask, Schedule
from services.employer.domain.clients import ClientFacts, ensure_placeable
from services.employer.domain.employers import Employer
from services.employer.domain.gig_tasks import GigTask
from services.employer.domain.placement_rules import SAME_DAY_TRAVEL, PoolingRule, pooling_rule_for
from services.platform.errors import RuleViolated


class PoolGigJob(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: UUID
    foundation_id: UUID = Field(description="the foundation that employs the client and bills each task's employer")
    task_ids: tuple[UUID, ...] = Field(min_length=1, max_length=200)

    @field_validator("task_ids")
    @classmethod
    def _each_task_once(cls, task_ids: tuple[UUID, ...]) -> tuple[UUID, ...]:
        if len(set(task_ids)) != len(task_ids):
            raise ValueError("each task at most once")
        return task_ids


def pool_gig_job(placement_id: UUID, command: PoolGigJob, foundation: Employer, tasks: dict[UUID, GigTask],
                 task_employers: dict[UUID, Employer], client: ClientFacts | None,
                 rule: PoolingRule | None = None) -> list[Event]:
    """The gig job's PlacementStarted and GigJobPooled; the caller marks each task pooled."""
    if not foundation.registered or foundation.details.employer_type != "foundation":
        raise RuleViolated("foundation_id", f"{command.foundation_id} is not a registered foundation")
    ensure_placeable(client, command.client_id, foundation.employment_area)
    ordered = sorted(tasks.values(), key=lambda task: (task.offered.works_on, task.offered.starts_at))
    first_day = ordered[0].offered.works_on
    rule = rule or pooling_rule_for(first_day)
    for task in ordered:
        _covered_by_an_agreement(task, task_employers[task.offered.employer_id])
    _no_overlaps(ordered)
    _one_municipality_a_day(ordered)
    hours = sum((task.hours for task in ordered), Decimal(0))
    weeks = _weeks_spanned(ordered)
    per_week = (hours / weeks).quantize(Decimal("0.01"))
    if per_week < rule.min_hours_per_week:
        raise RuleViolated("task_ids", f"the job must reach {rule.min_hours_per_week} hours a week; these tasks make "
                                       f"{hours} hours over {weeks} calendar weeks, {per_week} a week ({rule.source})")
    rate = (sum((task.hours * task.offered.hourly_billing_rate for task in ordered), Decimal(0)) / hours)
    pooled = tuple(PooledTask(task_id=task.offered.task_id, employer_id=task.offered.employer_id,
                              works_on=task.offered.works_on, starts_at=task.offered.starts_at,
                              ends_at=task.offered.ends_at, hours=task.hours,
                              hourly_billing_rate=task.offered.hourly_billing_rate) for task in ordered)
    return [
        PlacementStarted(placement_id=placement_id, client_id=command.client_id, employer_id=command.foundation_id,
                         employer_type="foundation", kind="gig_work", starts_on=first_day,
                         planned_end_on=ordered[-1].offered.works_on, schedule=Schedule(hours_per_week=per_week),
                         hourly_billing_rate=rate.quantize(Decimal("0.01"))),
        GigJobPooled(placement_id=placement_id, client_id=command.client_id, tasks=pooled),
    ]


def _covered_by_an_agreement(task: GigTask, employer: Employer) -> None:
    if not employer.agreement_covering("gig_work", task.offered.works_on):
        raise RuleViolated("task_ids", f"task {task.offered.task_id}: employer {task.offered.employer_id} has no "
                                       f"partnership agreement covering gig_work on {task.offered.works_on}")


def _no_overlaps(tasks: list[GigTask]) -> None:
    for first, second in combinations(tasks, 2):
        a, b = first.offered, second.offered
        if a.works_on == b.works_on and a.starts_at < b.ends_at and b.starts_at < a.ends_at:
            raise RuleViolated("task_ids", f"tasks {a.task_id} and {b.task_id} overlap on {a.works_on} "
                                           f"({a.starts_at:%H:%M}-{a.ends_at:%H:%M} and {b.starts_at:%H:%M}-"
                                           f"{b.ends_at:%H:%M}): one worker cannot do both")


def _one_municipality_a_day(tasks: list[GigTask]) -> None:
    by_day: dict = {}
    for task in tasks:
        by_day.setdefault(task.offered.works_on, set()).add(task.offered.municipality.casefold())
    for day, municipalities in by_day.items():
        if len(municipalities) > 1:
            raise RuleViolated("task_ids", f"on {day} the tasks are in {len(municipalities)} municipalities: "
                                           f"{SAME_DAY_TRAVEL}")


def _weeks_spanned(tasks: list[GigTask]) -> int:
    """Calendar weeks (Monday to Sunday) from the week of the first task to that of the last."""
    def monday(task: GigTask):
        return task.offered.works_on - timedelta(days=task.offered.works_on.weekday())

    return (monday(tasks[-1]) - monday(tasks[0])).days // 7 + 1
