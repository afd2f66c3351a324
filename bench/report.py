"""What the bench writes: the targets' verdicts, the markdown table, the JSON, the profile.

- `evaluate()`: each row's target and pass/fail (targets, 4 clients, 2 cores: create without password
  >= 0.5x the reference; lookup by userName >= 0.5x; page of 100 >= 0.7x; at 100,000 users an
  externalId lookup's p50 within 2x of a userName lookup's and the full import under 30 s, shown as
  info at other sizes; lookups at 16 clients p99 < 50 ms; creates with the change log and the Redis
  invalidation >= 0.85x creates with neither, the invalidation seen in Redis; peak RSS flat across
  sizes, the largest <= 1.25x the smallest, compared with the other sizes of this run, else with
  earlier bench/out/results-<N>.json served the same way);
- `table()`: one size's markdown tables, wpscim against raw SQL, then wpscim against wpscim (rows with
  `labels`: two servers compared); `publish()` prints all sizes' tables and writes
  bench/out/latest.md and bench/out/results-<N>.json;
- `write_profile()`: bench/out/profile-<N>.md from the py-spy samples of --profile.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from collections import Counter as Tally

from .runner import OUT, Result, Row, SizeRun, log, server_config

# The table's row order (the scenarios run in another: scenarios.SCENARIOS).
ORDER = [
    "create",
    "create_checked",
    "create_password",
    "hash",
    "lookup_username",
    "lookup_externalid",
    "deactivate",
    "put",
    "page",
    "import",
    "membership",
    "lookup_username_high",
    "lookup_externalid_high",
    "groups_list",
    "group_stream",
    "changelog",
    "changelog_wake",
    "companion",
    "access_log",
]
CHANGELOG_TARGET = 0.85  # creates/s with the change log and the Redis invalidation over creates/s with neither


# --- targets --------------------------------------------------------------------------------------------


def whole_run_peak(run: SizeRun) -> int:
    """Peaks are reset before each scenario, so the run's peak is the largest scenario peak (of the size's
    own server: rows comparing two other servers are left out)."""
    return max([r.peak_rss_kb or 0 for k, r in run.rows.items() if k != "memory" and not r.labels] + [run.info.get("startup_hwm_kb", 0)])


def evaluate(run: SizeRun, clients: int, high: int, others: dict[int, int]) -> None:
    """Fill in each row's target and pass/fail."""
    rows = run.rows
    big = run.users >= 100_000

    def ratio_target(key: str, minimum: float) -> None:
        row = rows.get(key)
        if row:
            row.target = f"ratio ≥ {minimum}"
            row.status = "PASS" if (row.ratio or 0) >= minimum else "FAIL"

    ratio_target("create", 0.5)
    ratio_target("lookup_username", 0.5)
    ratio_target("page", 0.7)
    if "create_checked" in rows:
        rows["create_checked"].target = "info (what uniqueness costs)"
    if "create_password" in rows:
        rows["create_password"].target = "report (hashing dominates)"
    if "lookup_externalid" in rows and "lookup_username" in rows:
        ext, name = rows["lookup_externalid"].wpscim.pct(50) or 0, rows["lookup_username"].wpscim.pct(50) or 1
        row = rows["lookup_externalid"]
        row.target = "p50 ≤ 2× userName's @100k"
        verdict = "PASS" if ext <= 2 * name else "FAIL"
        row.status = f"{verdict if big else 'info'} ({ext / name:.1f}×)"
    for key in ("lookup_username_high", "lookup_externalid_high"):
        row = rows.get(key)
        if row:
            row.target = "p99 < 50 ms"
            row.status = "PASS" if (row.wpscim.pct(99) or math.inf) < 50 else "FAIL"
    if "import" in rows:
        row = rows["import"]
        total = row.wpscim.extra.get("total_s", 0)
        row.target = "< 30 s @100k"
        row.status = f"{('PASS' if total < 30 else 'FAIL') if big else 'info'} ({total:.1f} s; raw {row.raw.extra.get('total_s', 0):.1f} s)"
    _two_servers(rows)
    if "groups_list" in rows:
        rows["groups_list"].target = "report median"
    if "group_stream" in rows:
        rows["group_stream"].target = "report time, peak RSS"
    for row in rows.values():
        retried = row.wpscim.extra.get("retried_503") if row.wpscim else None
        if retried:
            row.status += f"; {retried}× 503 retried"
        errors = (row.wpscim.errors if row.wpscim else 0) + (row.raw.errors if row.raw else 0)
        if errors:
            first = (row.wpscim.first_error if row.wpscim else None) or (row.raw.first_error if row.raw else None)
            row.status = f"FAIL ({errors} errors: {first[:80] if first else ''})"
    peak = run.info["peak_rss_kb"] = whole_run_peak(run)
    memory = Row("memory", "server peak RSS, whole run", 0, None, None, peak, target="flat across sizes (≤ 1.25× smallest)")
    comparable = {size: kb for size, kb in others.items() if size != run.users and kb}
    if comparable:
        everything = {**comparable, run.users: peak}
        smallest = everything[min(everything)]
        largest = everything[max(everything)]
        shown = ", ".join(f"{size:,}: {kb / 1024:.0f} MB" for size, kb in sorted(everything.items()))
        memory.status = f"{'PASS' if largest <= 1.25 * smallest else 'FAIL'} ({shown})"
    else:
        memory.status = "n/a (one size; run several, e.g. --users 10000,100000)"
    rows["memory"] = memory


def _two_servers(rows: dict) -> None:
    """The rows comparing two wpscim servers (bench/scenarios/changelog.py); a check that fails means
    the measurement was not what it says (status "FAIL (not seen: …)", which fails the run)."""
    row = rows.get("changelog")
    if row:
        row.target = f"ratio ≥ {CHANGELOG_TARGET}, keys deleted in Redis"
        if row.wpscim:
            c = row.wpscim.extra.get("redis", {})
            seen = (
                c.get("phases")
                and c.get("sentinel_deleted") == c["phases"]
                and c.get("del_calls", 0) >= c.get("creates", 1)
                and c.get("events", 0) >= c.get("creates", 1)
                and c.get("baseline_events") == 0
            )
            if not seen:
                row.status = (
                    f"FAIL (not seen: {c.get('del_calls')} DEL calls for {c.get('creates')} creates, key deleted in "
                    f"{c.get('sentinel_deleted')}/{c.get('phases')} phases, {c.get('events')} events, baseline "
                    f"{c.get('baseline_events')})"
                )
            else:
                row.status = (
                    f"{'PASS' if (row.ratio or 0) >= CHANGELOG_TARGET else 'FAIL'} ({c['del_calls']} DEL for {c['creates']} "
                    f"creates, key deleted in {c['sentinel_deleted']}/{c['phases']} phases)"
                )
    row = rows.get("changelog_wake")
    if row:
        row.target = "info (what waking an unanswering companion adds)"
        if row.wpscim:
            on, off = (row.cpu_ms("wpscim") or {}).get("server"), (row.cpu_ms("raw") or {}).get("server")
            row.status = "info (" + (f"server CPU {1000 * (on - off):+.0f} µs/create" if on is not None and off is not None else "") + ")"
    row = rows.get("companion")
    if row:
        row.target = "info (each create waits for WordPress)"
        if row.wpscim:
            c = row.wpscim.extra.get("companion", {})
            wordpress = (row.cpu_ms("wpscim") or {}).get("wordpress")
            if c.get("undelivered") or not c.get("events"):
                row.status = f"FAIL (not seen: {c.get('undelivered')} of {c.get('events')} events undelivered)"
            else:
                row.status = (
                    f"info ({c.get('creates', 0) / max(c.get('measured', 0), 1):.1f} creates per delivery; all {c['events']} "
                    f"events delivered; {c.get('waits_timed_out', 0)} waits timed out"
                    + (f"; WordPress {wordpress:.2f} CPU ms/create" if wordpress is not None else "")
                    + ")"
                )
    row = rows.get("access_log")
    if row:
        row.target = "info (what the access log costs)"
        if row.wpscim:
            lines, requests = row.wpscim.extra.get("access_log_lines", 0), len(row.wpscim.latencies)
            on, off = (row.cpu_ms("wpscim") or {}).get("server"), (row.cpu_ms("raw") or {}).get("server")
            if lines < requests:
                row.status = f"FAIL (not seen: {lines} access log lines for {requests} requests)"
            else:
                row.status = (
                    "info ("
                    + (f"server CPU {1000 * (on - off):+.0f} µs/request; " if on is not None and off is not None else "")
                    + f"{lines} lines)"
                )


# --- the table ------------------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _rate(result: Result | None) -> str:
    if result is None or not result.latencies:
        return "—"
    rate = result.rate
    return f"{rate:.1f}" if rate < 100 else f"{rate:.0f}"


def table(run: SizeRun, server_kind: str, server_processes: int) -> str:
    info = run.info
    header = [
        f"### wpscim benchmark — {run.users:,} users",
        "",
        f"{info.get('started', '')}, {os.cpu_count()} CPUs, {platform.python_implementation()} {platform.python_version()}, "
        f"{info.get('database', '?')}; wpscim ({server_kind}) {server_processes} process(es) × {info.get('server_threads')} threads"
        + (f", {info['server_options']}" if info.get("server_options") else "")
        + "; "
        + (
            f"seeded in {info['seed_seconds']} s"
            if info.get("seed_seconds") is not None
            else f"reused seed (reset in {info.get('reset_seconds')} s)"
        )
        + f"; run {info.get('seconds', '?')} s; load average before/after "
        f"{info.get('loadavg_before', (0,))[0]:.1f}/{info.get('loadavg_after', (0,))[0]:.1f}; "
        + (f"CPU time stolen by the hypervisor {info['steal']:.0%}; " if info.get("steal") is not None else "")
        + "server RSS at start "
        f"{info.get('startup_rss_kb', 0) / 1024:.0f} MB.",
        "",
        "| scenario | clients | wpscim req/s | raw SQL req/s | ratio (rounds) | p50 ms wpscim (raw) | p99 ms wpscim (raw) | CPU ms/req wpscim (raw) | server peak RSS | target | pass/fail |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    lines, pairs = [], []
    for key in ORDER + ["memory"]:
        row = run.rows.get(key)
        if row is None:
            continue
        w, r = row.wpscim, row.raw
        target = pairs if row.labels else lines
        unit = "" if row.unit == "req/s" else f" {row.unit}"
        p50 = f"{_ms(w.pct(50)) if w else '—'} ({_ms(r.pct(50)) if r else '—'})" if (w or r) else "—"
        p99 = f"{_ms(w.pct(99)) if w else '—'} ({_ms(r.pct(99)) if r else '—'})" if (w or r) else "—"
        rss = f"{row.peak_rss_kb / 1024:.0f} MB" if row.peak_rss_kb else "—"
        ratio = f"{row.ratio:.2f}" if row.ratio is not None else "—"
        if len(row.round_ratios) > 1:
            ratio += f" ({min(row.round_ratios):.2f}–{max(row.round_ratios):.2f})"
        clients = str(row.clients) if row.clients else ""
        cpu = "—"
        if row.cpu_ms("wpscim") and row.cpu_ms("raw"):
            cpu = f"{sum(row.cpu_ms('wpscim').values()):.2f} ({sum(row.cpu_ms('raw').values()):.2f})"
        target.append(
            f"| {row.title} | {clients} | {_rate(w)}{unit if w else ''} | {_rate(r)}{unit if r else ''} | {ratio} | {p50} | {p99} | "
            f"{cpu} | {rss} | {row.target} | {row.status} |"
        )
    if pairs:
        pairs = [
            "",
            "wpscim against wpscim: two servers on the same database, alternating phases (bench/scenarios/changelog.py); "
            "the measured server's figures first, the baseline's in the second column and in parentheses.",
            "",
            "| comparison | clients | measured req/s | baseline req/s | ratio (rounds) | p50 ms measured (baseline) | "
            "p99 ms measured (baseline) | CPU ms/req measured (baseline) | measured server peak RSS | target | pass/fail |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
            *pairs,
        ]
    return "\n".join(header + lines + pairs) + "\n"


def legend(sizes: int) -> str:
    """What the columns mean, under the tables."""
    return (
        "\nratio = wpscim req/s ÷ raw-SQL req/s over all rounds, in parentheses the lowest and highest of single rounds (adjacent phases); p50/p99 are per request (per page for the import, per whole response for the "
        "stream), the raw reference's in parentheses. CPU ms/req: CPU time of wpscim's processes, the database server (when it runs on "
        "this machine) and the benchmark process (load generator or reference) over the measured rounds, per request; "
        "results-<N>.json has the parts (the companion row's measured side also WordPress's php processes). Every server the bench "
        "starts runs with --no-access-log (the access_log row measures the log). Memory is compared with "
        + ("the other sizes of this run." if sizes > 1 else "earlier results-<N>.json of other sizes, if any.")
        + "\n"
    )


# --- files ----------------------------------------------------------------------------------------------


def save(run: SizeRun) -> None:
    data = {"users": run.users, "info": run.info, "rows": {k: r.to_json() for k, r in run.rows.items()}}
    (OUT / f"results-{run.users}.json").write_text(json.dumps(data, indent=1, default=str))


def earlier_peaks(config: str) -> dict[int, int]:
    """Peak RSS of earlier runs of other sizes, served the same way (`config`: server and process count)."""
    peaks = {}
    for path in OUT.glob("results-*.json"):
        try:
            data = json.loads(path.read_text())
            if data["info"].get("server") != config:
                continue
            peaks[int(data["users"])] = int(data["info"]["peak_rss_kb"])
        except (ValueError, KeyError, TypeError):
            continue
    return peaks


def publish(runs: list[SizeRun], args, started: float) -> int:
    """Evaluate the targets, write results-<N>.json and latest.md, print the tables. Returns the exit
    code: 1 when a row failed with errors (a wrong answer) or a check its measurement depends on was not
    seen (e.g. the Redis invalidation), else 0 (missed targets are in the table)."""
    previous = earlier_peaks(server_config(args))
    this_run = {run.users: whole_run_peak(run) for run in runs}
    tables = []
    for run in runs:
        others = {**previous, **this_run} if len(runs) == 1 else this_run
        evaluate(run, args.clients, args.high_clients, others)
        save(run)
        tables.append(table(run, args.server, args.server_processes))
    text = "\n".join(tables) + legend(len(runs))
    print(text)
    (OUT / "latest.md").write_text(text)
    log(f"done in {time.perf_counter() - started:.0f} s; table in {OUT / 'latest.md'}")
    failed = [
        row
        for run in runs
        for row in run.rows.values()
        if row.status.startswith("FAIL (") and ("errors" in row.status or "not seen" in row.status)
    ]
    return 1 if failed else 0


def write_profile(run: SizeRun) -> None:
    """bench/out/profile-<N>.md: the hottest frames of each scenario's py-spy samples (--profile)."""
    if not run.profiles:
        return
    lines = [
        f"# py-spy profile of wpscim, {run.users:,} users",
        "",
        "Samples of non-idle server threads during each scenario (raw-SQL phases leave the server idle).",
        "",
    ]
    for key, stacks in run.profiles.items():
        total = sum(stacks.values())
        lines += [f"## {key} ({total} samples)", ""]
        if not total:
            continue
        own, inclusive = Tally(), Tally()
        for stack, count in stacks.items():
            frames = stack.split(";")
            own[frames[-1]] += count
            for frame in set(frames):
                if "wpscim" in frame or "pymysql" in frame or "dbutils" in frame.lower():
                    inclusive[frame] += count
        lines += ["self time:", ""] + [f"- {100 * c / total:5.1f}% {f}" for f, c in own.most_common(12)] + [""]
        lines += ["inclusive (wpscim, pymysql, dbutils frames):", ""]
        lines += [f"- {100 * c / total:5.1f}% {f}" for f, c in inclusive.most_common(20)] + [""]
    path = OUT / f"profile-{run.users}.md"
    path.write_text("\n".join(lines))
    log(f"profile written to {path}")
