"""`make load` in miniature: the whole tool runs, every command succeeds and every figure is there."""
import json
import subprocess
import sys

import pytest

from tests.load.run_load import CONSUMERS


@pytest.mark.e2e
def test_make_load_runs_end_to_end_and_reports_every_figure(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "tests.load.run_load", "--seconds", "1", "--concurrency", "1", "4",
         "--rates", "20", "--catch-up", "400", "--employments", "6", "--keep", str(tmp_path)],
        capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(summary["closed_loop"]) == {"1", "4"}
    for figures in summary["closed_loop"].values():
        assert figures["errors"] == 0 and figures["commands_per_s"] > 0 and figures["baseline_commands_per_s"] > 0
    [steady] = summary["visibility"]
    assert steady["errors"] == 0 and steady["referrals"] > 0 and steady["not_visible"] == 0
    assert set(summary["cpu_ms_per_command"]["4"]) == {"intake", "pathway", "employer", "payroll_billing",
                                                       "reporting", "nats-server"}
    assert set(summary["catch_up"]) == set(CONSUMERS)
    assert summary["catch_up"]["reporting"]["events"] >= 400, "reporting takes every event of the burst"
    assert "concurrency |" in done.stdout and "catch-up" in done.stdout, "the tables are printed"
