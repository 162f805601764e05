"""`make bench` in miniature: every stage runs on small numbers and every figure is there (the workload
changed under the append comparison once, and nothing in `make test` noticed)."""
import json
import subprocess
import sys

import pytest


@pytest.mark.e2e
def test_make_bench_runs_end_to_end_and_reports_every_figure():
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench.run_bench", "--small", "1000", "--large", "2000", "--repeats", "1",
         "--commands", "20", "--candidates", "100", "--employments", "20", "--invoices", "10",
         "--observe-seconds", "1", "--observe-rounds", "1"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    for figure in ("append_events_per_s", "relay_events_per_s", "raw_publish_events_per_s", "rebuild_events_per_s",
                   "raw_replay_events_per_s", "rebuild_vs_raw_ratio"):
        assert summary[figure] > 0, figure
    per_command = summary["append_per_command"]
    assert per_command["commands"] == 20
    assert per_command["polku_events_per_s"] > 0 and per_command["eventsourcing_events_per_s"] > 0
    assert summary["observability"]["with_tracing_and_metrics"]["errors"] == 0
    assert summary["observability"]["without"]["errors"] == 0
    assert summary["matching"]["candidates"] == 100 and summary["payroll"]["finvoice"]["invalid_in_sample"] == 0
    assert set(summary["reports"]) == {"outcomes", "esf", "municipal-share", "billing", "return"}
    assert "rebuild vs raw replay" in done.stdout, "the table is printed"
