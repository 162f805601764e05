"""Append per command, Polku's unit of work beside the eventsourcing library (pyeventsourcing).

Same machine, same run, each on its own SQLite file in WAL mode: one command makes one new
aggregate with the four events of a referral (referred, entry facts, assessed, enrolled) in one transaction.
Polku goes through `UnitOfWork.create` (decide, write events and outbox, commit with
`synchronous=FULL`); eventsourcing through `Application.save` with its SQLite persistence module.
Both one command after another; Polku also with 32 callers at once, as its HTTP services take them.

Where Polku's CPU goes, by layer (`layers`): the same rows (events, their outbox rows by the trigger)
written and committed with sqlite3 alone; then through the platform's write transaction (SQLAlchemy's
async engine, the commit group, the commit on aiosqlite's thread) from envelopes made beforehand; then
the whole unit of work (envelopes, the fold of the new state).
"""
import asyncio
import sqlite3
import time
from itertools import islice
from pathlib import Path

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from services.platform.commit_groups import transaction
from services.platform.database import create_engine, migrate
from services.platform.event_store import EventStore, driver_statements
from services.platform.unit_of_work import UnitOfWork
from tests.bench.workload import changes


class Referral(Aggregate):
    @event("Referred")
    def __init__(self, area: str, municipality: str, age_band: str, gender: str, referred_on: str):
        self.area, self.municipality, self.age_band, self.gender = area, municipality, age_band, gender
        self.referred_on, self.status = referred_on, "referred"

    @event("EntryFactsRecorded")
    def record_entry_facts(self, period: int, facts: dict) -> None:
        self.period, self.facts = period, facts

    @event("Assessed")
    def assess(self, eligible: bool, criterion: str | None) -> None:
        self.status = "assessed" if eligible else "not_eligible"

    @event("Enrolled")
    def enrol(self, case_worker_id: str) -> None:
        self.status = "enrolled"


class Referrals(Application):
    pass


EVENTS = ("ClientReferred", "EntryFactsRecorded", "EligibilityAssessed", "ClientEnrolled")


def referral_changes(commands: int) -> list:
    """The bench workload's referrals of eligible clients, enrolled and no more."""
    return list(islice((change for change in changes(commands * 100, seed=4)
                        if tuple(type(event).__name__ for event in change.events) == EVENTS), commands))


async def polku(database: Path, commands: int, callers: int = 1) -> tuple[float, float]:
    """Events a second through Polku's unit of work, with `callers` sending commands at once
    (concurrent ones share commits: services/platform/commit_groups.py), and the CPU µs a command."""
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    await migrate(engine)
    waiting = referral_changes(commands)
    made = len(waiting)

    async def caller() -> None:
        while waiting:
            change = waiting.pop()
            async with UnitOfWork(engine, change.service, change.cause) as uow:
                await uow.create(change.kind, change.aggregate_id, lambda _state, c=change: c.events, area=change.area)

    try:
        started, cpu_started = time.perf_counter(), time.process_time()
        await asyncio.gather(*(caller() for _ in range(callers)))
        return len(EVENTS) * made / (time.perf_counter() - started), _cpu_us(cpu_started, made)
    finally:
        await engine.dispose()


def eventsourcing(database: Path, commands: int) -> tuple[float, float, int]:
    """Events a second through eventsourcing, the CPU µs a command, and the synchronous setting its
    connections had."""
    app = Referrals(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(database)})
    work = referral_changes(commands)
    started, cpu_started = time.perf_counter(), time.process_time()
    for change in work:
        referred, entry_facts, assessed, enrolled = change.events
        referral = Referral(change.area, referred.municipality, referred.age_band, referred.gender,
                            str(referred.referred_on))
        referral.record_entry_facts(entry_facts.period, entry_facts.facts.model_dump(mode="json"))
        referral.assess(assessed.eligible, assessed.criterion)
        referral.enrol(enrolled.case_worker_id)
        app.save(referral)
    seconds, cpu_us = time.perf_counter() - started, _cpu_us(cpu_started, len(work))
    with sqlite3.connect(database) as probe:  # a fresh connection has the library's default
        synchronous = probe.execute("PRAGMA synchronous").fetchone()[0]
    app.close()
    return len(EVENTS) * len(work) / seconds, cpu_us, synchronous


async def layers(work: Path, commands: int) -> dict[str, float]:
    """CPU µs a command (one after another) with sqlite3 alone, through the platform's transaction, and
    through the whole unit of work: each layer's cost is the difference to the one below."""
    engine = create_engine(f"sqlite+aiosqlite:///{work / 'append-layers.db'}")
    await migrate(engine)
    store = EventStore(None, "intake")
    made = [store.envelopes(change.kind, change.aggregate_id, 0, change.events, change.area, change.cause)
            for change in referral_changes(commands * 2)]
    statements = driver_statements(engine.dialect)
    rows_of = [[(str(envelope.id), envelope.aggregatetype, envelope.aggregateid, envelope.aggregateversion,
                 envelope.type, envelope.nats_subject, statements.occurred_at(envelope.time), envelope.model_dump_json())
                for envelope in envelopes] for envelopes in made[:commands]]
    try:
        driver = sqlite3.connect(work / "append-layers.db", isolation_level=None)
        driver.execute("PRAGMA synchronous=FULL")
        started = time.process_time()
        for rows in rows_of:
            driver.execute("BEGIN IMMEDIATE")
            driver.executemany(statements.append, rows)
            driver.execute("COMMIT")
        sqlite_alone = _cpu_us(started, len(rows_of))
        driver.close()
        started = time.process_time()
        for envelopes in made[commands:]:
            async with transaction(engine) as connection:
                await EventStore(connection, "intake").write(envelopes)
        platform_transaction = _cpu_us(started, len(made) - commands)
    finally:
        await engine.dispose()
    _, unit_of_work = await polku(work / "append-layers-unit.db", commands)
    return {"sqlite3_alone": round(sqlite_alone), "platform_transaction": round(platform_transaction),
            "unit_of_work": round(unit_of_work)}


def _cpu_us(started: float, commands: int) -> float:
    """The process's CPU time (every thread: Polku commits on aiosqlite's) a command since `started`:
    wall time on a shared machine is mostly other people's load and disk, CPU time much less so."""
    return (time.process_time() - started) / commands * 1e6


def compare(work: Path, commands: int) -> dict:
    polku_per_s, polku_cpu_us = asyncio.run(polku(work / "append-polku.db", commands))
    library_per_s, library_cpu_us, synchronous = eventsourcing(work / "append-eventsourcing.db", commands)
    concurrent_per_s, concurrent_cpu_us = asyncio.run(polku(work / "append-polku-32.db", commands, callers=32))
    layer_cpu_us = asyncio.run(layers(work, commands))
    return {"commands": commands, "polku_events_per_s": round(polku_per_s),
            "polku_32_callers_events_per_s": round(concurrent_per_s),
            "eventsourcing_events_per_s": round(library_per_s),
            "polku_cpu_us_per_command": round(polku_cpu_us),
            "polku_32_callers_cpu_us_per_command": round(concurrent_cpu_us),
            "eventsourcing_cpu_us_per_command": round(library_cpu_us),
            "eventsourcing_sqlite_synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[synchronous],
            "polku_vs_eventsourcing": round(polku_per_s / library_per_s, 2),
            "polku_cpu_us_per_command_by_layer": layer_cpu_us}


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        print(compare(Path(directory), 2000))
