"""The short version of `make chaos`: a few kills of services and nats-server under a steady load."""
import json
from pathlib import Path

import pytest

from tests.chaos.run_chaos import chaos

pytestmark = pytest.mark.e2e


async def test_kills_under_load_lose_nothing_count_nothing_twice_and_answer_no_5xx(tmp_path):
    result = await chaos(seconds=10, kills=2, callers=3, seed=3, work=tmp_path, sequence=["pathway", "nats-server"])
    assert result["kills"] == 2 and result["ok"] > 30, result
    assert result["server_errors"] == 0, result["server_error_kinds"]
    assert result["events_lost"] == 0
    assert result["projections_equal_rebuild"] and result["double_counts"] == 0
    assert result["dead_letters"] == 0 and result["parked"] == 0, result
    # Logs stay one JSON object a line through every kill, nats-server's too.
    for log in (Path(result["work_dir"]) / "var" / "logs").glob("*.log"):
        for line in log.read_text().splitlines():
            assert isinstance(json.loads(line), dict), f"{log.name}: {line[:200]}"
