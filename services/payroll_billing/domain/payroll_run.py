"""The PayrollRun aggregate: one run per pay period computes each employment's line (gross wage,
holiday compensation, expense allowance, the employer's statutory contributions) and the run's totals.

Lines are personal data: they stay in payroll's own database; the event carries the totals only.
Rounding: each amount of a line is rounded to the cent once, half up, where it is computed;
totals are sums of rounded lines. Net pay, tax withholding and the Incomes Register are out of scope.
"""
import calendar
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, model_validator

from contracts.events.base import Event
from contracts.events.payroll_billing import PayrollRunClosed
from services.payroll_billing.domain.money import cents
from services.payroll_billing.domain.rules import tables
from services.platform.errors import RuleViolated, StateConflict
from services.platform.event_store import AggregateKind

RULES = tables("payroll_rules.yaml") | tables("employment_rules.yaml")
CONTRIBUTIONS = ("pension", "unemployment_insurance", "accident_insurance", "health_insurance")
HUNDRED = Decimal(100)


class StartPayrollRun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pay_period: Literal["month", "two_weeks"]
    period_start: date
    period_end: date
    corrects_run_id: UUID | None = None

    @model_validator(mode="after")
    def period_fits_pay_period(self) -> "StartPayrollRun":
        if self.pay_period == "month":
            last = calendar.monthrange(self.period_start.year, self.period_start.month)[1]
            if self.period_start.day != 1 or self.period_end != self.period_start.replace(day=last):
                raise ValueError("a monthly run is for one calendar month, from its first day to its last")
        elif self.period_end - self.period_start != timedelta(days=13):
            raise ValueError("a two-week run is for 14 days, period_end 13 days after period_start")
        return self


@dataclass(frozen=True)
class PayrollFacts:
    """What payroll knows of one employment (or attendance) for a run."""

    employment_id: UUID
    client_id: UUID
    pays_wage: bool
    starts_on: date | None
    wages: tuple[tuple[date, Decimal], ...] = ()  # (valid from, hourly wage), in date order

    def wage_on(self, day: date) -> Decimal:
        in_force = [wage for valid_from, wage in self.wages if valid_from <= day]
        if not in_force:
            raise RuleViolated("wage_terms", f"employment {self.employment_id} has no wage terms in force on {day}")
        return in_force[-1]


@dataclass(frozen=True)
class PayrollLine:
    employment_id: UUID
    client_id: UUID
    hours: Decimal
    attendance_days: int
    gross_wage: Decimal
    holiday_compensation: Decimal
    expense_allowance: Decimal
    pension: Decimal
    unemployment_insurance: Decimal
    accident_insurance: Decimal
    health_insurance: Decimal
    rules: tuple[str, ...]

    @property
    def employer_contributions(self) -> Decimal:
        return self.pension + self.unemployment_insurance + self.accident_insurance + self.health_insurance

    @property
    def wage_costs(self) -> Decimal:
        return self.gross_wage + self.holiday_compensation + self.employer_contributions

    def plus(self, other: "PayrollLine", sign: int = 1) -> "PayrollLine":
        amounts = {name: getattr(self, name) + sign * getattr(other, name)
                   for name in ("hours", "gross_wage", "holiday_compensation", "expense_allowance", *CONTRIBUTIONS)}
        return replace(self, attendance_days=self.attendance_days + sign * other.attendance_days, **amounts)

    def minus(self, other: "PayrollLine") -> "PayrollLine":
        return self.plus(other, -1)


def payroll_line(facts: PayrollFacts, days: Sequence[tuple[date, Decimal]], paid_on: date) -> PayrollLine:
    """One employment's line from its approved days (date, hours) in the run's period."""
    hours = sum((hours for _, hours in days), Decimal(0))
    if not facts.pays_wage:
        rule = RULES["expense_allowance"].in_force(paid_on, "period_end")
        allowance = cents(rule.decimal("per_day") * len({day for day, _ in days}))
        return PayrollLine(facts.employment_id, facts.client_id, hours, len({day for day, _ in days}), Decimal(0),
                           Decimal(0), allowance, *(Decimal(0),) * 4, (rule.label,))
    earned = [(day, hours, hours * facts.wage_on(day)) for day, hours in days]
    gross = cents(sum((amount for _, _, amount in earned), Decimal(0)))
    holiday, holiday_rules = _holiday_compensation(facts, earned)
    contributions_rule = RULES["employer_contributions"].in_force(paid_on, "period_end")
    base = gross + holiday
    contributions = [cents(base * contributions_rule.decimal(name) / HUNDRED) for name in CONTRIBUTIONS]
    return PayrollLine(facts.employment_id, facts.client_id, hours, 0, gross, holiday, Decimal(0), *contributions,
                       (*holiday_rules, contributions_rule.label))


def _holiday_compensation(facts: PayrollFacts,
                          earned: Sequence[tuple[date, Decimal, Decimal]]) -> tuple[Decimal, tuple[str, ...]]:
    """In a calendar month of fewer than 14 days worked and fewer than 35 hours, holiday compensation
    (9 %, 11.5 % once the employment has lasted a year) on that month's wage (Annual Holidays Act s. 16).
    `earned`: (day, hours, wage earned) of each day."""
    by_month: dict[tuple[int, int], list[tuple[date, Decimal, Decimal]]] = defaultdict(list)
    for day in earned:
        by_month[(day[0].year, day[0].month)].append(day)
    total, used = Decimal(0), []
    for month_days in by_month.values():
        last_day = max(day for day, _, _ in month_days)
        rule = RULES["holiday_compensation"].in_force(last_day, "period_end")
        hours = sum(hours for _, hours, _ in month_days)
        days_worked = len({day for day, _, _ in month_days})
        if days_worked >= rule.values["full_month_days"] or hours >= rule.values["full_month_hours"]:
            continue  # a full holiday credit month: holidays accrue instead
        lasted_a_year = facts.starts_on is not None and _add_years(facts.starts_on, 1) <= last_day
        percent = rule.decimal("percent_after_a_year" if lasted_a_year else "percent")
        total += cents(sum(amount for _, _, amount in month_days) * percent / HUNDRED)
        used.append(f"{rule.label}: {percent} %")
    return total, tuple(dict.fromkeys(used))


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class PayrollRun:
    closed: PayrollRunClosed | None = None


def evolve(run: PayrollRun, event: Event) -> PayrollRun:
    if isinstance(event, PayrollRunClosed):
        return replace(run, closed=event)
    return run


PAYROLL_RUN = AggregateKind("PayrollRun", PayrollRun(), evolve)


def paid(lines: Iterable[PayrollLine]) -> list[PayrollLine]:
    """Per employment, what a run and its corrections paid together."""
    total: dict[UUID, PayrollLine] = {}
    for line in lines:
        total[line.employment_id] = total[line.employment_id].plus(line) if line.employment_id in total else line
    return list(total.values())


def close(run_id: UUID, command: StartPayrollRun, lines: Iterable[PayrollLine], corrected: PayrollRunClosed | None,
          corrected_lines: Sequence[PayrollLine] = ()) -> tuple[list[Event], list[PayrollLine]]:
    """The run's event and its lines; a correcting run's lines are the differences to what the corrected
    run and its earlier corrections paid (`corrected_lines`, see `paid`)."""
    lines = list(lines)
    if command.corrects_run_id is not None:
        if corrected is None:
            raise RuleViolated("corrects_run_id", f"no payroll run {command.corrects_run_id}")
        if (corrected.pay_period, corrected.period_start, corrected.period_end) != (
                command.pay_period, command.period_start, command.period_end):
            raise RuleViolated("corrects_run_id", "a correcting run is for the corrected run's pay period")
        before = {line.employment_id: line for line in corrected_lines}
        lines = [line.minus(before[line.employment_id]) if line.employment_id in before else line for line in lines]
        lines += [_zero(line).minus(line) for line in corrected_lines
                  if line.employment_id not in {new.employment_id for new in lines}]
        lines = [line for line in lines if line.hours or line.gross_wage or line.expense_allowance
                 or line.holiday_compensation or line.employer_contributions or line.attendance_days]
    rules = tuple(dict.fromkeys(rule for line in lines for rule in line.rules))
    event = PayrollRunClosed(
        run_id=run_id, pay_period=command.pay_period, period_start=command.period_start, period_end=command.period_end,
        corrects_run_id=command.corrects_run_id, employments=len(lines),
        gross_wages=sum((line.gross_wage for line in lines), Decimal("0.00")),
        holiday_compensation=sum((line.holiday_compensation for line in lines), Decimal("0.00")),
        expense_allowances=sum((line.expense_allowance for line in lines), Decimal("0.00")),
        employer_contributions=sum((line.employer_contributions for line in lines), Decimal("0.00")),
        rules=rules)
    return [event], lines


def refuse_second_run(existing_run_id: UUID | None, command: StartPayrollRun) -> None:
    """A closed run is corrected only by a correcting run, never by a second ordinary run."""
    if existing_run_id is not None and command.corrects_run_id is None:
        raise StateConflict(f"the {command.pay_period} run for {command.period_start}–{command.period_end} is closed "
                            f"(run {existing_run_id}); correct it with a correcting run (corrects_run_id)")


def _zero(line: PayrollLine) -> PayrollLine:
    return replace(line, hours=Decimal(0), attendance_days=0, gross_wage=Decimal(0),
                   holiday_compensation=Decimal(0), expense_allowance=Decimal(0),
                   **{name: Decimal(0) for name in CONTRIBUTIONS})
