"""Matching for a coordinator's screen: rank the enrolled clients of an area for one opening.

The employer service's own SQLite database holds `candidates` enrolled clients with varied anonymous
facts. Between rounds, events change ten clients (as intake's and pathway's events do); each round
then does what GET /openings/{id}/candidates does: brings the instance's cache of the area's
clients up to date (services/employer/candidates.py) and ranks them for an opening whose
requirement tags change from round to round. Prints p50/p99 of the whole and of the ranking alone,
and the first, cold read of all the rows.
"""
import asyncio
import random
import statistics
import time
from pathlib import Path
from uuid import UUID

from sqlalchemy import insert

from services.employer.candidates import area_clients
from services.employer.domain.matching import Work, rank
from services.employer.lookups import note_client
from services.employer.service import SERVICE
from services.employer.tables import client_revisions, clients
from services.platform.commit_groups import transaction
from services.platform.database import create_engine, migrate

TAGS = ("forklift_licence", "hygiene_passport", "cleaning", "kitchen", "customer_service", "driving_licence_b",
        "first_aid", "recycling", "outdoor_maintenance", "warehouse", "finnish_b1", "care_assistant")
MUNICIPALITIES = ("Kemi", "Keminmaa", "Tornio", "Simo", "Tervola")
GROUPS = ("under_30", "over_54", "partially_able_to_work", "immigrant", "outdated_training")


def cohort(size: int, rng: random.Random) -> list[dict]:
    return [{"client_id": str(UUID(int=rng.getrandbits(128))), "employment_area": "kemi", "enrolled": True,
             "exited": False, "case_worker_id": f"cw-{number % 40}", "municipality": rng.choice(MUNICIPALITIES),
             "age_band": rng.choice(("18_24", "25_29", "30_54", "55_plus")),
             "months_unemployed": rng.randrange(0, 120) if rng.random() < 0.9 else None,
             "priority_groups": rng.sample(GROUPS, rng.randrange(0, 3)),
             "skill_tags": rng.sample(TAGS, rng.randrange(0, 5)),
             "hours_in_steps": rng.choice((0, 0, 0, 10, 20, 30)), "revision": 1} for number in range(size)]


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def _measure(database: Path, candidates: int, rounds: int) -> dict:
    rng = random.Random(11)
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        await migrate(engine, SERVICE.migrations)
        people = cohort(candidates, rng)
        async with engine.begin() as connection:
            await connection.execute(insert(clients), people)
            await connection.execute(insert(client_revisions).values(employment_area="kemi", revision=1))
        started = time.perf_counter()
        async with engine.connect() as connection:
            await area_clients(engine, connection, "kemi")
        cold_ms = (time.perf_counter() - started) * 1000
        whole, ranking, shown = [], [], 0
        for _ in range(rounds):
            async with transaction(engine) as connection:
                for person in rng.sample(people, 10):
                    await note_client(connection, UUID(person["client_id"]), "kemi",
                                      skill_tags=rng.sample(TAGS, rng.randrange(0, 5)))
            work = Work.of(rng.sample(TAGS, rng.randrange(1, 4)), [rng.choice(MUNICIPALITIES)])
            started = time.perf_counter()
            async with engine.connect() as connection:
                area = await area_clients(engine, connection, "kemi")
            read = time.perf_counter()
            shown = len(rank(work, area, limit=50))
            done = time.perf_counter()
            whole.append((done - started) * 1000)
            ranking.append((done - read) * 1000)
    finally:
        await engine.dispose()
    return {"candidates": candidates, "rounds": rounds, "shown": shown,
            "p50_ms": round(statistics.median(whole), 1), "p99_ms": round(percentile(whole, 0.99), 1),
            "rank_only_p50_ms": round(statistics.median(ranking), 1),
            "rank_only_p99_ms": round(percentile(ranking, 0.99), 1), "cold_read_ms": round(cold_ms, 1)}


def measure(work: Path, candidates: int = 10_000, rounds: int = 200) -> dict:
    return asyncio.run(_measure(work / "matching.db", candidates, rounds))


def describe(figures: dict) -> str:
    return (f"matching (read and rank {figures['candidates']:,} enrolled candidates for one opening, "
            f"{figures['rounds']} rounds): p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms "
            f"(target p99 < 100 ms); ranking alone p50 {figures['rank_only_p50_ms']} ms, "
            f"p99 {figures['rank_only_p99_ms']} ms; the first, cold read of all rows {figures['cold_read_ms']} ms")
