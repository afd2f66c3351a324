"""The benchmark runs end to end (its small CI version): seeding, wpscim serve, every scenario next to
its raw-SQL reference, and the table. Speed is judged from bench/RESULTS.md, not here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import database_url

ROOT = Path(__file__).resolve().parent.parent


def test_bench_quick_runs_every_scenario(mysql_server):
    url = database_url(mysql_server, "")
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--database-url", url],
        capture_output=True, text=True, timeout=600, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    for scenario in ("create (no password)", "vs raw SQL that also checks uniqueness", "lookup by userName eq", "lookup by externalId eq", "PATCH deactivate",
                     "PUT update", "one page of 100 users", "full import", "group PATCH", "server peak RSS"):
        assert scenario in run.stdout, scenario
    assert "| FAIL" in run.stdout or "| PASS" in run.stdout  # targets were evaluated, whatever the outcome
    create = next(line for line in run.stdout.splitlines() if line.startswith("| create (no password)"))
    wpscim_cpu, raw_cpu = create.split(" | ")[7].replace("(", "").replace(")", "").split()
    assert float(wpscim_cpu) > 0 and float(raw_cpu) > 0  # CPU per request of both sides, from /proc
    if Path("/proc/stat").exists():  # the machine's steal share, which explains a run's noise
        assert "CPU time stolen by the hypervisor" in run.stdout
