"""One projector per aggregate: a table row per aggregate (or per invoice), folded from its events.

The live consumer and `rebuild` both go through `fold` and then `write` (the live one by calling
`project`), so both produce the same rows; they differ only in where the rows go (`Projections`: the
live tables, or a rebuild's new ones). A row keeps the aggregate version of the last event it took:
- an event at or below that version is a duplicate and is skipped, so replays and redeliveries
  are harmless without a per-event inbox row, which keeps rebuild fast;
- where the row is the whole aggregate, an event more than one version ahead came before an
  earlier one (a relay's retried publish, a replayed dead letter) and waits in reporting's own
  database (waiting.py) until that version arrives, when it is folded with it; never applied over
  the gap, and it uses up no deliveries;
- an event that can never apply (another area's than its row, or one the fold refuses, such as a
  placement's change before the placement) is refused with the reason: the live consumer
  dead-letters it, rebuild logs it; the events after it wait.
"""
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property
from operator import itemgetter
from typing import Any

from sqlalchemy import Delete, Insert, Select, Table, bindparam, delete, func, insert, select
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
from contracts.events.payroll_billing import EmployerInvoiced
from services.platform import parking
from services.platform.consumer import Item
from services.reporting.tables import clients, invoices, openings, pathways, placements
from services.reporting.waiting import LIVE as LIVE_ROOM
from services.reporting.waiting import WaitingRoom

log = logging.getLogger(__name__)
Row = dict[str, Any]
KeyOf = Callable[[Any], str]
MAX_PADDED_KEYS = 16384  # well below the ~32k parameters SQLite and PostgreSQL take in one statement


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: cheap, and there is one of each
class Projector:
    table: Table
    key: str
    # The row after the event, without the key, area and version columns (`_fold` adds them).
    # Pure: it returns a new row, or the given row itself when the event changes nothing.
    evolve: Callable[[Row | None, Any], Row]
    # The row is keyed by the aggregate id and takes every event of it, so versions run 1, 2, 3, …
    # (report_invoices is keyed by invoice: one event of an employment each, no sequence to keep).
    follows_aggregate: bool = True

    # Built once, with the keys as one expanding parameter: an in_() built per batch would leave its
    # list of keys in a reference cycle until the garbage collector runs, and rebuild runs it rarely.
    @cached_property
    def select_keys(self) -> Select:
        return select(self.table).where(self.table.c[self.key].in_(bindparam("keys", expanding=True)))

    @cached_property
    def delete_keys(self) -> Delete:
        return delete(self.table).where(self.table.c[self.key].in_(bindparam("keys", expanding=True)))

    @cached_property
    def columns(self) -> list[str]:
        return [column.name for column in self.table.columns]

    @cached_property
    def insert_from_json(self) -> Insert:
        """SQLite: the rows as one JSON array of arrays, unpacked by SQLite itself.

        sqlite3 binds each row of an executemany holding Python's GIL and steps it without, so a row
        costs two hand-overs of the GIL; while rebuild decodes the next batch on the main thread,
        each hand-over waits for Python's switch interval and the writes crawl. One parameter and
        one step let the whole insert run without the GIL, beside the decoding.
        """
        rows = func.json_each(bindparam("rows")).table_valued("value")
        values = [func.json_extract(rows.c.value, f"$[{index}]") for index in range(len(self.columns))]
        return insert(self.table).from_select(self.columns, select(*values).select_from(rows))


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


def _invoice(_row: Row | None, event: EmployerInvoiced) -> Row:
    return {"employer_id": str(event.employer_id),
            "hundredths_of_hours": int(event.hours * 100), "amount_cents": int(event.amount * 100),
            "issued_on": event.issued_on}


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


CLIENTS = Projector(clients, "client_id", _client)
PLACEMENTS = Projector(placements, "placement_id", _placement)
INVOICES = Projector(invoices, "invoice_id", _invoice, follows_aggregate=False)
OPENINGS = Projector(openings, "opening_id", _opening)
PATHWAYS = Projector(pathways, "pathway_id", _pathway)
PATHWAY_EVENTS = (PathwayPlanned, PathwayGoalSet, StepPlanned, StepStarted, StepCompleted, StepInterrupted,
                  StepCancelled, StepExtended, PathwayClosed)

CLIENT_EVENTS = (ClientReferred, EntryFactsRecorded, EntryFactsCorrected, EligibilityAssessed, ClientEnrolled,
                 CaseWorkerAssigned, SkillTagsRecorded, ClientExited, SixMonthFollowUpRecorded, ClientDataErased,
                 ConsentRecorded, ConsentWithdrawn)
PROJECTORS: dict[type[Event], tuple[Projector, KeyOf]] = {
    **{event_type: (CLIENTS, lambda event: str(event.client_id)) for event_type in CLIENT_EVENTS},
    PlacementStarted: (PLACEMENTS, lambda event: str(event.placement_id)),
    GigJobPooled: (PLACEMENTS, lambda event: str(event.placement_id)),
    PlacementExtended: (PLACEMENTS, lambda event: str(event.placement_id)),
    PlacementEnded: (PLACEMENTS, lambda event: str(event.placement_id)),
    **{event_type: (OPENINGS, lambda event: str(event.opening_id))
       for event_type in (OpeningRegistered, OpeningFilled, OpeningWithdrawn, OpeningExpired)},
    **{event_type: (PATHWAYS, lambda event: str(event.pathway_id)) for event_type in PATHWAY_EVENTS},
    EmployerInvoiced: (INVOICES, lambda event: str(event.invoice_id)),
}
HANDLED_TYPES = {cls.__name__ for cls in PROJECTORS}


@dataclass(frozen=True)
class Projections:
    """Where events are projected: the projector (and its row's key) per event type, and the room where
    events wait for an earlier version. `LIVE` writes the live tables; a rebuild writes new ones `into`."""

    projectors: Mapping[type[Event], tuple[Projector, KeyOf]]
    waiting: WaitingRoom

    def into(self, tables: Mapping[Table, Table], waiting: WaitingRoom) -> "Projections":
        """The same projections writing `tables[live table]` instead, with events waiting in `waiting`."""
        moved = {projector: replace(projector, table=tables[projector.table])
                 for projector, _ in self.projectors.values()}
        return Projections({event_type: (moved[projector], key_of)
                            for event_type, (projector, key_of) in self.projectors.items()}, waiting)


LIVE = Projections(PROJECTORS, WaitingRoom(LIVE_ROOM))


@dataclass
class Folded:
    """What `fold` made of a batch, for `write`: per projector the changed rows and the keys of those
    already stored (deleted before the rows are inserted anew); the events that now wait (key, envelope,
    reason) and those that waited and are folded now (key, event id); and the refused events, with why."""

    waiting: WaitingRoom
    rows: dict[Projector, list[Row]] = field(default_factory=dict)
    replaced: dict[Projector, list[str]] = field(default_factory=dict)
    park: list[tuple[str, EventEnvelope, str]] = field(default_factory=list)
    release: list[tuple[str, str]] = field(default_factory=list)
    refused: list[tuple[Item, str]] = field(default_factory=list)


# (row key, aggregate version, envelope, event, already in the waiting room): tuples, made per event in a
# rebuild of millions.
Pending = tuple[str, int, EventEnvelope, Event, bool]


async def project(connection: AsyncConnection, items: Sequence[Item], projections: Projections = LIVE) -> Folded:
    """Apply events; what waits is in the waiting room, what can never apply is in `refused`."""
    folded = await fold(connection, items, projections)
    await write(connection, folded)
    return folded


async def fold(connection: AsyncConnection, items: Sequence[Item], projections: Projections = LIVE) -> Folded:
    """Reads only: the events waiting for the keys the batch touches, then per projector one SELECT of the
    rows, and the fold in memory."""
    by_projector: dict[Projector, list[Pending]] = {}
    for envelope, event in items:
        projector, key_of = projections.projectors[type(event)]
        by_projector.setdefault(projector, []).append((key_of(event), envelope.aggregateversion, envelope, event,
                                                       False))
    if projections.waiting.may_hold_any:
        keys = {item[0] for pending in by_projector.values() for item in pending}
        if parked := await projections.waiting.waiting_for(connection, keys):
            _take_waiting(by_projector, parked, projections)
    folded = Folded(projections.waiting)
    for projector, pending in by_projector.items():
        await _fold(connection, projector, pending, folded)
    return folded


def _take_waiting(by_projector: dict[Projector, list[Pending]], parked: list[parking.Parked],
                  projections: Projections) -> None:
    """The waiting events join the batch; a copy of one that arrived again (a replayed dead letter, or one
    a rebuild swapped in had parked already) is left out."""
    waiting_ids = {entry.event_id for entry in parked}
    for projector, pending in by_projector.items():
        by_projector[projector] = [item for item in pending if str(item[2].id) not in waiting_ids]
    for entry in parked:
        event = decode(entry.envelope)
        by_projector.setdefault(projections.projectors[type(event)][0], []).append(
            (entry.waiting_for, entry.envelope.aggregateversion, entry.envelope, event, True))


async def write(connection: AsyncConnection, folded: Folded) -> None:
    for projector, keys in folded.replaced.items():
        await connection.execute(projector.delete_keys, {"keys": _padded(keys)})
    for projector, rows in folded.rows.items():
        if connection.dialect.name == "sqlite":
            document = json.dumps([[row[name] for name in projector.columns] for row in rows], default=_iso_date)
            await connection.execute(projector.insert_from_json, {"rows": document})
        else:
            await connection.execute(insert(projector.table), rows)
    if folded.park or folded.release:
        await folded.waiting.write(connection, folded.park, folded.release)


def _iso_date(value: Any) -> str:
    """A date as SQLAlchemy stores it in SQLite; any other value JSON cannot hold is a mistake in an evolve."""
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"a projection row holds {type(value).__name__}, which the row's JSON cannot carry")


async def _fold(connection: AsyncConnection, projector: Projector, pending: list[Pending], folded: Folded) -> None:
    existing = await connection.execute(projector.select_keys, {"keys": _padded(list({item[0] for item in pending}))})
    rows: dict[str, Row] = {row[projector.key]: dict(row) for row in existing.mappings()}
    stored = list(rows)
    changed: dict[str, Row] = {}
    parking_now: set[str] = set()  # a copy of an event within the batch waits once
    # By version: of one aggregate's events, an earlier one may have come later.
    for key, version, envelope, event, waiting in sorted(pending, key=itemgetter(1)):
        row = rows.get(key)
        seen = row["version"] if row is not None else 0
        if version <= seen:  # a duplicate, or one that waited and was applied by a rebuild swapped in since
            if waiting:
                folded.release.append((key, str(envelope.id)))
            continue
        if projector.follows_aggregate and version != seen + 1:
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
            row = projector.evolve(row, event)
        except Exception as error:  # the fold is pure: what it refuses once, it refuses every time
            _refuse((envelope, event), waiting, f"{type(error).__name__}: {error}", folded)
            continue
        row[projector.key], row["employment_area"], row["version"] = key, envelope.employmentarea, version
        rows[key] = changed[key] = row
        if waiting:
            folded.release.append((key, str(envelope.id)))
    if changed:
        folded.rows[projector] = list(changed.values())
    if replaced := [key for key in stored if key in changed]:
        folded.replaced[projector] = replaced


def _refuse(item: Item, waiting: bool, reason: str, folded: Folded) -> None:
    """An event taken from a message is refused to its caller; one that was waiting already (its message
    acked long ago) stays in the waiting room, where the operators find it, and the log says why."""
    if waiting:
        envelope = item[0]
        log.error("a waiting event can never apply; it stays in the waiting room", extra={
            "event_id": str(envelope.id), "event_type": envelope.type, "reason": reason})
    else:
        folded.refused.append((item, reason))


def _padded(keys: list[str]) -> list[str]:
    """The keys, the first one repeated up to a power of two: IN renders a placeholder per key, and the
    database driver keeps a prepared statement per distinct SQL text (sqlite3 keeps 128). With every
    batch's own length, those statements of thousands of placeholders took ~30 MB in a long rebuild."""
    size = 1 << (len(keys) - 1).bit_length()
    return keys if size > MAX_PADDED_KEYS else keys + keys[:1] * (size - len(keys))
