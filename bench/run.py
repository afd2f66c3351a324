"""wpscim benchmark: HTTP throughput and latency next to a raw-SQL reference, on a seeded WordPress.

    python bench/run.py --users 10000 --clients 4      # one size
    python bench/run.py --users 10000,100000           # several sizes in one run (checks memory is flat)
    python bench/run.py --quick                         # CI smoke: 2,000 users, short phases, < 60 s

For each size N it seeds `wpscim_bench_<N>` with N subscribers shaped like wpscim's own rows, starts
`wpscim serve` (wpscim's defaults, but --no-access-log), and runs every scenario against wpscim over
HTTP and against a raw-SQL reference that does the same database work through the same driver
(including the change event wpscim writes in each change's transaction), in alternating rounds; the
last rows compare wpscim servers with each other (the change log and the Redis invalidation against
neither, waiting for the companion in a real WordPress, the access log). Then it evaluates the targets
and writes the tables. This file is the command line only; the rest:

| module | holds |
| --- | --- |
| bench/runner.py | one size's setup (seed, token, index, the `wpscim serve` subprocess), alternating phases, Result/percentiles, CPU and hypervisor-steal accounting from /proc, waiting for InnoDB's purge, --profile sampling |
| bench/scenarios/ | one module per scenario group, each with its HTTP side and its raw-SQL reference side (or a second wpscim server: changelog.py); `SCENARIOS` lists them in run order; events.py is the change event the references write |
| bench/report.py | the targets and their evaluation, the markdown table, results-<N>.json, profile-<N>.md |
| bench/httpclient.py | the load generator's HTTP/1.1 client (and why it is hand-written) |
| bench/wpscim_api.py | every name the bench imports from wpscim |
| bench/seed.py | seeding and resetting `wpscim_bench_<N>` |
| bench/wordpress.py | the companion row's WordPress: Debian's 6.1 served by `php -S` for the seeded database (a fresh install's options added), the companion its only mu-plugin |
| bench/fastpath.py | which driver fast-path parts earn their upkeep: paired runs of the whole fast path, the plain driver and the fast path without each part (a separate tool) |
| bench/sqltrace.py | which SQL each scenario's request runs, in-process (a separate tool) |
| bench/client_cost.py | the load generator's CPU per request, HttpClient against http.client (a separate tool) |

Output: the markdown table(s) on stdout and in bench/out/latest.md, numbers in
bench/out/results-<N>.json, the server's log in bench/out/server-<N>.log. `--profile` samples the
server with py-spy during every scenario and writes bench/out/profile-<N>.md (hottest frames).
The figures and the machine states they were measured in: bench/RESULTS.md.

Needs: a MySQL/MariaDB server (`--database-url`, default mysql://root@127.0.0.1:3306/, the user
must be able to create databases) and wpscim importable by this Python (its venv); for the changelog
rows a Redis server (`--redis-url`, default redis://127.0.0.1:6379/11: a database of the bench's own,
keys under a prefix of the run's own), for the companion row PHP (php-cli, php-mysql) and Debian's
WordPress 6.1 (/usr/share/wordpress). Without them those rows say n/a.

    python bench/run.py --only changelog,companion    # the change log's rows alone (and changelog_wake)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root: the `bench` package

from bench import report  # noqa: E402
from bench.runner import OUT, Bench, SizeRun, log  # noqa: E402
from bench.scenarios import SCENARIOS  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="wpscim HTTP throughput and latency next to a raw-SQL reference.",
        epilog="See bench/scenarios/ for what every scenario measures.",
    )
    parser.add_argument("--users", help="seeded users, one size or several separated by commas (default 10000; --quick: 2000)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--high-clients", type=int, default=16, help="concurrent clients of the second lookup run (default 16)")
    parser.add_argument("--seconds", type=float, help="length of one measured phase (default 2; --quick 0.25)")
    parser.add_argument("--warmup", type=float, help="warm-up per side and scenario, seconds (default 0.5; --quick 0.1)")
    parser.add_argument("--rounds", type=int, help="alternating reference/wpscim rounds per scenario (default 3; --quick 2)")
    parser.add_argument("--import-rounds", type=int, default=1, help="full imports per side (default 1)")
    parser.add_argument("--stream-repeats", type=int, help="GET /Groups/subscriber per side (default 3; --quick 2)")
    parser.add_argument("--server", choices=["granian", "gunicorn"], default="granian", help="wpscim serve --server (default granian)")
    parser.add_argument("--server-processes", type=int, default=1, help="wpscim serve --processes (default 1)")
    parser.add_argument("--server-threads", type=int, default=4, help="wpscim serve --threads (default 4, wpscim's default)")
    parser.add_argument("--pool-size", type=int, help="wpscim serve --pool-size (default: wpscim's, one per thread)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("WPSCIM_BENCH_DATABASE_URL", "mysql://root@127.0.0.1:3306/"),
        help="the MySQL/MariaDB server (database part ignored; default mysql://root@127.0.0.1:3306/)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("WPSCIM_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11"),
        help="the Redis the changelog row's server clears, in a database of the bench's own (default "
        "redis://127.0.0.1:6379/11; keys under a prefix of the run's own)",
    )
    parser.add_argument("--reuse", action="store_true", help="keep wpscim_bench_<N> after the run and reuse it (reset) next time")
    parser.add_argument("--profile", action="store_true", help="sample the server with py-spy; writes bench/out/profile-<N>.md")
    parser.add_argument("--no-index", action="store_true", help="do not apply `wpscim index create` (measure without it)")
    parser.add_argument("--quick", action="store_true", help="CI smoke run: small sizes and short phases (< 60 s)")
    parser.add_argument(
        "--only",
        type=lambda v: set(v.split(",")),
        default=set(),
        help=f"run only these scenarios (comma-separated: {', '.join(SCENARIOS)})",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    args.sizes = [int(s.replace("_", "")) for s in (args.users or ("2000" if quick else "10000")).split(",") if s.strip()]
    args.seconds = args.seconds or (0.25 if quick else 2.0)
    args.warmup = args.warmup if args.warmup is not None else (0.1 if quick else 0.5)
    args.rounds = args.rounds or (2 if quick else 3)
    args.stream_repeats = args.stream_repeats or (2 if quick else 3)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    OUT.mkdir(exist_ok=True)
    started = time.perf_counter()
    runs: list[SizeRun] = []
    for users in args.sizes:
        log(f"=== {users:,} users ===")
        run = Bench(args, users).run(SCENARIOS)
        report.write_profile(run)
        runs.append(run)
    return report.publish(runs, args, started)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
