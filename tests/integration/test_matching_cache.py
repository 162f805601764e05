"""services/employer/candidates.py: matching's cache of an area's clients follows every committed change,
also one made by another instance of the service (another engine on the same database)."""
from uuid import uuid4

import pytest

from services.employer.candidates import area_clients
from services.employer.lookups import note_client
from services.employer.service import SERVICE
from services.platform.commit_groups import transaction
from services.platform.database import create_engine
from tests.bench import matching
from tests.support import BOTH_DATABASES


async def _facts(engine, area: str) -> dict:
    async with engine.connect() as connection:
        return {client.client_id: client for client in await area_clients(engine, connection, area)}


@BOTH_DATABASES
async def test_the_cache_follows_changes_of_this_and_another_instance(engine_factory):
    first = await engine_factory("employer", SERVICE.migrations)
    second = create_engine(first.url.render_as_string(hide_password=False))  # another instance
    try:
        await _follow(first, second)
    finally:
        await second.dispose()


async def _follow(first, second) -> None:
    anna, ben = uuid4(), uuid4()
    async with transaction(first) as connection:
        await note_client(connection, anna, "kemi", municipality="Kemi", enrolled=True, skill_tags=["kitchen"])
    assert set(await _facts(first, "kemi")) == {anna}
    assert await _facts(first, "tornio") == {}

    async with transaction(second) as connection:
        await note_client(connection, anna, "kemi", skill_tags=["kitchen", "hygiene_passport"])
        await note_client(connection, ben, "kemi", municipality="Simo", enrolled=True)
    seen = await _facts(first, "kemi")
    assert set(seen) == {anna, ben}
    assert seen[anna].skill_tags == {"kitchen", "hygiene_passport"}

    async with transaction(first) as connection:
        await note_client(connection, ben, "kemi", exited=True)
    assert (await _facts(second, "kemi"))[ben].exited


@pytest.mark.parametrize("candidates", [300])
def test_the_matching_benchmark_runs_and_reports_its_figures(tmp_path, candidates):
    figures = matching.measure(tmp_path, candidates=candidates, rounds=5)
    assert figures["shown"] == 50 and figures["candidates"] == candidates
    assert 0 < figures["rank_only_p50_ms"] <= figures["p99_ms"]
    assert "p99" in matching.describe(figures)
