"""The row the municipal share's tally is kept from (report_share_inputs): a client's latest referral, its
entry facts and exit, and their placements, from the Client and Placement aggregates in any order.

Each column is set by a rule that does not depend on order (projections.py): the referral of the highest
period; the entry facts and the exit of the highest (period, client version), the report taking them only
when their period is the referral's, as report_clients does; a placement's kind and first day from its
PlacementStarted, its last day from its PlacementEnded. So live and rebuild come to the same row and cells.
"""
from datetime import date
from typing import Any

from contracts.events.base import Event
from contracts.events.employer import PlacementEnded, PlacementStarted
from contracts.events.intake import ClientExited, ClientReferred, EntryFactsCorrected, EntryFactsRecorded
from services.reporting.rules.municipal_share import work_and_exit_cut
from services.reporting.rules.share_cells import client_cells
from services.reporting.rules.share_grid import share_grid

SHARE_INPUT_EVENTS = (ClientReferred, EntryFactsRecorded, EntryFactsCorrected, ClientExited, PlacementStarted,
                      PlacementEnded)
Row = dict[str, Any]
EMPTY = {"period": None, "referred_on": None, "facts_period": None, "facts_version": None,
         "subsidy_days_at_entry": None, "exit_period": None, "exit_version": None, "exited_on": None,
         "exit_status": None, "placements": ""}


def share_input_row(row: Row | None, event: Event, version: int) -> Row:
    row = row or dict(EMPTY)
    match event:
        case ClientReferred() if row["period"] is None or event.period >= row["period"]:
            return row | {"period": event.period, "referred_on": event.referred_on}
        case EntryFactsRecorded() | EntryFactsCorrected() if _later(event.period, version, row["facts_period"],
                                                                    row["facts_version"]):
            return row | {"facts_period": event.period, "facts_version": version,
                          "subsidy_days_at_entry": event.facts.labour_market_subsidy_days}
        case ClientExited() if _later(event.period, version, row["exit_period"], row["exit_version"]):
            return row | {"exit_period": event.period, "exit_version": version, "exited_on": event.exited_on,
                          "exit_status": event.status_at_exit}
        case PlacementStarted():
            _, _, last = _placements(row["placements"]).get(str(event.placement_id), (None, None, None))
            return row | {"placements": _with(row["placements"], str(event.placement_id), event.kind,
                                              event.starts_on, last)}
        case PlacementEnded():
            _, first, _ = _placements(row["placements"]).get(str(event.placement_id), (None, None, None))
            return row | {"placements": _with(row["placements"], str(event.placement_id), event.kind, first,
                                              event.ended_on)}
        case ClientReferred() | EntryFactsRecorded() | EntryFactsCorrected() | ClientExited():
            return row  # of an earlier period, or older than what the row has
    raise TypeError(type(event).__name__)


def _later(period: int, version: int, row_period: int | None, row_version: int | None) -> bool:
    return row_period is None or (period, version) > (row_period, row_version)


def _placements(text: str) -> dict[str, tuple[str, date | None, date | None]]:
    placements = {}
    for entry in filter(None, text.split(";")):
        placement_id, kind, first, last = entry.split(" ")
        placements[placement_id] = (kind, date.fromisoformat(first) if first != "-" else None,
                                    date.fromisoformat(last) if last != "-" else None)
    return placements


def _with(text: str, placement_id: str, kind: str, first: date | None, last: date | None) -> str:
    placements = _placements(text) | {placement_id: (kind, first, last)}
    return "".join(f"{key} {kind} {first.isoformat() if first else '-'} {last.isoformat() if last else '-'};"
                   for key, (kind, first, last) in sorted(placements.items()))


def share_cells_of(row: Row) -> list | None:
    """The client's cells in report_share_tally, keyed by area and the rules' fingerprint first."""
    grid = share_grid()
    period, days = row["period"], row["subsidy_days_at_entry"]
    if grid is None or period is None or days is None or row["facts_period"] != period:
        return None
    exited = row["exit_period"] == period
    rules = grid.rules
    paid_work = [(first, last) for kind, first, last in _placements(row["placements"]).values()
                 if kind in rules.paid_work_kinds and first is not None] if row["placements"] else []
    work, exit_cut = work_and_exit_cut(rules, row["exited_on"] if exited else None,
                                       row["exit_status"] if exited else None, paid_work)
    head = (row["employment_area"], grid.fingerprint)
    return [(head + key, amounts) for key, amounts in client_cells(grid, row["referred_on"], days, exit_cut, work)]
