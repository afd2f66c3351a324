"""The benchmark runs end to end (its small CI version): seeding, wpscim serve, every scenario next to
its raw-SQL reference, and the table. Speed is judged from bench/RESULTS.md, not here."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pymysql
from conftest import database_url

from wpscim.wordpress.db import DatabaseAddress

ROOT = Path(__file__).resolve().parent.parent


def test_bench_quick_runs_every_scenario(mysql_server):
    url = database_url(mysql_server, "")
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--database-url", url],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    for scenario in (
        "create (no password)",
        "vs raw SQL that also checks uniqueness",
        "lookup by userName eq",
        "lookup by externalId eq",
        "PATCH deactivate",
        "PUT update",
        "one page of 100 users",
        "full import",
        "group PATCH",
        "server peak RSS",
    ):
        assert scenario in run.stdout, scenario
    assert "| FAIL" in run.stdout or "| PASS" in run.stdout  # targets were evaluated, whatever the outcome
    # wpscim against wpscim (scripts/test provides Redis, PHP and WordPress, so none of them is n/a): the change
    # log's target, with the Redis invalidation seen (else the run fails); the companion delivered every event
    for title, status in (
        ("change log + Redis invalidation vs --no-change-log", ("| PASS (", "| FAIL (")),
        ("waking the companion at", ("| info (",)),
        ("waits for the companion", ("| info (",)),
        ("access log on vs off", ("| info (",)),
    ):
        line = next(line for line in run.stdout.splitlines() if title in line)
        assert any(s in line for s in status) and "not seen" not in line and "n/a" not in line, line
    assert "DEL for" in next(line for line in run.stdout.splitlines() if "change log + Redis invalidation" in line)
    create = next(line for line in run.stdout.splitlines() if line.startswith("| create (no password)"))
    wpscim_cpu, raw_cpu = create.split(" | ")[7].replace("(", "").replace(")", "").split()
    assert float(wpscim_cpu) > 0 and float(raw_cpu) > 0  # CPU per request of both sides, from /proc
    if Path("/proc/stat").exists():  # the machine's steal share, which explains a run's noise
        assert "CPU time stolen by the hypervisor" in run.stdout


def _bench_module():
    """bench/runner.py (the bench is a package beside wpscim, not installed with it)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("bench.runner")


def test_bench_waits_for_purge_of_one_large_delete(mysql_server, empty_database):
    """A --reuse reset deletes many rows in a few transactions: the history list stays at one or two
    while InnoDB purges for a minute, and a measurement started then charges that purge to MariaDB."""
    bench = _bench_module()
    with pymysql.connect(**mysql_server, database=empty_database, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE rows_to_purge (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40), KEY (v))")
        cur.execute("INSERT INTO rows_to_purge (v) VALUES ('a')")
        for _ in range(17):  # 131,072 rows, each in two indexes
            cur.execute("INSERT INTO rows_to_purge (v) SELECT MD5(id + RAND()) FROM rows_to_purge")
        cur.execute("DELETE FROM rows_to_purge")  # one transaction: one entry in the history list
        bench.wait_for_purge(
            DatabaseAddress(mysql_server["host"], mysql_server["port"], mysql_server["user"], mysql_server["password"], empty_database)
        )
        cur.execute("SHOW ENGINE INNODB STATUS")
        purge = next(line for line in cur.fetchone()[2].splitlines() if line.startswith("Purge done"))
    assert not purge.endswith("state: running"), purge


def test_purge_settled_reads_innodb_status():
    bench = _bench_module()
    busy = "Purge done for trx's n:o < 1218146 undo n:o < 177177 state: running\nHistory list length 1\n"
    idle = "Purge done for trx's n:o < 1218147 undo n:o < 0 state: running but idle\nHistory list length 0\n"
    backlog = "Purge done for trx's n:o < 1218147 undo n:o < 0 state: running but idle\nHistory list length 5000\n"
    assert not bench.purge_settled(busy)
    assert bench.purge_settled(idle)
    assert not bench.purge_settled(backlog)
