"""Projectors: a table row per aggregate, folded from its events (and a row per client's enrolment period).

A row that follows its aggregate (keyed by the aggregate id, taking every event of it) and one that
takes only some of its events in any order are folded alike by the live consumer and `rebuild`: both
go through `fold` and then `write` (the live one by calling `project`), so both produce the same rows;
they differ only in where the rows go (`Projections`: the live tables, or a rebuild's new ones). A row
that follows its aggregate keeps the aggregate version of the last event it took:
- an event at or below that version is a duplicate and is skipped, so replays and redeliveries
  are harmless without a per-event inbox row, which keeps rebuild fast;
- an event more than one version ahead came before an earlier one (a relay's retried publish, a
  replayed dead letter) and waits in reporting's own database (waiting.py) until that version
  arrives, when it is folded with it; never applied over the gap, and it uses up no deliveries;
- an event that can never apply (another area's than its row, or one the fold refuses, such as a
  placement's change before the placement) is refused with the reason: the live consumer
  dead-letters it, rebuild logs it; the events after it wait.
A row that takes only some of an aggregate's events (report_client_periods, report_first_placements)
sets each column by a rule that does not depend on order, so it takes them in any order and again
without harm: such events never wait. An event refused by its aggregate's row changes none of them.
Tallies count rows as they change (the stored row's group loses it, the new row's gains it): an event
that waits has changed no row, so it is counted when it is folded, once.
"""
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cached_property
from operator import itemgetter
from typing import Any

from sqlalchemy import Delete, Insert, Select, Table, delete, insert, literal_column, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.envelope import EventEnvelope
from contracts.registry import decode
from contracts.events.base import Event
from contracts.events.employer import (GigJobPooled, OpeningExpired, OpeningFilled, OpeningRegistered, OpeningWithdrawn,
                                      PlacementEnded, PlacementExtended, PlacementStarted)
from contracts.events.intake import (CaseWorkerAssigned, ClientDataErased, ClientEnrolled, ClientExited,
                                     ClientReferred, ConsentRecorded, ConsentWithdrawn, EligibilityAssessed,
                                     EntryFactsCorrected, EntryFactsRecorded, SixMonthFollowUpRecorded,
                                     SkillTagsRecorded)
from contracts.events.pathway import (PathwayClosed, PathwayGoalSet, PathwayPlanned, StepCancelled, StepCompleted,
                                      StepExtended, StepInterrupted, StepPlanned, StepStarted)
from contracts.events.payroll_billing import (EmployerInvoiced, InvoiceCredited, InvoiceOverdue,
                                              MunicipalSupplementClaimed, PaymentReceived, PayrollRunClosed,
                                              PaySubsidyClaimed, ReminderSent)
from services.platform import parking
from services.platform.among import among
from services.platform.consumer import Item
from services.reporting import sqlite_rows
from services.reporting.rules import esf
from services.reporting.share_inputs import SHARE_INPUT_EVENTS, share_cells_of, share_input_row
from services.reporting.tables import (client_periods, client_tally, clients, enrolment_tally, esf_tally,
                                       first_placement_tally, first_placements, hire_tally, invoice_tally, invoices,
                                       leaving_tally, opening_tally, openings, pathways, payroll_runs, placement_tally,
                                       placements, share_inputs, share_tally, subsidy_claims)
from services.reporting.waiting import LIVE as LIVE_ROOM
from services.reporting.waiting import WaitingRoom
from services.reporting.written_keys import WrittenKeys

log = logging.getLogger(__name__)
Row = dict[str, Any]
# PostgreSQL: transaction locks on names, taken in the order given (sorted by the caller, so no deadlock).
ADVISORY_LOCKS = text("SELECT pg_advisory_xact_lock(hashtext(name)) FROM unnest(CAST(:names AS text[])) "
                      "WITH ORDINALITY AS names(name, position) ORDER BY position")
MAX_PADDED_KEYS = 16384  # well below the ~32k parameters SQLite and PostgreSQL take in one statement


@dataclass(frozen=True, eq=False)
class Tally:
    """Counts of a projector's rows per group (an area, a day, categories), kept as the rows change: the
    old row's group loses its amounts and the new row's group gains them. Live and rebuild fold the
    same rows, so they end in the same counts; a report reads a few rows per day, not every row."""

    table: Table  # its primary key is the group; every other column is an amount, the first the number of rows
    # The key columns' values, none of them None (None: not counted); a list: the row counts in each group.
    group: Callable[[Row], tuple | list[tuple] | None]
    # None: `group` gives each group its own amounts, as a list of (group, amounts).
    amounts: Callable[[Row], tuple[int, ...]] | None

    @cached_property
    def key_columns(self) -> list[str]:
        return [column.name for column in self.table.primary_key.columns]

    @cached_property
    def amount_columns(self) -> list[str]:
        return [column.name for column in self.table.columns if not column.primary_key]

    @cached_property
    def upsert(self) -> Insert:
        """PostgreSQL's; SQLite's is written by sqlite_rows, a statement per many groups."""
        statement = postgresql_insert(self.table)
        return statement.on_conflict_do_update(index_elements=self.key_columns, set_={
            name: self.table.c[name] + statement.excluded[name] for name in self.amount_columns})

    @cached_property
    def delete_empty(self) -> Delete:
        """A group whose last row left it goes, as a rebuild that never saw the row there would not have it.
        Found by the tally's index of empty groups (tables.EMPTY_GROUPS), which takes this literal 0: without
        it, the whole tally was scanned in every batch that moved a row out of a group (4 ms at 50,000
        share cells after 100,000 events, growing with the tally), live batches too."""
        return delete(self.table).where(self.table.c[self.amount_columns[0]] == literal_column("0"))

    def parts(self, row: Row) -> list[tuple[tuple, tuple[int, ...]]]:
        """The groups the row counts in, with its amounts: tuples, compared and hashed to count only the parts a
        change alters (`_difference`)."""
        if (group := self.group(row)) is None:
            return []
        if self.amounts is None:
            return group
        amounts = self.amounts(row)
        return [(one, amounts) for one in group] if isinstance(group, list) else [(group, amounts)]


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: cheap, and there is one of each
class Projector:
    table: Table
    key: str
    # The row after the event, without the key, area and version columns (`_fold` adds them).
    # Pure: it returns a new row, or the given row itself when the event changes nothing.
    evolve: Callable[[Row | None, Any], Row]
    # The row is keyed by the aggregate id and takes every event of it, so versions run 1, 2, 3, …
    # Otherwise the row takes some of an aggregate's events in any order: `evolve` sets each column from
    # one event only, so folding an event again, or before an earlier one, comes to the same row.
    follows_aggregate: bool = True
    # The event's version in the row's sequence: the envelope's, unless an event was once written by
    # another aggregate (see INVOICES).
    version_of: Callable[[EventEnvelope], int] = lambda envelope: envelope.aggregateversion
    tallies: tuple[Tally, ...] = ()
    # `evolve` takes the event's version too (row, event, version): an order-free row may keep the latest of
    # one aggregate's events by it.
    takes_version: bool = False

    # Built once, with the keys as one parameter: an in_() built per batch would leave its list of keys
    # in a reference cycle until the garbage collector runs, and rebuild runs it rarely.
    @cached_property
    def select_keys(self) -> Select:
        return select(self.table).where(among(self.table.c[self.key], "keys"))

    @cached_property
    def select_keys_locking(self) -> Select:
        """PostgreSQL: the rows locked until commit, in key order. Two instances sharing the database may
        fold the same row at once; without the lock the later writer replaces what the earlier committed
        with its fold of the row before it (a lost change in an order-free row, a tally counted twice)."""
        return self.select_keys.order_by(self.table.c[self.key]).with_for_update()

    @cached_property
    def delete_keys(self) -> Delete:
        return delete(self.table).where(among(self.table.c[self.key], "keys"))

    @cached_property
    def columns(self) -> list[str]:
        return [column.name for column in self.table.columns]


# A referral opens a period: its entry facts, exit and follow-up are unknown until their events come.
# The row keeps the latest period only; events of an earlier period change nothing.
PERIOD_FACTS_UNKNOWN = dict.fromkeys(("subsidy_days_at_entry", "labour_market_status", "education_level",
                                     "disability", "migrant_or_minority", "other_disadvantage", "exited_on",
                                     "exit_status", "exit_status_on", "qualification_gained", "six_month_status"))


def _client(row: Row | None, event: Event) -> Row:
    if row is None and not isinstance(event, ClientReferred):
        raise LookupError(f"{type(event).__name__} for client {event.client_id} came before its ClientReferred")
    match event:
        case ClientReferred():
            return {"municipality": event.municipality, "age_band": event.age_band, "gender": event.gender,
                    "status": "referred", "eligibility_criterion": None, "referred_on": event.referred_on,
                    "enrolled_on": None, **PERIOD_FACTS_UNKNOWN, "programme": event.programme, "period": event.period}
        case EligibilityAssessed():
            status = row["status"] if event.eligible else "not_eligible"
            return row | {"status": status, "eligibility_criterion": event.criterion}
        case ClientEnrolled():
            return row | {"status": "enrolled", "enrolled_on": event.enrolled_on}
        case EntryFactsRecorded() | EntryFactsCorrected() if event.period == row["period"]:
            facts = event.facts
            return row | {"subsidy_days_at_entry": facts.labour_market_subsidy_days,
                          "labour_market_status": facts.labour_market_status, "education_level": facts.education_level,
                          "disability": facts.disability, "migrant_or_minority": facts.migrant_or_minority,
                          "other_disadvantage": facts.other_disadvantage}
        case ClientExited() if event.period == row["period"]:
            return row | {"status": "exited", "exited_on": event.exited_on, "exit_status": event.status_at_exit,
                          "exit_status_on": event.status_on, "qualification_gained": event.qualification_gained}
        case SixMonthFollowUpRecorded() if event.period == row["period"]:
            return row | {"six_month_status": event.status}
        case (ClientDataErased() | ConsentRecorded() | ConsentWithdrawn() | EntryFactsRecorded()
              | EntryFactsCorrected() | CaseWorkerAssigned() | SkillTagsRecorded() | ClientExited()
              | SixMonthFollowUpRecorded()):
            # Nothing a report counts (erasure leaves the anonymous facts as they were; a fact of an earlier
            # period is not the row's). Taken all the same, so the row's version follows the client's.
            return row
    raise TypeError(type(event).__name__)


def _period_key(event: ClientReferred | ClientEnrolled | ClientExited) -> str:
    return f"{event.client_id}:{event.period}"


def _client_period(row: Row | None, event: ClientReferred | ClientEnrolled | ClientExited) -> Row:
    """Each column from one event of the period, whichever came first."""
    row = row or {"client_id": str(event.client_id), "period": event.period, "programme": None, "referred_on": None,
                  "enrolled_on": None, "exited_on": None, "exit_status": None}
    match event:
        case ClientReferred():
            return row | {"programme": event.programme, "referred_on": event.referred_on}
        case ClientEnrolled():
            return row | {"enrolled_on": event.enrolled_on}
        case ClientExited():
            return row | {"exited_on": event.exited_on, "exit_status": event.status_at_exit}
    raise TypeError(type(event).__name__)


def _placement(row: Row | None, event: Event) -> Row:
    match event:
        case PlacementStarted():
            return {"client_id": str(event.client_id), "employer_id": str(event.employer_id),
                    "employer_type": event.employer_type, "kind": event.kind,
                    "starts_on": event.starts_on, "planned_end_on": event.planned_end_on, "ended_on": None,
                    "ending": None, "gig_hundredths_of_hours": None}
        case PlacementExtended():
            return row | {"planned_end_on": event.planned_end_on}
        case PlacementEnded():
            return row | {"ended_on": event.ended_on, "ending": event.ending}
        case GigJobPooled():
            return row | {"gig_hundredths_of_hours": sum(int(task.hours * 100) for task in event.tasks)}
    raise TypeError(type(event).__name__)


def _cents(euros: Decimal) -> int:
    return int(euros * 100)


def _invoice(row: Row | None, event: Event) -> Row:
    match event:
        case EmployerInvoiced():
            row = {"employer_id": str(event.employer_id), "hundredths_of_hours": int(event.hours * 100),
                   "amount_cents": _cents(event.amount), "issued_on": event.issued_on,
                   "total_cents": _cents(event.total), "due_on": event.due_on, "credited_cents": 0,
                   "credited_total_cents": 0, "paid_cents": 0, "overdue_on": None, "reminders": 0}
        case InvoiceCredited():
            row = row | {"credited_cents": _cents(event.amount), "credited_total_cents": _cents(event.total)}
        case PaymentReceived():
            row = row | {"paid_cents": _cents(event.paid_total)}  # cumulative: the latest is the invoice's
        case InvoiceOverdue():
            row = row | {"overdue_on": event.noted_on}
        case ReminderSent():
            row = row | {"reminders": row["reminders"] + 1}
        case _:
            raise TypeError(type(event).__name__)
    return row | _settlement(row)


def _settlement(row: Row) -> Row:
    """What is open, and the part of what was paid that is income: paid up to what is payable (an
    overpayment goes back), less its VAT share (the foundation owes the VAT onwards), rounded half up."""
    payable = row["total_cents"] - row["credited_total_cents"]
    net_payable = row["amount_cents"] - row["credited_cents"]
    paid = min(row["paid_cents"], max(payable, 0))
    paid_net = (2 * paid * net_payable + payable) // (2 * payable) if payable > 0 else 0
    return {"open_cents": max(payable - row["paid_cents"], 0), "paid_net_cents": paid_net}


def _payroll_run(_row: Row | None, event: PayrollRunClosed) -> Row:
    return {"pay_period": event.pay_period, "period_start": event.period_start, "period_end": event.period_end,
            "corrects_run_id": str(event.corrects_run_id) if event.corrects_run_id else None,
            "employments": event.employments, "gross_wages_cents": _cents(event.gross_wages),
            "holiday_compensation_cents": _cents(event.holiday_compensation),
            "expense_allowances_cents": _cents(event.expense_allowances),
            "employer_contributions_cents": _cents(event.employer_contributions)}


def _subsidy_claim(_row: Row | None, event: PaySubsidyClaimed | MunicipalSupplementClaimed) -> Row:
    kind = "pay_subsidy" if isinstance(event, PaySubsidyClaimed) else "municipal_supplement"
    return {"kind": kind, "employment_id": str(event.employment_id), "period_start": event.period_start,
            "period_end": event.period_end, "amount_cents": _cents(event.amount)}


def _opening(row: Row | None, event: Event) -> Row:
    match event:
        case OpeningRegistered():
            return {"source": event.source, "registered_on": event.registered_on, "state": "open", "closed_on": None}
        case OpeningFilled():
            return row | {"state": "filled", "closed_on": event.filled_on}
        case OpeningWithdrawn():
            return row | {"state": "withdrawn", "closed_on": event.withdrawn_on}
        case OpeningExpired():
            return row | {"state": "expired", "closed_on": event.expired_on}
    raise TypeError(type(event).__name__)


def _pathway(row: Row | None, event: Event) -> Row:
    match event:
        case PathwayPlanned():
            return {"client_id": str(event.client_id), "period": event.period, "goal": event.kind,
                    "last_step_kind": None, "steps_started": 0, "closed_on": None}
        case PathwayGoalSet():
            return row | {"goal": event.goal}
        case StepStarted():
            return row | {"last_step_kind": event.step_kind, "steps_started": row["steps_started"] + 1}
        case PathwayClosed():
            return row | {"closed_on": event.closed_on}
        case StepPlanned() | StepCompleted() | StepInterrupted() | StepCancelled() | StepExtended():
            return row  # nothing a report counts yet; taken so the row's version follows the pathway
    raise TypeError(type(event).__name__)


def _first_placement(row: Row | None, event: ClientEnrolled | PlacementStarted) -> Row:
    """The latest period's enrolment day and the earliest placement start, whichever came first."""
    row = row or {"period": None, "enrolled_on": None, "first_placement_on": None}
    match event:
        case ClientEnrolled() if row["period"] is None or event.period >= row["period"]:
            return row | {"period": event.period, "enrolled_on": event.enrolled_on}
        case PlacementStarted() if row["first_placement_on"] is None or event.starts_on < row["first_placement_on"]:
            return row | {"first_placement_on": event.starts_on}
        case ClientEnrolled() | PlacementStarted():
            return row
    raise TypeError(type(event).__name__)


def _days_to_first_placement(row: Row) -> tuple | None:
    enrolled_on, first_on = row["enrolled_on"], row["first_placement_on"]
    if enrolled_on is None or first_on is None or first_on < enrolled_on:
        return None
    return row["employment_area"], enrolled_on, (first_on - enrolled_on).days


def _once(_row: Row) -> tuple[int]:
    return (1,)


def _esf_cells(row: Row) -> list[tuple] | None:
    """An enrolled client's cells: each ESF indicator that applies to them (rules/esf.py)."""
    if row["enrolled_on"] is None:
        return None
    head = (row["employment_area"], row["enrolled_on"], row["programme"] or "kemi_model")
    return [(*head, code) for code in esf.codes(
        row["gender"], row["age_band"], row["labour_market_status"], row["education_level"], row["disability"],
        row["migrant_or_minority"], row["other_disadvantage"], row["exited_on"], row["exit_status"],
        row["exit_status_on"], bool(row["qualification_gained"]), row["six_month_status"])]


CLIENTS = Projector(clients, "client_id", _client, tallies=(
    Tally(client_tally, lambda row: (row["employment_area"], row["referred_on"], row["municipality"], row["status"]),
          lambda row: (1, row["enrolled_on"] is not None)),
    Tally(esf_tally, _esf_cells, lambda row: esf.TALLIED_GENDERS[row["gender"]])))
FIRST_PLACEMENTS = Projector(first_placements, "client_id", _first_placement, follows_aggregate=False,
                             tallies=(Tally(first_placement_tally, _days_to_first_placement, _once),))
CLIENT_PERIODS = Projector(client_periods, "period_key", _client_period, follows_aggregate=False, tallies=(
    Tally(enrolment_tally, lambda row: (row["employment_area"], row["enrolled_on"]) if row["enrolled_on"] else None,
          _once),
    Tally(leaving_tally, lambda row: (row["employment_area"], row["exited_on"])
          if row["enrolled_on"] and row["exited_on"] else None, _once)))
PERIOD_EVENTS = (ClientReferred, ClientEnrolled, ClientExited)
PLACEMENTS = Projector(placements, "placement_id", _placement, tallies=(
    Tally(placement_tally, lambda row: (row["employment_area"], row["starts_on"], row["kind"], row["ending"] or "ongoing"),
          lambda row: (1, row["gig_hundredths_of_hours"] is not None, row["gig_hundredths_of_hours"] or 0)),
    Tally(hire_tally, lambda row: (row["employment_area"], row["ended_on"], row["employer_type"])
          if row["ending"] == "hired_by_employer" else None, _once)))
# EmployerInvoiced of schema version 1 was written by the Employment aggregate, with its version; it is its
# invoice's only event (the Invoice aggregate came with version 2), so it is that invoice's version 1.
INVOICES = Projector(invoices, "invoice_id", _invoice, version_of=lambda envelope: (
    envelope.aggregateversion if envelope.aggregatetype == "Invoice" else 1), tallies=(Tally(
        invoice_tally, lambda row: (row["employment_area"], row["issued_on"]),
        lambda row: (1, row["hundredths_of_hours"], row["amount_cents"], row["total_cents"], row["credited_total_cents"],
                     row["paid_cents"], row["paid_net_cents"], row["open_cents"],
                     row["open_cents"] if row["overdue_on"] else 0, row["reminders"])),))
PAYROLL_RUNS = Projector(payroll_runs, "run_id", _payroll_run)
SUBSIDY_CLAIMS = Projector(subsidy_claims, "claim_id", _subsidy_claim)
INVOICE_EVENTS = (EmployerInvoiced, InvoiceCredited, PaymentReceived, InvoiceOverdue, ReminderSent)
OPENINGS = Projector(openings, "opening_id", _opening, tallies=(Tally(
    opening_tally, lambda row: (row["employment_area"], row["registered_on"], row["source"], row["state"]), _once),))
PATHWAYS = Projector(pathways, "pathway_id", _pathway)
SHARE_INPUTS = Projector(share_inputs, "client_id", share_input_row, follows_aggregate=False, takes_version=True,
                         tallies=(Tally(share_tally, share_cells_of, None),))
PATHWAY_EVENTS = (PathwayPlanned, PathwayGoalSet, StepPlanned, StepStarted, StepCompleted, StepInterrupted,
                  StepCancelled, StepExtended, PathwayClosed)

CLIENT_EVENTS = (ClientReferred, EntryFactsRecorded, EntryFactsCorrected, EligibilityAssessed, ClientEnrolled,
                 CaseWorkerAssigned, SkillTagsRecorded, ClientExited, SixMonthFollowUpRecorded, ClientDataErased,
                 ConsentRecorded, ConsentWithdrawn)
KeyOf = Callable[[Any], str]
ONE_ROW: dict[type[Event], tuple[Projector, KeyOf]] = {
    **{event_type: (CLIENTS, lambda event: str(event.client_id)) for event_type in CLIENT_EVENTS},
    PlacementStarted: (PLACEMENTS, lambda event: str(event.placement_id)),
    GigJobPooled: (PLACEMENTS, lambda event: str(event.placement_id)),
    PlacementExtended: (PLACEMENTS, lambda event: str(event.placement_id)),
    PlacementEnded: (PLACEMENTS, lambda event: str(event.placement_id)),
    **{event_type: (OPENINGS, lambda event: str(event.opening_id))
       for event_type in (OpeningRegistered, OpeningFilled, OpeningWithdrawn, OpeningExpired)},
    **{event_type: (PATHWAYS, lambda event: str(event.pathway_id)) for event_type in PATHWAY_EVENTS},
    **{event_type: (INVOICES, lambda event: str(event.invoice_id)) for event_type in INVOICE_EVENTS},
    PayrollRunClosed: (PAYROLL_RUNS, lambda event: str(event.run_id)),
    **{event_type: (SUBSIDY_CLAIMS, lambda event: str(event.claim_id))
       for event_type in (PaySubsidyClaimed, MunicipalSupplementClaimed)},
}
# Projectors of rows that take events of several kinds, or of several aggregates, in any order.
ALSO: dict[type[Event], list[tuple[Projector, KeyOf]]] = defaultdict(list)
for event_type in PERIOD_EVENTS:
    ALSO[event_type].append((CLIENT_PERIODS, _period_key))
ALSO[ClientEnrolled].append((FIRST_PLACEMENTS, lambda event: str(event.client_id)))
ALSO[PlacementStarted].append((FIRST_PLACEMENTS, lambda event: str(event.client_id)))
for event_type in SHARE_INPUT_EVENTS:
    ALSO[event_type].append((SHARE_INPUTS, lambda event: str(event.client_id)))
# Every projector an event type goes to, with the key of its row there.
PROJECTORS: dict[type[Event], tuple[tuple[Projector, KeyOf], ...]] = {
    event_type: (one, *ALSO.get(event_type, ())) for event_type, one in ONE_ROW.items()}


Routes = tuple[tuple[Projector, KeyOf], ...]


def _waits_in(routes: Routes) -> Projector | None:
    """The row of the event's own aggregate, the only one an event waits for (the others take any order)."""
    following = [projector for projector, _ in routes if projector.follows_aggregate]
    if len(following) > 1:  # a waiting event is parked once, under one key (parked_events' primary key)
        raise ValueError(f"an event goes to {len(following)} rows that follow an aggregate; it can wait for one")
    return following[0] if following else None


@dataclass(frozen=True)
class Projections:
    """Where events are projected: the projectors (and their rows' keys) per event type, and the room where
    events wait for an earlier version. `LIVE` writes the live tables, which other reporting instances
    write too (`shared`: rows are locked as they are read); a rebuild writes new ones `into`, alone, and
    looks up only the keys it has `written` there."""

    projectors: Mapping[type[Event], Routes]
    waiting: WaitingRoom
    shared: bool = True
    written: WrittenKeys | None = None
    # Per event type, the projector a waiting event of that type is folded by when it is released.
    waits_in: Mapping[type[Event], Projector | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "waits_in", {event_type: _waits_in(routes)
                                              for event_type, routes in self.projectors.items()})

    def into(self, tables: Mapping[Table, Table], waiting: WaitingRoom) -> "Projections":
        """The same projections writing `tables[live table]` instead, tallies too, with events waiting in
        `waiting`. The tables are new (empty), and no other process writes the rows this one folds (a
        rebuild's parts share no row)."""
        moved = {projector: replace(projector, table=tables[projector.table], tallies=tuple(
            replace(tally, table=tables[tally.table]) for tally in projector.tallies))
            for routes in self.projectors.values() for projector, _ in routes}
        return Projections({event_type: tuple((moved[projector], key_of) for projector, key_of in routes)
                            for event_type, routes in self.projectors.items()}, waiting, shared=False,
                           written=WrittenKeys())


LIVE = Projections(PROJECTORS, WaitingRoom(LIVE_ROOM))


@dataclass
class Folded:
    """What `fold` made of a batch, for `write`: per projector the changed rows and the keys of those
    already stored (deleted before the rows are inserted anew; on SQLite the insert replaces them); the
    events that now wait (key, envelope, reason) and those that waited and are folded now (key, event id);
    and the refused events, with why."""

    waiting: WaitingRoom
    rows: dict[Projector, list[Row]] = field(default_factory=dict)
    replaced: dict[Projector, list[str]] = field(default_factory=dict)
    park: list[tuple[str, EventEnvelope, str]] = field(default_factory=list)
    release: list[tuple[str, str]] = field(default_factory=list)
    refused: list[tuple[Item, str]] = field(default_factory=list)
    # Per tally, per group, what the batch adds to each amount (negative where rows left the group).
    tallies: dict[Tally, dict[tuple, list[int]]] = field(default_factory=dict)


# (row key, aggregate version, envelope, event, already in the waiting room): tuples, made per event in a
# rebuild of millions.
Pending = tuple[str, int, EventEnvelope, Event, bool]


async def project(connection: AsyncConnection, items: Sequence[Item], projections: Projections = LIVE) -> Folded:
    """Apply events; what waits is in the waiting room, what can never apply is in `refused`."""
    folded = await fold(connection, items, projections)
    await write(connection, folded)
    return folded


async def fold(connection: AsyncConnection, items: Sequence[Item], projections: Projections = LIVE,
               tallies: dict[Tally, dict[tuple, list[int]]] | None = None) -> Folded:
    """Reads only: the events waiting for the keys the batch touches, then per projector one SELECT of the
    rows, and the fold in memory. `tallies`: what the batch changes in the tallies is added there (a rebuild
    counts many batches into one before it writes them); by default the batch's own."""
    by_projector: dict[Projector, list[Pending]] = {}
    for envelope, event in items:
        for projector, key_of in projections.projectors[type(event)]:
            by_projector.setdefault(projector, []).append(
                (key_of(event), projector.version_of(envelope), envelope, event, False))
    if projections.waiting.may_hold_any:
        keys = {item[0] for projector, pending in by_projector.items() if projector.follows_aggregate
                for item in pending}
        if parked := await projections.waiting.waiting_for(connection, keys):
            _take_waiting(by_projector, parked, projections)
    folded = Folded(projections.waiting, tallies={} if tallies is None else tallies)
    # The aggregates' own rows first: an event refused there changes no order-free row (nor a tally) either.
    for projector, pending in sorted(by_projector.items(), key=lambda item: not item[0].follows_aggregate):
        if not projector.follows_aggregate and folded.refused:
            refused = {envelope.id for (envelope, _), _ in folded.refused}
            pending = [item for item in pending if item[2].id not in refused]
        await _fold(connection, projector, pending, folded, projections.shared, projections.written)
    return folded


def _take_waiting(by_projector: dict[Projector, list[Pending]], parked: list[parking.Parked],
                  projections: Projections) -> None:
    """The waiting events join the batch, for their aggregate's row only (the order-free rows took them
    when they came); a copy of one that arrived again (a replayed dead letter, or one a rebuild swapped
    in had parked already) is left out of that row."""
    waiting_ids = {entry.event_id for entry in parked}
    for projector, pending in by_projector.items():
        if projector.follows_aggregate:
            by_projector[projector] = [item for item in pending if str(item[2].id) not in waiting_ids]
    for entry in parked:
        event = decode(entry.envelope)
        projector = projections.waits_in[type(event)]
        by_projector.setdefault(projector, []).append(
            (entry.waiting_for, projector.version_of(entry.envelope), entry.envelope, event, True))


async def write(connection: AsyncConnection, folded: Folded) -> None:
    if connection.dialect.name == "sqlite":
        await _write_sqlite(connection, folded)
    else:
        await _write_postgresql(connection, folded)
    for tally, changes in sorted(folded.tallies.items(), key=lambda item: item[0].table.name):
        if any(amounts[0] < 0 for amounts in changes.values()):
            await connection.execute(tally.delete_empty)
    if folded.park or folded.release:
        await folded.waiting.write(connection, folded.park, folded.release)


async def _write_sqlite(connection: AsyncConnection, folded: Folded) -> None:
    """Every row and tally group of the batch in one hand-over to the database thread on `polku rebuild`'s
    engine; on a service's engine (statements on the event loop) one after another (sqlite_rows.py). A row
    replaces the stored one in its insert (REPLACE deletes it first). The tallies' groups go unsorted:
    SQLite has one write lock for everything, and sorting a batch's groups took ~40 % of its write."""
    statements = []
    for projector, rows in folded.rows.items():
        statements += sqlite_rows.inserts(projector.table, projector.columns,
                                          list(map(itemgetter(*projector.columns), rows)), replace=True)
    for tally, changes in folded.tallies.items():
        statements += sqlite_rows.inserts(tally.table, tally.key_columns + tally.amount_columns,
                                          [group + tuple(amounts) for group, amounts in changes.items()
                                           if any(amounts)], add_on_conflict=tally.amount_columns)
    await sqlite_rows.run(connection, statements)


async def _write_postgresql(connection: AsyncConnection, folded: Folded) -> None:
    for projector, keys in folded.replaced.items():
        await connection.execute(projector.delete_keys, {"keys": _padded(keys)})
    for projector, rows in folded.rows.items():
        await connection.execute(insert(projector.table), rows)
    # Tallies and their groups in one order, so two instances sharing the database lock them alike.
    for tally, changes in sorted(folded.tallies.items(), key=lambda item: item[0].table.name):
        if groups := [(group, amounts) for group, amounts in sorted(changes.items()) if any(amounts)]:
            await connection.execute(tally.upsert, [
                dict(zip(tally.key_columns, group)) | dict(zip(tally.amount_columns, amounts))
                for group, amounts in groups])


async def _fold(connection: AsyncConnection, projector: Projector, pending: list[Pending], folded: Folded,
                shared: bool, written: WrittenKeys | None) -> None:
    keys = sorted({item[0] for item in pending})
    if written is not None:
        keys = written.among(projector, keys)
    if connection.dialect.name == "sqlite" or not shared:
        # One writer: SQLite's (a stale read fails its write), or a rebuild's alone in its new tables, where
        # an advisory lock per key would also outgrow PostgreSQL's lock table in a batch of thousands of keys.
        select_keys = projector.select_keys
    else:
        select_keys = projector.select_keys_locking
        if not projector.follows_aggregate:
            # A row no one has written yet cannot be locked: two instances would both insert it.
            await connection.execute(ADVISORY_LOCKS, {"names": [f"{projector.table.name}:{key}" for key in keys]})
    existing = (await connection.execute(select_keys, {"keys": _padded(keys)})).mappings() if keys else ()
    rows: dict[str, Row] = {row[projector.key]: dict(row) for row in existing}
    stored = list(rows)
    # Each stored row's place in the tallies, before the fold changes it.
    counted = {key: [tally.parts(row) for tally in projector.tallies] for key, row in rows.items()} \
        if projector.tallies else {}
    changed: dict[str, Row] = {}
    parking_now: set[str] = set()  # a copy of an event within the batch waits once
    # By version: of one aggregate's events, an earlier one may have come later.
    for key, version, envelope, event, waiting in sorted(pending, key=itemgetter(1)):
        row = rows.get(key)
        seen = row["version"] if row is not None else 0
        if projector.follows_aggregate:
            if version <= seen:  # a duplicate, or one that waited and was applied by a rebuild swapped in since
                if waiting:
                    folded.release.append((key, str(envelope.id)))
                continue
            if version != seen + 1:
                if not waiting and (event_id := str(envelope.id)) not in parking_now:
                    parking_now.add(event_id)
                    folded.park.append((key, envelope, f"{envelope.type} is version {version} of "
                                                       f"{envelope.aggregatetype} {envelope.aggregateid}; it waits "
                                                       f"for version {seen + 1}"))
                continue
        try:
            if row is not None and row["employment_area"] != envelope.employmentarea:
                raise ValueError(f"an event of area {envelope.employmentarea} touches {projector.table.name} row "
                                 f"{key} of area {row['employment_area']}")
            # Every row here is this call's own (read above or folded here), so the result is completed in place.
            row = projector.evolve(row, event, version) if projector.takes_version else projector.evolve(row, event)
        except Exception as error:  # the fold is pure: what it refuses once, it refuses every time
            _refuse((envelope, event), waiting, f"{type(error).__name__}: {error}", folded)
            continue
        row[projector.key], row["employment_area"], row["version"] = key, envelope.employmentarea, max(seen, version)
        rows[key] = changed[key] = row
        if waiting:
            folded.release.append((key, str(envelope.id)))
    if changed:
        folded.rows[projector] = list(changed.values())
        if written is not None:
            written.add(projector, changed)
    for index, tally in enumerate(projector.tallies):
        changes = folded.tallies.setdefault(tally, {})
        for key, row in changed.items():
            after = tally.parts(row)
            if (before := counted.get(key)) is not None:
                before, after = _difference(before[index], after)
                _count(changes, before, -1)
            _count(changes, after, 1)
    if replaced := [key for key in stored if key in changed]:
        folded.replaced[projector] = replaced


def _difference(before: list[tuple[tuple, tuple[int, ...]]], after: list[tuple[tuple, tuple[int, ...]]]) \
        -> tuple[list[tuple[tuple, tuple[int, ...]]], list[tuple[tuple, tuple[int, ...]]]]:
    """A row's parts before and after a change, less those in both, which would be counted away and back: an
    event changes few of a row's groups (a placement, a client's municipal share cells on the work side only)."""
    if before == after:
        return [], []
    before_set, after_set = set(before), set(after)
    if len(before_set) != len(before) or len(after_set) != len(after) or before_set.isdisjoint(after_set):
        return before, after  # a part twice in one of them, or none in both: counted as they are
    common = before_set & after_set
    return [part for part in before if part not in common], [part for part in after if part not in common]


def _count(changes: dict[tuple, list[int]], parts: list[tuple[tuple, tuple[int, ...]]], sign: int) -> None:
    """Adds a row's amounts to its groups' (sign 1), or takes them away (-1). Run per changed row and tally."""
    for group, amounts in parts:
        if (total := changes.get(group)) is None:
            changes[group] = [sign * amount for amount in amounts]
        else:
            for position, amount in enumerate(amounts):
                total[position] += sign * amount


def _refuse(item: Item, waiting: bool, reason: str, folded: Folded) -> None:
    """An event taken from a message is refused to its caller; one that was waiting already (its message
    acked long ago) stays in the waiting room, where the operators find it, and the log says why."""
    if waiting:
        envelope = item[0]
        log.error("a waiting event can never apply; it stays in the waiting room", extra={
            "event_id": str(envelope.id), "event_type": envelope.type, "reason": reason})
    elif all(other[0] is not item[0] for other, _ in folded.refused):  # refused by one row is enough
        folded.refused.append((item, reason))


def _padded(keys: list[str]) -> list[str]:
    """The keys, the first one repeated up to a power of two: IN renders a placeholder per key, and the
    database driver keeps a prepared statement per distinct SQL text (sqlite3 keeps 128). With every
    batch's own length, those statements of thousands of placeholders took ~30 MB in a long rebuild."""
    size = 1 << (len(keys) - 1).bit_length()
    return keys if size > MAX_PADDED_KEYS else keys + keys[:1] * (size - len(keys))


def count_rows(changes: dict[tuple, list[int]], tally: Tally, rows: Iterable[Row]) -> None:
    """Adds the rows' amounts to their groups in `changes`, as `write` takes a batch's changes: a tally
    counted from its rows alone (share_recount.py)."""
    for row in rows:
        _count(changes, tally.parts(row), 1)
