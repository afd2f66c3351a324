"""How the bench measures: one size's setup, the wpscim server subprocess, alternating phases, CPU.

For each size N, `Bench(args, N).run(scenarios)`:

1. seeds `wpscim_bench_<N>` (bench/seed.py; with --reuse a complete seed is reset instead), creates
   a token with `wpscim token create`, applies `wpscim index create` (unless --no-index) and starts
   `python -m wpscim serve` on a free port (`Server`: killed on any exit, also if this process dies:
   PR_SET_PDEATHSIG), on wpscim's defaults but for `--no-access-log` (`SERVER_OPTIONS`);
2. runs each scenario (bench/scenarios/). Most go through `Bench.compare()`: the raw-SQL reference
   (`SqlClient`, one PyMySQL connection per client thread, READ COMMITTED, one transaction per
   operation) and wpscim over HTTP (`HttpClient`, bench/httpclient.py, one persistent connection per
   thread), each with the same number of client threads. A scenario first waits for InnoDB to purge
   the row versions earlier writes left (`wait_for_purge`), resets the server's peak RSS, warms both
   sides up, then runs `--rounds` rounds of one phase per side whose order flips every round
   (`phase_order`), so machine noise hits both; a phase (`run_phase`) lasts `--seconds` or until its
   share of a consumable resource (users to deactivate) is used up. `compare(server=…, reference=…)`
   measures one wpscim server against another instead (`start_server()`: more `wpscim serve`
   processes on the same database, served alike, with further options); `Bench.alternate()` runs any
   number of `Side`s in rounds whose order rotates (bench/fastpath.py compares six servers);
3. accounts CPU over the measured rounds from /proc: wpscim's processes, the database server when it
   runs on this machine, and this process (the load generator or the reference), per request; and
   the share of the machine's CPU time the hypervisor stole (`steal_share`). The server's peak RSS is
   VmHWM from /proc/PID/status summed over its processes, reset before each scenario (writing 5 to
   /proc/PID/clear_refs), so each row shows that scenario's peak; the "whole run" row is the maximum.

Each scenario leaves `Row`s (two `Result`s: latencies, rate, percentiles) in the size's `SizeRun`;
bench/report.py turns them into the table, the JSON and the targets' verdicts.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import http.client
import math
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter as Tally
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import phpserialize
import pymysql
from pymysql.constants import CLIENT

from . import seed as seeding
from .httpclient import BASE, BenchError, HttpClient  # noqa: F401 (BenchError: the scenarios take it from here)
from .wpscim_api import DatabaseAddress, bench_address, database_url

OUT = Path(__file__).resolve().parent / "out"
PAGE = 100
MAX_ERRORS_PER_PHASE = 25


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- cleanup on any exit ----------------------------------------------------------------------------

_cleanups: list = []


def _run_cleanups() -> None:
    while _cleanups:
        action = _cleanups.pop()
        try:
            action()
        except Exception as exc:  # keep cleaning up
            log(f"cleanup failed: {exc}")


def _exit_on_signal(signum, _frame) -> None:
    raise SystemExit(128 + signum)


atexit.register(_run_cleanups)
for _sig in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(_sig, _exit_on_signal)


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the benchmark process dies, however it dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


# --- CPU and hypervisor steal, from /proc ---------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (all its threads), 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, IndexError, ValueError):
        return 0.0


def cpu_times() -> list[int] | None:
    """The machine's CPU time counters (/proc/stat: user, nice, system, idle, iowait, irq, softirq,
    steal, …), or None where there are none."""
    try:
        with open("/proc/stat") as stat:
            return [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None


def steal_share(before: list[int] | None, after: list[int] | None) -> float | None:
    """The share of the machine's CPU time its hypervisor gave to others between two cpu_times(): on a
    shared host, when this is high the run's rates are low and its ratios move (bench/RESULTS.md)."""
    if not before or not after or len(before) < 8 or len(after) < 8:
        return None
    total = sum(after[:8]) - sum(before[:8])
    return (after[7] - before[7]) / total if total > 0 else None


def local_database_pid(address: DatabaseAddress) -> int | None:
    """The MySQL/MariaDB server process when it runs on this machine (its CPU is then measured too): the
    one listening on the address's port (or Unix socket) when that can be read from /proc, since a
    machine may run several (test suites start their own); else the first found."""
    if not address.unix_socket and address.host not in ("127.0.0.1", "localhost", "::1"):
        return None
    servers = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as comm:
                    if comm.read().strip() in ("mariadbd", "mysqld"):
                        servers.append(int(entry))
            except OSError:
                continue
    if len(servers) > 1:
        listening = _listening_inodes(address)
        for pid in servers:
            try:
                links = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
            except OSError:
                continue
            if any(f"socket:[{inode}]" in links for inode in listening):
                return pid
    return min(servers) if servers else None


def _listening_inodes(address: DatabaseAddress) -> set[str]:
    """Inodes of the sockets listening at the address (TCP port, or Unix socket path)."""
    inodes = set()
    if address.unix_socket:
        with contextlib.suppress(OSError), open("/proc/net/unix") as table:
            for line in table.readlines()[1:]:
                fields = line.split()
                if len(fields) >= 8 and fields[7] == address.unix_socket:
                    inodes.add(fields[6])
        return inodes
    for name in ("tcp", "tcp6"):
        with contextlib.suppress(OSError), open(f"/proc/net/{name}") as table:
            for line in table.readlines()[1:]:
                fields = line.split()
                if len(fields) >= 10 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == address.port:
                    inodes.add(fields[9])
    return inodes


# --- InnoDB purge ---------------------------------------------------------------------------------------


def wait_for_purge(address: DatabaseAddress, limit_seconds: float = 120, settled: int = 1000) -> float:
    """Wait until InnoDB has purged the old row versions earlier writes left, so that its purge threads
    do not take CPU from the next measurement: a backlog from a --reuse reset once doubled MariaDB's CPU
    per create. The history list counts transactions, not rows, so a reset's few large deletes keep it
    short while purge works for a minute or more: also wait while purge reports itself running rather
    than "running but idle". Returns the seconds waited."""
    began = time.monotonic()
    try:
        conn = pymysql.connect(**address.connect_args())
    except pymysql.err.Error:
        return 0.0
    try:
        with conn.cursor() as cur:
            while time.monotonic() - began < limit_seconds:
                cur.execute("SHOW ENGINE INNODB STATUS")
                if purge_settled(cur.fetchone()[2], settled):
                    break
                time.sleep(0.5)
    except pymysql.err.Error:  # no PROCESS privilege: measure without waiting
        pass
    finally:
        conn.close()
    return time.monotonic() - began


def purge_settled(innodb_status: str, settled: int = 1000) -> bool:
    """From SHOW ENGINE INNODB STATUS: fewer than `settled` transactions wait for purge, and purge is not
    busy with one (MariaDB and MySQL say "state: running" while purging, "running but idle" after)."""
    lines = innodb_status.splitlines()
    length = next((int(line.split()[-1]) for line in lines if line.startswith("History list length")), 0)
    state = next((line.split("state:", 1)[1].strip() for line in lines if line.startswith("Purge done") and "state:" in line), "")
    return length < settled and state != "running"


# --- the wpscim server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wpscim_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "wpscim", *args]


def server_config(args) -> str:
    """How wpscim is served (`granian × 1`): memory is only compared between runs served alike."""
    return f"{args.server} × {args.server_processes}"


# Every server the bench starts runs without the access log (a JSON line per request on stderr, on by
# default): it is measured on its own (bench/scenarios/changelog.py, row access_log).
SERVER_OPTIONS = ("--no-access-log",)


class Server:
    def __init__(
        self,
        url: str,
        threads: int,
        pool_size: int | None,
        log_path: Path,
        kind: str = "granian",
        processes: int = 1,
        options: tuple[str, ...] = SERVER_OPTIONS,
        env: dict | None = None,
    ):
        self.url = url
        self.threads = threads
        self.pool_size = pool_size
        self.log_path = log_path
        self.kind = kind
        self.processes = processes
        self.options = tuple(options)  # further `wpscim serve` options
        self.env = env  # further environment variables
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.can_reset_peak = True

    def start(self, token: str) -> None:
        args = [
            "serve",
            "--database-url",
            self.url,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--threads",
            str(self.threads),
            "--processes",
            str(self.processes),
            "--server",
            self.kind,
            *self.options,
        ]
        if self.pool_size:
            args += ["--pool-size", str(self.pool_size)]
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            wpscim_command(*args),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
            env={**os.environ, **self.env} if self.env else None,
        )
        _cleanups.append(self.stop)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"wpscim exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", f"{BASE}/Users?count=0", headers={"Authorization": f"Bearer {token}"})
                response = conn.getresponse()
                body = response.read()
                conn.close()
                if response.status == 200:
                    return
                raise RuntimeError(f"wpscim answered {response.status}: {body[:300]!r}")
            except (ConnectionError, OSError, http.client.HTTPException):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"wpscim did not start listening within 60 s:\n{self.log_tail()}") from None
                time.sleep(0.1)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def pids(self) -> list[int]:
        """`wpscim serve` and every process under it (granian's workers serve the requests)."""
        found, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            with contextlib.suppress(OSError):
                for task in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{task}/children") as children:
                        todo += [int(c) for c in children.read().split()]
        return found

    def status(self) -> dict[str, int]:
        """VmRSS/VmHWM in kB, summed over the server's processes."""
        values = {"VmRSS": 0, "VmHWM": 0}
        for pid in self.pids():
            with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as status:
                for line in status:
                    key, _, value = line.partition(":")
                    if key in values:
                        values[key] += int(value.split()[0])
        return values

    def reset_peak(self) -> None:
        if not self.can_reset_peak:
            return
        try:
            for pid in self.pids():
                with open(f"/proc/{pid}/clear_refs", "w") as refs:
                    refs.write("5")
        except OSError:
            self.can_reset_peak = False
            log("cannot reset VmHWM (clear_refs); per-scenario peaks are cumulative")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if getattr(self, "_log", None):
            self._log.close()
        if self.stop in _cleanups:
            _cleanups.remove(self.stop)


# --- the raw-SQL reference's client -----------------------------------------------------------------------


class SqlClient:
    """One PyMySQL connection configured like wpscim's pool (READ COMMITTED, UTC; several statements per
    round trip allowed, for the change event sent with a transaction's last write: scenarios/events.py)."""

    def __init__(self, address: DatabaseAddress):
        self.conn = pymysql.connect(**address.connect_args(), client_flag=CLIENT.MULTI_STATEMENTS)
        with self.conn.cursor() as cur:
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
            cur.execute("SET time_zone = '+00:00'")
        self.conn.commit()

    @contextmanager
    def transaction(self, cursor_class=None):
        cur = self.conn.cursor(cursor_class) if cursor_class else self.conn.cursor()
        try:
            self.conn.begin()
            yield cur
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        finally:
            cur.close()

    def close(self) -> None:
        self.conn.close()


# --- phases ---------------------------------------------------------------------------------------------


@dataclass
class Worker:
    idx: int
    client: object
    rng: random.Random
    state: dict = field(default_factory=dict)


class Sequence:
    """Request numbers for one side of a scenario: unique across its phases, at most `cap` per phase."""

    def __init__(self):
        self.next = 0
        self._lock = threading.Lock()
        self._end = math.inf

    def open(self, cap: int | None) -> None:
        self._end = self.next + cap if cap else math.inf

    def take(self) -> int | None:
        with self._lock:
            if self.next >= self._end:
                return None
            value = self.next
            self.next += 1
            return value


@dataclass
class Result:
    latencies: list = field(default_factory=list)  # seconds
    elapsed: float = 0.0
    errors: int = 0
    first_error: str | None = None
    extra: dict = field(default_factory=dict)

    def add(self, other: Result) -> None:
        self.latencies += other.latencies
        self.elapsed += other.elapsed
        self.errors += other.errors
        self.first_error = self.first_error or other.first_error

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def pct(self, p: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000

    def summary(self) -> dict:
        return {
            "requests": len(self.latencies),
            "elapsed_s": round(self.elapsed, 4),
            "rate": round(self.rate, 2),
            "p50_ms": self.pct(50),
            "p99_ms": self.pct(99),
            "errors": self.errors,
            "first_error": self.first_error,
            **self.extra,
        }


def phase_order(round_number: int) -> tuple[str, str]:
    """The sides' phases in one round: the order flips every round, so that drift hits both alike."""
    return ("raw", "wpscim") if round_number % 2 == 0 else ("wpscim", "raw")


def run_phase(workers: list[Worker], op, seconds: float, seq: Sequence, cap: int | None, finish=None) -> Result:
    """All workers call op(worker, n) in a loop for `seconds` (or until `cap` requests); latency of each."""
    seq.open(cap)
    lat = [[] for _ in workers]
    ends = [0.0] * len(workers)
    result = Result()
    guard = threading.Lock()
    barrier = threading.Barrier(len(workers) + 1)
    deadline = [0.0]

    def body(worker: Worker) -> None:
        barrier.wait()
        mine = lat[worker.idx]
        try:
            while time.perf_counter() < deadline[0]:
                n = seq.take()
                if n is None:
                    break
                began = time.perf_counter()
                try:
                    op(worker, n)
                except Exception as exc:
                    with guard:
                        result.errors += 1
                        result.first_error = result.first_error or f"{type(exc).__name__}: {exc}"[:300]
                        if result.errors >= MAX_ERRORS_PER_PHASE:
                            deadline[0] = 0.0
                else:
                    mine.append(time.perf_counter() - began)
        finally:
            ends[worker.idx] = time.perf_counter()
            if finish:
                try:
                    finish(worker)
                except Exception as exc:
                    with guard:
                        result.errors += 1
                        result.first_error = result.first_error or f"finish: {type(exc).__name__}: {exc}"[:300]

    threads = [threading.Thread(target=body, args=(w,), daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + seconds
    started = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    result.elapsed = max(ends) - started
    result.latencies = [x for part in lat for x in part]
    return result


# --- what a scenario leaves -------------------------------------------------------------------------------


@dataclass
class Side:
    """One side of an alternating comparison (Bench.alternate): its clients, what each sends, and the
    server whose processes' CPU it is charged."""

    name: str
    workers: list
    op: object  # op(worker, n)
    finish: object = None  # finish(worker), after each phase, outside its time
    server: Server | None = None
    processes: dict = field(default_factory=dict)  # more processes charged to this side: {part: function returning PIDs}
    seq: Sequence = field(default_factory=Sequence)
    result: Result = field(default_factory=Result)
    cpu: Tally = field(default_factory=Tally)


@dataclass
class Row:
    key: str
    title: str
    clients: int
    wpscim: Result | None
    raw: Result | None
    peak_rss_kb: int | None = None
    target: str = "—"
    status: str = "info"
    unit: str = "req/s"
    steal: float | None = None  # the share of CPU time the hypervisor took over the measured rounds
    labels: tuple[str, str] | None = None  # two wpscim servers compared: (measured, baseline), shown apart

    @property
    def ratio(self) -> float | None:
        if self.wpscim and self.raw and self.wpscim.rate and self.raw.rate:
            return self.wpscim.rate / self.raw.rate
        return None

    @property
    def round_ratios(self) -> list[float]:
        """wpscim's rate over the reference's in each round (adjacent phases): how much the machine's
        noise moves the ratio within one run."""
        if not (self.wpscim and self.raw):
            return []
        pairs = zip(self.wpscim.extra.get("round_rates", []), self.raw.extra.get("round_rates", []))
        return [round(w / r, 3) for w, r in pairs if r]

    def cpu_ms(self, side: str) -> dict | None:
        result = self.wpscim if side == "wpscim" else self.raw
        return result.extra.get("cpu_ms_per_request") if result else None

    def cpu_text(self, side: str) -> str:
        """`0.94 (server 0.44 + database 0.41 + bench 0.09)`: CPU ms per request, whole and by process."""
        parts = self.cpu_ms(side)
        if not parts:
            return "—"
        return f"{sum(parts.values()):.2f} (" + " + ".join(f"{name} {value:.2f}" for name, value in parts.items()) + ")"

    def to_json(self) -> dict:
        return {
            "key": self.key,
            "title": self.title,
            "clients": self.clients,
            "peak_rss_kb": self.peak_rss_kb,
            "target": self.target,
            "status": self.status,
            "ratio": self.ratio,
            "round_ratios": self.round_ratios,
            "steal": self.steal,
            "labels": self.labels,
            "wpscim": self.wpscim.summary() if self.wpscim else None,
            "raw": self.raw.summary() if self.raw else None,
        }


@dataclass
class SizeRun:
    users: int
    rows: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    profiles: dict = field(default_factory=dict)  # scenario key -> Tally of py-spy stacks (--profile)


# --- one size -------------------------------------------------------------------------------------------


class Bench:
    """One size: its seeded database, token and server, and what the scenarios need to run against them."""

    def __init__(self, args, users: int):
        self.args = args
        self.users = users
        self.address = bench_address(args.database_url, users)
        self.url = database_url(self.address)
        self.run_id = secrets.token_hex(3)
        self.actor = f"bench-{self.run_id}"  # the token's name: the actor of wpscim's change events (and the references')
        self.database_pid = local_database_pid(self.address)
        self.result = SizeRun(users)
        self.server: Server | None = None
        self.servers: dict[str, Server] = {}  # further servers of this size (start_server)
        self._drop = None
        self.token = ""
        # Disjoint user ranges for the writing scenarios (reads use every user): the group members
        # (PAGE per client), then the users to deactivate (half per side), then the users to PUT.
        members = args.clients * PAGE
        rest = users - members
        if rest < 200:
            raise SystemExit(f"--users {users} is too small for {args.clients} clients (need > {members + 200})")
        self.member_first = 1
        self.deactivate_first = members + 1
        self.deactivate_size = int(rest * 0.6) // 2  # per side
        self.put_first = self.deactivate_first + 2 * self.deactivate_size
        self.put_size = users - self.put_first + 1

    # -- setup --

    def prepare(self) -> None:
        info = self.result.info
        if self.args.reuse and seeding.seeded_size(self.address) == self.users:
            info["seed_seconds"] = None
            info["reset_seconds"] = round(seeding.reset(self.address, self.users, log), 1)
        else:
            info["seed_seconds"] = round(seeding.seed(self.address, self.users, log), 1)
        if not self.args.reuse:
            self._drop = lambda: seeding.drop(self.address)
            _cleanups.append(self._drop)
        with seeding.connect(self.address, self.address.database) as conn, conn.cursor() as cur:
            cur.execute("SELECT option_value FROM wp_options WHERE option_name = 'db_version'")
            self.db_version = int(cur.fetchone()[0])
            cur.execute("SELECT option_value FROM wp_options WHERE option_name = 'wp_user_roles'")
            roles = phpserialize.loads(cur.fetchone()[0].encode(), decode_strings=True)
            cur.execute("SELECT VERSION()")
            info["database"] = cur.fetchone()[0]
        self.levels = {
            slug: max([int(c[6:]) for c, on in (d.get("capabilities") or {}).items() if on and c.startswith("level_")] or [0])
            for slug, d in roles.items()
        }
        name = self.actor
        made = subprocess.run(
            wpscim_command("token", "create", "--name", name, "--database-url", self.url), capture_output=True, text=True, timeout=60
        )
        if made.returncode != 0:
            raise RuntimeError(f"wpscim token create failed: {made.stderr.strip()}")
        self.token = made.stdout.strip().splitlines()[-1]
        if not self.args.no_index:  # the optional (meta_key, meta_value) index externalId lookups need
            indexed = subprocess.run(
                wpscim_command("index", "create", "--database-url", self.url), capture_output=True, text=True, timeout=600
            )
            if indexed.returncode != 0:
                raise RuntimeError(f"wpscim index create failed: {indexed.stderr.strip()}")
        info["lookup_index"] = "no (--no-index)" if self.args.no_index else "yes (wpscim index create)"
        if self.args.reuse:
            _cleanups.append(
                lambda: subprocess.run(wpscim_command("token", "revoke", name, "--database-url", self.url), capture_output=True, timeout=60)
            )
        OUT.mkdir(exist_ok=True)
        self.server = Server(
            self.url,
            self.args.server_threads,
            self.args.pool_size,
            OUT / f"server-{self.users}.log",
            kind=self.args.server,
            processes=self.args.server_processes,
        )
        self.server.start(self.token)
        self.server.reset_peak()
        status = self.server.status()
        info.update(
            server_pid=self.server.proc.pid,
            server_threads=self.args.server_threads,
            server=server_config(self.args),
            server_options=" ".join(self.server.options),
            startup_rss_kb=status["VmRSS"],
            startup_hwm_kb=status["VmHWM"],
        )
        log(f"wpscim pid {self.server.proc.pid} on port {self.server.port}, RSS {status['VmRSS'] / 1024:.1f} MB")

    def finish(self) -> None:
        """Stop the servers; drop the database unless --reuse (at once: several sizes need the disk)."""
        for server in [*self.servers.values(), *([self.server] if self.server else [])]:
            server.stop()
        self.servers.clear()
        drop = getattr(self, "_drop", None)
        if drop and drop in _cleanups:
            _cleanups.remove(drop)
            drop()

    # -- clients --

    def http_client(self, server: Server | None = None) -> HttpClient:
        return HttpClient((server or self.server).port, self.token)

    def sql_client(self) -> SqlClient:
        return SqlClient(self.address)

    def http_workers(self, n: int, key: str, server: Server | None = None) -> list[Worker]:
        """`n` HTTP clients of `server` (default the size's own). Their random numbers are seeded by the
        scenario only, so two servers compared get the same sequence of requests."""
        return [Worker(i, self.http_client(server), random.Random(f"{key}/wpscim/{i}")) for i in range(n)]

    def sql_workers(self, n: int, key: str) -> list[Worker]:
        return [Worker(i, self.sql_client(), random.Random(f"{key}/raw/{i}")) for i in range(n)]

    @staticmethod
    def close(workers: list[Worker]) -> None:
        for worker in workers:
            if worker.client is not None:
                worker.client.close()

    # -- profiling --

    @contextmanager
    def profiled(self, key: str):
        """With --profile: sample the server (and its worker processes) with py-spy while the block runs."""
        if not self.args.profile:
            yield
            return
        spy = Path(sys.executable).with_name("py-spy")
        spy = str(spy) if spy.exists() else "py-spy"
        path = OUT / f"pyspy-{self.users}-{key}.txt"
        proc = subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(self.server.proc.pid),
                "--rate",
                "200",
                "--format",
                "raw",
                "--nonblocking",
                "--subprocesses",
                "--output",
                str(path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        stop = lambda: (proc.poll() is None and proc.send_signal(signal.SIGINT), proc.wait(timeout=30))  # noqa: E731
        _cleanups.append(stop)
        time.sleep(0.5)
        try:
            yield
        finally:
            stop()
            _cleanups.remove(stop)
            stacks = Tally()
            if path.exists():
                for line in path.read_text(errors="replace").splitlines():
                    frames, _, count = line.rpartition(" ")
                    if count.isdigit():
                        stacks[frames] += int(count)
            self.result.profiles[key] = stacks

    # -- one scenario: the reference and wpscim, alternating --

    def compare(
        self,
        key: str,
        title: str,
        clients: int,
        http_op,
        sql_op,
        cap_per_side: int | None = None,
        http_finish=None,
        sql_finish=None,
        seconds: float | None = None,
        *,
        server: Server | None = None,
        reference: Server | None = None,
        labels: tuple[str, str] | None = None,
        before_phase=None,
        after_phase=None,
        processes: dict | None = None,
    ) -> Row:
        """Run `sql_op(worker, n)` on `clients` SqlClient threads and `http_op(worker, n)` on as many
        HttpClient threads, in alternating phases; record the Row under `key`. `cap_per_side` bounds
        the requests of a consumable resource (spread over the warm-up and the rounds); `*_finish(worker)`
        runs in each worker after its phase, outside the phase's time.

        Two wpscim servers instead: `server` (default: the size's server) is measured with `http_op`,
        `reference` (another Server) takes the raw-SQL reference's place with `sql_op` sent over HTTP, and
        `labels` names the two sides in the table (bench/report.py shows such rows apart).
        `before_phase(side)` and `after_phase(side, phase)` run around each measured phase (side "wpscim"
        or "raw"); `processes` ({part: function returning PIDs}) are more processes whose CPU the measured
        side is charged (e.g. a WordPress it waits for)."""
        args = self.args
        server = server or self.server
        waited = wait_for_purge(self.address)
        if waited >= 1:
            log(f"waited {waited:.0f} s for InnoDB to purge earlier writes")
        log(title if "clients)" in title else f"{title} ({clients} clients)")
        sides = [
            Side(
                "raw",
                self.http_workers(clients, key, reference) if reference else self.sql_workers(clients, key),
                sql_op,
                sql_finish,
                reference,
            ),
            Side("wpscim", self.http_workers(clients, key, server), http_op, http_finish, server, processes=processes or {}),
        ]
        measured_from = self.alternate(
            key, sides, seconds or args.seconds, cap_per_side=cap_per_side, before_phase=before_phase, after_phase=after_phase
        )
        raw, wp = sides
        row = Row(
            key,
            title,
            clients,
            wp.result,
            raw.result,
            server.status()["VmHWM"],
            steal=steal_share(measured_from, cpu_times()),
            labels=labels,
        )
        self.result.rows[key] = row
        names = labels or ("wpscim", "raw")
        log(
            f"  {names[0]} {row.wpscim.rate:.0f}/s p50 {row.wpscim.pct(50) or 0:.1f} ms, {names[1]} {row.raw.rate:.0f}/s, "
            f"ratio {row.ratio or 0:.2f}"
            + (f" (rounds {min(row.round_ratios):.2f}–{max(row.round_ratios):.2f})" if row.round_ratios else "")
            + (
                f", ERRORS {row.wpscim.errors}/{row.raw.errors}: {row.wpscim.first_error or row.raw.first_error}"
                if row.wpscim.errors or row.raw.errors
                else ""
            )
        )
        if row.cpu_ms("wpscim") is not None:
            log(
                f"  CPU per request: {names[0]} {row.cpu_text('wpscim')}; {names[1]} {row.cpu_text('raw')}"
                + (f"; stolen by the hypervisor: {row.steal:.0%} of the machine's CPU time" if row.steal is not None else "")
            )
        return row

    def alternate(
        self,
        key: str,
        sides: list[Side],
        seconds: float,
        cap_per_side: int | None = None,
        before_phase=None,
        after_phase=None,
        rounds: int | None = None,
        warmup: float | None = None,
    ) -> list[int] | None:
        """Warm every side up, then run `rounds` (--rounds) rounds of one phase per side, the order rotating
        by one side each round (two sides: flipping, `phase_order`), so that drift hits all sides alike.
        Fills each side's Result (with the rate of each round in extra["round_rates"] and the CPU ms per
        request of its processes in extra["cpu_ms_per_request"]); returns cpu_times() from before the
        measured rounds. The workers are closed at the end."""
        args = self.args
        rounds = rounds or args.rounds
        warmup = args.warmup if warmup is None else warmup
        for side in sides:
            if side.server:
                side.server.reset_peak()
        phase_cap = cap_per_side // (rounds + 1) if cap_per_side else None
        try:
            with self.profiled(key):
                for side in sides:
                    warm = run_phase(side.workers, side.op, warmup, side.seq, phase_cap, side.finish)
                    if warm.errors:
                        log(f"  warm-up {side.name}: {warm.errors} errors, first: {warm.first_error}")
                measured_from = cpu_times()
                for r in range(rounds):
                    shift = r % len(sides)
                    for side in sides[shift:] + sides[:shift]:
                        if before_phase:
                            before_phase(side.name)
                        before = self.cpu_now(side.server, side.processes)
                        phase = run_phase(side.workers, side.op, seconds, side.seq, phase_cap, side.finish)
                        side.cpu.update({part: after - before[part] for part, after in self.cpu_now(side.server, side.processes).items()})
                        side.cpu["requests"] += len(phase.latencies)
                        side.result.add(phase)
                        side.result.extra.setdefault("round_rates", []).append(round(phase.rate, 2))
                        if after_phase:
                            after_phase(side.name, phase)
        finally:
            for side in sides:
                http = [w.client for w in side.workers if isinstance(w.client, HttpClient)]
                if any(c.retried_503 for c in http):
                    side.result.extra["retried_503"] = sum(c.retried_503 for c in http)
                    log(
                        f"  {side.name}: wpscim answered 503 {side.result.extra['retried_503']} times (retried), e.g. "
                        f"{next(c.last_503 for c in http if c.last_503)!r}"
                    )
                self.close(side.workers)
        for side in sides:
            if side.cpu["requests"]:
                parts = [*(["server"] if side.server else []), *side.processes, *(["database"] if self.database_pid else []), "bench"]
                side.result.extra["cpu_ms_per_request"] = {part: round(1000 * side.cpu[part] / side.cpu["requests"], 3) for part in parts}
        return measured_from

    def cpu_now(self, server: Server | None | str = "own", processes: dict | None = None) -> dict[str, float]:
        """CPU seconds so far of `server`'s processes (default the size's own server; None: no server),
        of further `processes` ({part: function returning PIDs}), the database server (if local) and this
        process, which runs the load generator or the raw-SQL reference."""
        server = self.server if server == "own" else server
        times = os.times()
        now = {"bench": times.user + times.system}
        if server is not None:
            now["server"] = sum(process_cpu(pid) for pid in server.pids())
        for part, pids in (processes or {}).items():
            now[part] = sum(process_cpu(pid) for pid in pids())
        if self.database_pid:
            now["database"] = process_cpu(self.database_pid)
        return now

    def start_server(self, name: str, options: tuple[str, ...] = (), env: dict | None = None, access_log: bool = False) -> Server:
        """Another `wpscim serve` on this size's database, served like the size's own server (same server
        kind, processes, threads, pool; no access log unless `access_log`) with further `options` and
        environment; one per `name` (a running one is returned again), stopped at the end of the size or
        by its stop(). Its log: bench/out/server-<N>-<name>.log."""
        running = self.servers.get(name)
        if running and running.proc and running.proc.poll() is None:
            return running
        server = Server(
            self.url,
            self.args.server_threads,
            self.args.pool_size,
            OUT / f"server-{self.users}-{name}.log",
            kind=self.args.server,
            processes=self.args.server_processes,
            options=(*(() if access_log else SERVER_OPTIONS), *options),
            env=env,
        )
        server.start(self.token)
        self.servers[name] = server
        log(
            f"wpscim ({name}) pid {server.proc.pid} on port {server.port}: wpscim serve {' '.join(server.options)}"
            + (" " + " ".join(f"{k}={v}" for k, v in env.items()) if env else "")
        )
        return server

    # -- all --

    def run(self, scenarios: dict) -> SizeRun:
        """Set up, run `scenarios` (name -> function(bench), in order; only those in --only when given), tear down."""
        info = self.result.info
        info["started"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        info["loadavg_before"] = os.getloadavg()
        cpu_before = cpu_times()
        began = time.perf_counter()
        try:
            self.prepare()
            for name, scenario in scenarios.items():
                if not self.args.only or name in self.args.only:
                    scenario(self)
            info["server_status_end"] = self.server.status()
        finally:
            self.finish()
        info["loadavg_after"] = os.getloadavg()
        info["steal"] = steal_share(cpu_before, cpu_times())
        info["seconds"] = round(time.perf_counter() - began, 1)
        return self.result
