"""The case worker's work on an enrolled client: reassignment, skill tags, corrected entry facts, the
exit with its status, and the follow-up six months later. Timing rules are data (exit_rules.yaml)."""
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.events.base import Event
from contracts.events.intake import (CaseWorkerAssigned, ClientExited, EntryFactsCorrected, ExitStatus,
                                     SixMonthFollowUpRecorded, SkillTagsRecorded)
from contracts.values import Tag, Text
from services.intake.domain.client import Client, Period, ensure_handles
from services.platform.auth import Principal
from services.intake.domain.referral import EntryFactsInput
from services.platform.dates import add_months
from services.platform.errors import RuleViolated, StateConflict
from services.platform.rules import SourcedRule


class TimingRule(SourcedRule):
    days: int | None = None
    months: int | None = None


TIMING = {name: [TimingRule.model_validate(row) for row in rows]
          for name, rows in yaml.safe_load((Path(__file__).parent / "exit_rules.yaml").read_text()).items()}


def timing(name: str, exited_on: date) -> TimingRule:
    """The row of exit_rules.yaml in force on the day of leaving."""
    rule = next((row for row in TIMING[name] if row.in_force(exited_on)), None)
    if rule is None:
        raise RuleViolated("exited_on", f"no {name} rule in force on {exited_on.isoformat()} (exit_rules.yaml)")
    return rule


def follow_up_due_on(exited_on: date) -> date:
    return add_months(exited_on, timing("six_month_follow_up", exited_on).months)


def follow_up_overdue_from(exited_on: date) -> date:
    """The first day a follow-up not yet recorded counts as overdue."""
    return follow_up_due_on(exited_on) + timedelta(days=timing("follow_up_overdue", exited_on).days + 1)


class ReassignCaseWorker(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_worker_id: Text = Field(min_length=1, max_length=64)


class RecordSkillTags(BaseModel):
    model_config = ConfigDict(extra="forbid")

    skill_tags: list[Tag] = Field(max_length=50, description='lowercase slugs, e.g. "forklift_licence"')

    @field_validator("skill_tags")
    @classmethod
    def _each_once(cls, tags: list[str]) -> list[str]:
        if len(set(tags)) != len(tags):
            raise ValueError("name each skill tag at most once")
        return tags


class CorrectEntryFacts(EntryFactsInput):
    """The entry facts of the current period, whole; they replace those recorded before."""

    age: int = Field(ge=15, le=70, description="age at entry, for the age-based priority groups")


class ExitClient(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exited_on: date
    status_at_exit: ExitStatus
    status_on: date = Field(description="the day the status at exit was observed, at most 28 days after leaving")
    qualification_gained: bool


class RecordFollowUp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ExitStatus
    status_on: date = Field(description="the day the status was observed, six months or more after leaving")


def _enrolled(client: Client, client_id: UUID, actor: Principal) -> Period:
    ensure_handles(client, client_id, actor)
    if client.status != "enrolled":
        raise StateConflict(f"client {client_id} is {client.status}, not enrolled")
    return client.current


def reassign(client: Client, client_id: UUID, actor: Principal, command: ReassignCaseWorker,
             today: date) -> list[Event]:
    ensure_handles(client, client_id, actor)
    if client.case_worker_id is None:
        raise StateConflict(f"client {client_id} was never enrolled: there is no case worker to change")
    if command.case_worker_id == client.case_worker_id:
        return []
    return [CaseWorkerAssigned(client_id=client_id, case_worker_id=command.case_worker_id,
                               previous_case_worker_id=client.case_worker_id, assigned_on=today)]


def record_skill_tags(client: Client, client_id: UUID, actor: Principal,
                      command: RecordSkillTags) -> list[Event]:
    _enrolled(client, client_id, actor)
    tags = tuple(sorted(command.skill_tags))
    return [] if tags == client.skill_tags else [SkillTagsRecorded(client_id=client_id, skill_tags=tags)]


def correct_entry_facts(client: Client, client_id: UUID, actor: Principal, command: CorrectEntryFacts,
                        today: date) -> list[Event]:
    ensure_handles(client, client_id, actor)
    period = client.current
    facts = command.facts(command.age)
    if facts == period.entry_facts:
        return []
    return [EntryFactsCorrected(client_id=client_id, period=period.number, facts=facts, corrected_on=today)]


def exit_client(client: Client, client_id: UUID, actor: Principal, command: ExitClient,
                today: date) -> list[Event]:
    period = _enrolled(client, client_id, actor)
    if command.exited_on > today:
        raise RuleViolated("exited_on", "must not be in the future")
    if command.exited_on < period.enrolled_on:
        raise RuleViolated("exited_on", f"must not be before the enrolment on {period.enrolled_on.isoformat()}")
    rule = timing("status_at_exit", command.exited_on)
    if not command.exited_on <= command.status_on <= command.exited_on + timedelta(days=rule.days):
        raise RuleViolated("status_on", f"the status at exit is the status within {rule.days} days after leaving "
                                        f"(from exited_on to {rule.days} days later); source: {rule.source}")
    if command.status_on > today:
        raise RuleViolated("status_on", "must not be in the future")
    return [ClientExited(client_id=client_id, period=period.number, exited_on=command.exited_on,
                         status_at_exit=command.status_at_exit, status_on=command.status_on,
                         qualification_gained=command.qualification_gained)]


def record_follow_up(client: Client, client_id: UUID, actor: Principal, period_number: int, command: RecordFollowUp,
                     today: date) -> list[Event]:
    ensure_handles(client, client_id, actor)
    period = client.period(period_number)
    if period is None or period.exited_on is None:
        raise StateConflict(f"client {client_id} has no exited enrolment period {period_number}")
    if period.follow_up_status is not None:
        raise StateConflict(f"the six-month follow-up of period {period_number} was recorded already")
    due_on, rule = follow_up_due_on(period.exited_on), timing("six_month_follow_up", period.exited_on)
    if command.status_on < due_on:
        raise RuleViolated("status_on", f"the follow-up is the status {rule.months} months after leaving: not "
                                        f"before {due_on.isoformat()}; source: {rule.source}")
    if command.status_on > today:
        raise RuleViolated("status_on", "must not be in the future")
    return [SixMonthFollowUpRecorded(client_id=client_id, period=period_number, exited_on=period.exited_on,
                                     status=command.status, status_on=command.status_on)]
