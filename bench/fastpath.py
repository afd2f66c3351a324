"""Which parts of the driver fast path earn their upkeep: paired runs of wpscim servers that differ only
in the fast path (a separate tool; bench/run.py is the benchmark).

    python bench/fastpath.py                                  # 10,000 users, 4 clients, 5 rounds of 2 s
    python bench/fastpath.py --users 2000 --rounds 3          # a short check
    python bench/fastpath.py --only create --variants plain,escape

It seeds `wpscim_bench_<N>` as bench/run.py does (bench/runner.py: Bench) and serves it with one
`wpscim serve` per variant, all served alike (granian, --threads, --no-access-log, no site URL known:
`variant_servers`) on the same database:

| variant | how |
| --- | --- |
| whole | the fast path as wpscim runs it |
| control | the same, on a second server: what two identical servers differ by (the noise floor a part's gain must clear) |
| plain | `--no-fast-path`: PyMySQL as published |
| escape, descriptions | the fast path with that one part switched off: `WPSCIM_FAST_PATH_OFF=<part>` (wpscim/wordpress/driver.py) |

For each request (create: POST /Users of a new user; lookup: GET /Users?filter=userName eq …; page:
GET /Users?startIndex=…&count=100), after a warm-up of every server, each round runs one adjacent pair
of phases per variant — the whole fast path and the variant, in an order that flips every pair and
every round; the variants' order rotates each round — so each ratio compares two phases a few seconds
apart. Per variant the table gives the ratio of its requests/s to the whole fast path's in the same
pairs (median of the rounds, lowest–highest), the median phase's requests/s, and the CPU per request
of its server's processes and of the database server (from /proc, over all its measured phases). A
ratio below 1 is what the part gains (its absence costs); the plain driver's ratio is the whole fast
path's gain; the control's shows how far two identical servers differ in the same run (a gain within
that is not measured).

Output: the table on stdout and in bench/out/fastpath-<N>.md, the numbers in bench/out/fastpath-<N>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections import Counter as Tally
from datetime import UTC, datetime
from pathlib import Path

import pymysql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root: the `bench` package

from bench.runner import OUT, Bench, Sequence, cpu_times, log, run_phase, steal_share  # noqa: E402
from bench.scenarios.create import http_create  # noqa: E402
from bench.scenarios.lookups import http_lookup  # noqa: E402
from bench.scenarios.pages import http_page  # noqa: E402

PARTS = ("escape", "descriptions")  # wpscim.wordpress.driver.FAST_PATH_PARTS
VARIANTS = {
    "whole": "whole fast path",
    "control": "whole fast path, a second server (the noise floor)",
    "plain": "plain driver (--no-fast-path)",
    **{part: f"fast path without {part}" for part in PARTS},
}
REQUESTS = {
    "create": ("POST /Users (create, no password)", lambda bench, tag: http_create(bench, side=tag)),
    "lookup": ('GET /Users?filter=userName eq "…"', lambda bench, tag: http_lookup(bench, "userName")),
    "page": ("GET /Users?startIndex=…&count=100", lambda bench, tag: http_page(bench)),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Paired runs of wpscim with the whole driver fast path, without it, and without each of its parts."
    )
    parser.add_argument("--users", type=lambda v: int(v.replace("_", "")), default=10000, help="seeded users (default 10000)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients per server (default 4)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5); each runs a pair of phases per variant")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one phase (default 2)")
    parser.add_argument("--warmup", type=float, default=0.5, help="warm-up per server and request, seconds (default 0.5)")
    parser.add_argument(
        "--only",
        type=lambda v: [x for x in v.split(",") if x],
        default=list(REQUESTS),
        help=f"requests to measure (comma-separated, default all: {', '.join(REQUESTS)})",
    )
    parser.add_argument(
        "--variants",
        type=lambda v: [x for x in v.split(",") if x],
        default=[v for v in VARIANTS if v != "whole"],
        help=f"variants compared with the whole fast path (default all: {', '.join(v for v in VARIANTS if v != 'whole')})",
    )
    parser.add_argument("--server", choices=["granian", "gunicorn"], default="granian", help="wpscim serve --server (default granian)")
    parser.add_argument("--server-processes", type=int, default=1, help="wpscim serve --processes (default 1)")
    parser.add_argument("--server-threads", type=int, default=4, help="wpscim serve --threads (default 4)")
    parser.add_argument("--pool-size", type=int, help="wpscim serve --pool-size (default: wpscim's)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("WPSCIM_BENCH_DATABASE_URL", "mysql://root@127.0.0.1:3306/"),
        help="the MySQL/MariaDB server (default mysql://root@127.0.0.1:3306/)",
    )
    parser.add_argument("--reuse", action="store_true", help="keep wpscim_bench_<N> after the run and reuse it (reset) next time")
    parser.add_argument("--no-index", action="store_true", help="do not apply `wpscim index create`")
    args = parser.parse_args(argv)
    unknown = [r for r in args.only if r not in REQUESTS] + [v for v in args.variants if v not in VARIANTS or v == "whole"]
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}")
    args.profile, args.high_clients = False, 16  # what Bench reads besides
    return args


def variant_servers(bench: Bench, names: list[str]) -> dict:
    """One server per variant (the whole fast path's too; the size's own server idles). They start while
    the site's `home` option is empty, so none knows a URL to wake a companion at after its commits
    (bench/scenarios/changelog.py, row changelog_wake: against the seeded http://localhost, where nothing
    answers, that retrying costs a create some 0.1–0.2 ms of server CPU, which would blur the parts'
    differences)."""
    with pymysql.connect(**{**bench.address.connect_args(), "autocommit": True}) as conn, conn.cursor() as cur:
        cur.execute("SELECT option_value FROM wp_options WHERE option_name = 'home'")
        home = cur.fetchone()[0]
        cur.execute("UPDATE wp_options SET option_value = '' WHERE option_name = 'home'")
        try:
            servers = {"whole": bench.start_server("fastpath-whole", env={"WPSCIM_FAST_PATH_OFF": ""})}
            for name in names:
                if name == "control":
                    servers[name] = bench.start_server("fastpath-control", env={"WPSCIM_FAST_PATH_OFF": ""})
                elif name == "plain":
                    servers[name] = bench.start_server("fastpath-plain", ("--no-fast-path",), env={"WPSCIM_FAST_PATH_OFF": ""})
                else:
                    servers[name] = bench.start_server(f"fastpath-no-{name}", env={"WPSCIM_FAST_PATH_OFF": name})
        finally:
            cur.execute("UPDATE wp_options SET option_value = %s WHERE option_name = 'home'", (home,))
    for name, server in servers.items():  # what each server's processes were really given
        wanted = "" if name in ("whole", "control", "plain") else name
        for pid in server.pids():
            try:
                env = dict(item.split("=", 1) for item in open(f"/proc/{pid}/environ").read().split("\0") if "=" in item)
            except OSError:
                continue
            if env.get("WPSCIM_FAST_PATH_OFF", "") != wanted or env.get("WPSCIM_FAST_PATH", "1") not in ("1", "true", "yes", "on"):
                raise SystemExit(
                    f"server {name} (pid {pid}) runs with WPSCIM_FAST_PATH_OFF={env.get('WPSCIM_FAST_PATH_OFF')!r}, "
                    f"WPSCIM_FAST_PATH={env.get('WPSCIM_FAST_PATH')!r}"
                )
        command = open(f"/proc/{server.proc.pid}/cmdline").read().split("\0")
        if ("--no-fast-path" in command) != (name == "plain"):
            raise SystemExit(f"server {name} was started as {' '.join(command)}")
    return servers


def measure(bench: Bench, request: str, servers: dict, args) -> dict:
    """Warm every server up, then `--rounds` rounds of adjacent (whole, variant) pairs."""
    title, make_op = REQUESTS[request]
    log(f"{title}: {len(servers)} servers, {args.rounds} rounds of {len(servers) - 1} pairs of {args.seconds:g} s phases")
    names = list(servers)
    workers = {name: bench.http_workers(args.clients, f"fastpath/{request}", servers[name]) for name in names}
    ops = {name: make_op(bench, f"f{i}") for i, name in enumerate(names)}
    seqs = {name: Sequence() for name in names}
    rates = {name: [] for name in names}  # every measured phase's requests/s
    ratios = {name: [] for name in names if name != "whole"}  # per round: variant/whole in the same pair
    cpu = {name: Tally() for name in names}
    errors = Tally()
    first_error = {}

    def phase(name: str) -> float:
        # A variant's clients idle while the other pairs run, long enough for granian to close their
        # keep-alive connections (a first run lost one request per client so): every phase opens its
        # connections anew, all variants alike.
        for worker in workers[name]:
            worker.client.close_socket()
        before = bench.cpu_now(servers[name])
        result = run_phase(workers[name], ops[name], args.seconds, seqs[name], None)
        cpu[name].update({part: after - before[part] for part, after in bench.cpu_now(servers[name]).items()})
        cpu[name]["requests"] += len(result.latencies)
        if result.errors:
            errors[name] += result.errors
            first_error.setdefault(name, result.first_error)
        rates[name].append(result.rate)
        return result.rate

    try:
        for name in names:
            warm = run_phase(workers[name], ops[name], args.warmup, seqs[name], None)
            if warm.errors:
                log(f"  warm-up {name}: {warm.errors} errors, first: {warm.first_error}")
        measured_from = cpu_times()
        others = names[1:]
        for r in range(args.rounds):
            shift = r % len(others)
            for i, name in enumerate(others[shift:] + others[:shift]):
                if (r + i) % 2 == 0:
                    whole, variant = phase("whole"), phase(name)
                else:
                    variant, whole = phase(name), phase("whole")
                ratios[name].append(variant / whole if whole else 0.0)
            log(f"  round {r + 1}: " + ", ".join(f"{name} {ratios[name][-1]:.3f}" for name in others))
    finally:
        for name in names:
            bench.close(workers[name])
    steal = steal_share(measured_from, cpu_times())
    out = {"title": title, "steal": steal, "variants": {}}
    for name in names:
        used = cpu[name]
        n = used["requests"] or 1
        out["variants"][name] = {
            "label": VARIANTS[name],
            "rates": [round(x, 1) for x in rates[name]],
            "ratios": [round(x, 4) for x in ratios.get(name, [])],
            "ratio_median": statistics.median(ratios[name]) if ratios.get(name) else 1.0,
            "server_cpu_ms": round(1000 * used["server"] / n, 4),
            "database_cpu_ms": round(1000 * used.get("database", 0) / n, 4) if bench.database_pid else None,
            "requests": used["requests"],
            "errors": errors[name],
            "first_error": first_error.get(name),
        }
    return out


def table(results: dict, info: dict) -> str:
    lines = [
        f"### Driver fast path, part by part — {info['users']:,} users",
        "",
        f"{info['started']}, {os.cpu_count()} CPUs, {platform.python_implementation()} {platform.python_version()}, {info['database']}; "
        f"wpscim ({info['server']}) × {info['threads']} threads, --no-access-log, one server per variant; {info['clients']} clients; "
        f"{info['rounds']} rounds of one pair of {info['seconds']:g} s phases per variant; run {info['seconds_run']} s; load average "
        f"before/after {info['loadavg_before'][0]:.1f}/{info['loadavg_after'][0]:.1f}"
        + (f"; CPU time stolen by the hypervisor {info['steal']:.0%}" if info.get("steal") is not None else "")
        + ".",
        "",
        "| request | server | req/s ÷ whole fast path's, median (rounds) | req/s (median phase) | server CPU ms/req | database CPU ms/req | errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in results.values():
        for name, v in result["variants"].items():
            ratio = (
                "1"
                if name == "whole"
                else (f"{v['ratio_median']:.3f} ({min(v['ratios']):.3f}–{max(v['ratios']):.3f})" if v["ratios"] else "—")
            )
            database = f"{v['database_cpu_ms']:.3f}" if v["database_cpu_ms"] is not None else "—"
            lines.append(
                f"| {result['title']} | {v['label']} | {ratio} | {statistics.median(v['rates']) if v['rates'] else 0:.0f} | "
                f"{v['server_cpu_ms']:.3f} | {database} | {v['errors'] or ''} |"
            )
        if result.get("steal") is not None:
            lines.append(f"| | (CPU time stolen by the hypervisor during these rounds: {result['steal']:.0%}) | | | | | |")
    lines += [
        "",
        "A ratio below 1: the server without that part answered fewer requests per second than the whole fast path "
        "in the same pairs of adjacent phases, i.e. the part gains 1/ratio − 1. The plain driver's ratio is the whole "
        "fast path's gain; the control (the whole fast path on a second server) shows what two identical servers differ by. CPU: over all of a server's measured phases, per request (the whole fast path's over its "
        "phases of every pair).",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    args = parse_args(argv)
    for name in ("WPSCIM_FAST_PATH", "WPSCIM_FAST_PATH_OFF"):  # each server is given its own
        os.environ.pop(name, None)
    OUT.mkdir(exist_ok=True)
    bench = Bench(args, args.users)
    info = {
        "users": args.users,
        "started": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "clients": args.clients,
        "rounds": args.rounds,
        "seconds": args.seconds,
        "server": args.server,
        "threads": args.server_threads,
        "loadavg_before": os.getloadavg(),
    }
    began, cpu_before = time.perf_counter(), cpu_times()
    results = {}
    try:
        bench.prepare()
        info["database"] = bench.result.info.get("database", "?")
        servers = variant_servers(bench, args.variants)
        for request in args.only:
            results[request] = measure(bench, request, servers, args)
    finally:
        bench.finish()
    info.update(loadavg_after=os.getloadavg(), steal=steal_share(cpu_before, cpu_times()), seconds_run=round(time.perf_counter() - began))
    text = table(results, info)
    print(text)
    (OUT / f"fastpath-{args.users}.md").write_text(text)
    (OUT / f"fastpath-{args.users}.json").write_text(json.dumps({"info": info, "results": results}, indent=1, default=str))
    log(f"done in {info['seconds_run']} s; table in {OUT / f'fastpath-{args.users}.md'}")
    return 1 if any(v["errors"] for r in results.values() for v in r["variants"].values()) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
