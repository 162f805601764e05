"""Several instances of a service starting at once on one empty database migrate it once, not in a race."""
import asyncio

import pytest

from services.platform.database import create_engine, migrate
from services.reporting.service import SERVICE as REPORTING
from tests.support import BOTH_DATABASES


@BOTH_DATABASES
async def test_three_instances_migrating_one_database_at_once_all_start(database_url_factory):
    url = await database_url_factory("reporting")
    engines = [create_engine(url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate(engine, REPORTING.migrations) for engine in engines),
                                       return_exceptions=True)
        assert [result for result in results if isinstance(result, BaseException)] == []
    finally:
        for engine in engines:
            await engine.dispose()
