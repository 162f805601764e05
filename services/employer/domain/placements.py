"""The Placement aggregate: a client's work trial, rehabilitative work, pay subsidised job, gig job,
apprenticeship or open-market hire, from its start (checked against placement_rules) to its end."""
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from contracts.events.base import Event
from contracts.events.employer import (GigJobPooled, PlacementEnded, PlacementEnding, PlacementExtended, PlacementKind,
                                       PlacementStarted, Schedule)
from contracts.values import Money, Text, not_before
from services.employer.domain.clients import ClientFacts, ensure_placeable
from services.employer.domain.employers import Employer
from services.employer.domain.placement_rules import PLACEMENT_RULES, PlacementRule, rule_for
from services.platform.errors import RuleViolated, StateConflict
from services.platform.event_store import AggregateKind

# A month is 365/12 days. Limits are compared in whole days (days * 12 against months * 365), so spans
# add up exactly; a month figure is only shown.
DAYS_IN_12_MONTHS = 365


class StartPlacement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: UUID
    employer_id: UUID
    kind: PlacementKind
    starts_on: date
    planned_end_on: date | None = None
    schedule: Schedule
    hourly_billing_rate: Money = Decimal("0.00")
    pay_subsidy_decision: Text | None = None
    opening_id: UUID | None = None
    _end_not_before_start = not_before("starts_on", "planned_end_on")


class ExtendPlacement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    planned_end_on: date


class EndPlacement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ended_on: date
    ending: PlacementEnding


@dataclass(frozen=True)
class Span:
    """One placement of a client, as far as the month limits count it."""

    placement_id: UUID
    employer_id: UUID
    kind: str
    starts_on: date
    last_day: date

    @property
    def days(self) -> int:
        return (self.last_day - self.starts_on).days + 1


def months(days: int) -> Decimal:
    """Days as months, for messages."""
    return Decimal(days * 12) / DAYS_IN_12_MONTHS


def at_most_months(days: int, limit: int) -> bool:
    return days * 12 <= limit * DAYS_IN_12_MONTHS


def at_least_months(days: int, limit: int) -> bool:
    return days * 12 >= limit * DAYS_IN_12_MONTHS


@dataclass(frozen=True)
class Placement:
    started: PlacementStarted | None = None
    planned_end_on: date | None = None
    ended: PlacementEnded | None = None
    tasks: GigJobPooled | None = None

    @property
    def span(self) -> Span:
        started = self.started
        last_day = self.ended.ended_on if self.ended else (self.planned_end_on or started.starts_on)
        return Span(started.placement_id, started.employer_id, started.kind, started.starts_on, last_day)


def evolve(placement: Placement, event: Event) -> Placement:
    match event:
        case PlacementStarted():
            return Placement(started=event, planned_end_on=event.planned_end_on)
        case GigJobPooled():
            return replace(placement, tasks=event)
        case PlacementExtended():
            return replace(placement, planned_end_on=event.planned_end_on)
        case PlacementEnded():
            return replace(placement, ended=event)
    return placement


PLACEMENT = AggregateKind("Placement", Placement(), evolve)


def rule_in_force(kind: str, day: date, rules: tuple[PlacementRule, ...] = PLACEMENT_RULES) -> PlacementRule:
    try:
        return rule_for(kind, day, rules)
    except LookupError:
        raise RuleViolated("starts_on", f"no rule for a placement of kind {kind} is in force on {day}") from None


def start(placement_id: UUID, command: StartPlacement, employer: Employer, client: ClientFacts | None,
          earlier: list[Span], rules: tuple[PlacementRule, ...] = PLACEMENT_RULES) -> list[Event]:
    """Starts a placement of any kind but gig work, which starts by pooling tasks (gig_jobs.pool_gig_job)."""
    if not employer.registered:
        raise RuleViolated("employer_id", f"no registered employer {command.employer_id}")
    ensure_placeable(client, command.client_id, employer.employment_area)
    rule = rule_in_force(command.kind, command.starts_on, rules)
    if rule.started_by_pooling:
        raise RuleViolated("kind", f"gig work starts by pooling gig tasks into a gig job, not here ({rule.source})")
    span = Span(placement_id, command.employer_id, command.kind, command.starts_on,
                command.planned_end_on or command.starts_on)
    check_start(rule, command, employer)
    check_duration(rule, span, command.planned_end_on, earlier)
    return [PlacementStarted(placement_id=placement_id, employer_type=employer.details.employer_type,
                             **command.model_dump())]


def check_start(rule: PlacementRule, command: StartPlacement, employer: Employer) -> None:
    """The rules of the kind that do not change when a placement is extended."""
    where = f"({rule.source})"
    if employer.details.employer_type in rule.refused_host_types:
        raise RuleViolated("employer_id", f"a {command.kind} placement is never hosted by a "
                                          f"{employer.details.employer_type} {where}")
    if rule.needs_agreement and not employer.agreement_covering(command.kind, command.starts_on):
        raise RuleViolated("kind", f"employer {command.employer_id} has no partnership agreement covering "
                                   f"{command.kind} on {command.starts_on}; only an open-market hire needs none")
    if rule.needs_pay_subsidy_decision and not command.pay_subsidy_decision:
        raise RuleViolated("pay_subsidy_decision", f"required: the reference of the pay subsidy decision {where}")
    schedule = command.schedule
    if rule.days_per_week:
        _within("schedule.days_per_week", schedule.days_per_week, rule.days_per_week, "days a week", where)
    if rule.hours_per_day:
        _within("schedule.hours_per_day", schedule.hours_per_day, rule.hours_per_day, "hours a day", where)
    if rule.min_average_hours_per_week and schedule.hours_per_week < rule.min_average_hours_per_week:
        raise RuleViolated("schedule.hours_per_week", f"at least {rule.min_average_hours_per_week} hours a week "
                                                      f"on average {where}")


def _within(field: str, value, bounds: tuple, unit: str, where: str) -> None:
    low, high = bounds
    if value is None:
        raise RuleViolated(field, f"required: {low}-{high} {unit} {where}")
    if not low <= value <= high:
        raise RuleViolated(field, f"{low}-{high} {unit}, not {value} {where}")


def check_duration(rule: PlacementRule, span: Span, planned_end_on: date | None, earlier: list[Span]) -> None:
    """The month limits: checked at the start and again at each extension."""
    where = f"({rule.source})"
    limited = rule.period_months or rule.max_months_with_one_employer or rule.max_months_in_total
    if limited and planned_end_on is None:
        raise RuleViolated("planned_end_on", f"required: a {span.kind} placement has a month limit {where}")
    if rule.period_months:
        low, high = rule.period_months
        if not (at_least_months(span.days, low) and at_most_months(span.days, high)):
            raise RuleViolated("planned_end_on", f"a period of {low}-{high} months, not {months(span.days):.1f} "
                                                 f"{where}")
    same_kind = [other for other in earlier if other.kind == span.kind and other.placement_id != span.placement_id]
    if rule.max_months_with_one_employer:
        with_employer = span.days + sum(other.days for other in same_kind if other.employer_id == span.employer_id)
        if not at_most_months(with_employer, rule.max_months_with_one_employer):
            raise RuleViolated("planned_end_on", f"at most {rule.max_months_with_one_employer} months with the same "
                                                 f"employer; this would make {months(with_employer):.1f} {where}")
    if rule.max_months_in_total:
        in_total = span.days + sum(other.days for other in same_kind)
        if not at_most_months(in_total, rule.max_months_in_total):
            raise RuleViolated("planned_end_on", f"at most {rule.max_months_in_total} months in total; this would "
                                                 f"make {months(in_total):.1f} {where}")


def extend(placement: Placement, command: ExtendPlacement, earlier: list[Span],
           rules: tuple[PlacementRule, ...] = PLACEMENT_RULES) -> list[Event]:
    started = _running(placement)
    if placement.planned_end_on and command.planned_end_on <= placement.planned_end_on:
        raise RuleViolated("planned_end_on", f"an extension ends after the planned end {placement.planned_end_on}")
    if command.planned_end_on < started.starts_on:
        raise RuleViolated("planned_end_on", f"must not be before the start {started.starts_on}")
    rule = rule_in_force(started.kind, started.starts_on, rules)
    check_duration(rule, replace(placement.span, last_day=command.planned_end_on), command.planned_end_on, earlier)
    return [PlacementExtended(placement_id=started.placement_id, client_id=started.client_id,
                              planned_end_on=command.planned_end_on)]


def end(placement: Placement, command: EndPlacement) -> list[Event]:
    started = _running(placement)
    if command.ended_on < started.starts_on:
        raise RuleViolated("ended_on", f"must not be before the start {started.starts_on}")
    return [PlacementEnded(placement_id=started.placement_id, client_id=started.client_id,
                           employer_id=started.employer_id, employer_type=started.employer_type, kind=started.kind,
                           ended_on=command.ended_on, ending=command.ending)]


def _running(placement: Placement) -> PlacementStarted:
    if placement.ended:
        raise StateConflict(f"placement {placement.started.placement_id} ended on {placement.ended.ended_on}")
    return placement.started
