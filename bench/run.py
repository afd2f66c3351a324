"""wpscim benchmark: HTTP throughput and latency next to a raw-SQL reference, on a seeded WordPress.

    python bench/run.py --users 10000 --clients 4      # one size
    python bench/run.py --users 10000,100000           # several sizes in one run (checks memory is flat)
    python bench/run.py --quick                         # CI smoke: 2,000 users, short phases, < 60 s

What it does, for each size N:

1. Seeds a fresh database `wpscim_bench_<N>` (dropped and recreated; kept and reused only with
   `--reuse`, which also resets what a previous run changed) with N subscribers written by bulk
   multi-row INSERTs shaped exactly like wpscim's own rows (see bench/seed.py): one wp_users row and
   16 wp_usermeta rows each, including wp_capabilities, wp_user_level and wpscim_externalId.
2. Creates a token with `wpscim token create` and starts `python -m wpscim serve` on a free port as
   a subprocess (killed on any exit, also if this process dies: PR_SET_PDEATHSIG).
3. Runs each scenario against wpscim over HTTP/1.1 and against a raw-SQL reference that does the
   same database work through the same driver (PyMySQL, one connection per client thread,
   READ COMMITTED, one transaction per operation) with the same number of client threads. Each
   scenario has a warm-up, then `--rounds` rounds that alternate reference and wpscim phases (the
   order flips every round) so machine noise hits both; a phase lasts `--seconds` or until its
   share of a consumable resource (users to deactivate) is used up. HTTP clients keep one
   persistent connection per thread (a plain socket; see HttpClient).

| scenario | wpscim request | raw-SQL reference |
| --- | --- | --- |
| create | POST /Users (Okta-shaped body, with/without password) | INSERT users row + its 16 usermeta rows, one transaction (+ the same password hash function, client-side) |
| create, checked (info) | the same | the same, after taking two named locks (as wpscim takes two for such a create) and asking whether the login, email, nicename or userName is taken, as wpscim must (WordPress has no unique index); locks released after COMMIT |
| password hashing | — | the hash alone (what a create with password pays on top) |
| lookup userName | GET /Users?filter=userName eq "…" | SELECT the users row by user_login + SELECT its usermeta |
| lookup externalId | GET /Users?filter=externalId eq "…" | SELECT users JOIN usermeta on wpscim_externalId + SELECT its usermeta |
| PATCH deactivate | PATCH /Users/{id} replace active=false | lock row, read usermeta, set the hash aside, replace it, end sessions, park app passwords, touch lastModified |
| PUT update | PUT /Users/{id} (new names and displayName) | lock row, read usermeta, UPDATE display_name, first/last_name, lastModified |
| page of 100 | GET /Users?startIndex=random&count=100 | SELECT 100 users ORDER BY ID LIMIT/OFFSET + their usermeta |
| full import | GET /Users?startIndex=1,101,…&count=100 until totalResults (1 client, like Okta) | the same pages with LIMIT/OFFSET until a short page |
| group membership | PATCH /Groups/editor add 100 members, then remove the same 100 | lock the 100 users, read their wp_capabilities/wp_user_level, upsert both (200 rows) |
| groups list | GET /Groups?excludedAttributes=members | SELECT the roles options |
| group stream | GET /Groups/subscriber (every seeded user is a member) | the member query, streamed (unbuffered cursor) |

Lookups are also run at `--high-clients` (16) concurrent clients. The server's peak RSS is VmHWM
from /proc/PID/status, reset before each scenario (writing 5 to /proc/PID/clear_refs), so each row
shows that scenario's peak; the "whole run" row is the maximum.

Targets (4 clients, 2 cores): create without password >= 0.5x the reference; lookup by userName
>= 0.5x; page of 100 >= 0.7x; at 100,000 users an externalId lookup's p50 within 2x of a userName
lookup's and the full import under 30 s (shown as info at other sizes); lookups at 16 clients p99
< 50 ms; peak RSS flat across sizes (largest <= 1.25x smallest; compared with the other sizes of
this run, else with earlier results in bench/out/results-<N>.json).

Each scenario first waits for InnoDB to purge the row versions earlier writes left (their purge would
take CPU from the measurement), and every row reports the CPU time per request of wpscim's processes,
the database server (when local) and the benchmark process, from /proc over the measured rounds.

Output: the markdown table(s) on stdout and in bench/out/latest.md, numbers in
bench/out/results-<N>.json, the server's log in bench/out/server-<N>.log. `--profile` samples the
server with py-spy during every scenario and writes bench/out/profile-<N>.md (hottest frames).

Needs: a MySQL/MariaDB server (`--database-url`, default mysql://root@127.0.0.1:3306/, the user
must be able to create databases) and wpscim importable by this Python (its venv).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import http.client
import json
import math
import os
import platform
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
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import orjson  # noqa: E402
import phpserialize  # noqa: E402
import pymysql  # noqa: E402

import seed as seeding  # noqa: E402
from wpscim.wordpress import passwords  # noqa: E402
from wpscim.wordpress.db import DatabaseAddress, parse_database_url  # noqa: E402

SERVER_PROCESSES = 1  # wpscim serve --processes
SERVER_KIND = "granian"  # wpscim serve --server
OUT = HERE / "out"
BASE = "/scim/v2"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
GROUP = "editor"  # the role the membership scenario grants and takes away
PAGE = 100
MAX_ERRORS_PER_PHASE = 25
RETRIES_503 = 3  # wpscim answers 503 (Retry-After) for lock timeouts and deadlocks


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


# --- the wpscim server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    """The MySQL/MariaDB server process when it runs on this machine (its CPU is then measured too)."""
    if not address.unix_socket and address.host not in ("127.0.0.1", "localhost", "::1"):
        return None
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as comm:
                    if comm.read().strip() in ("mariadbd", "mysqld"):
                        return int(entry)
            except OSError:
                continue
    return None


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


def wpscim_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "wpscim", *args]


class Server:
    def __init__(self, url: str, threads: int, pool_size: int | None, log_path: Path):
        self.url = url
        self.threads = threads
        self.pool_size = pool_size
        self.log_path = log_path
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.can_reset_peak = True

    def start(self, token: str) -> None:
        args = ["serve", "--database-url", self.url, "--host", "127.0.0.1", "--port", str(self.port), "--threads", str(self.threads),
                "--processes", str(SERVER_PROCESSES), "--server", SERVER_KIND]
        if self.pool_size:
            args += ["--pool-size", str(self.pool_size)]
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(wpscim_command(*args), stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, preexec_fn=_die_with_parent)
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


# --- clients --------------------------------------------------------------------------------------------


class BenchError(Exception):
    pass


class HttpClient:
    """One persistent HTTP/1.1 connection. Requests are written and responses read on a plain, blocking
    socket: the load generator shares the machine's cores with wpscim and MySQL, and http.client cost
    ~190 µs of CPU per request against ~30-40 µs here (which the raw-SQL reference does not pay at all)."""

    def __init__(self, port: int, token: str):
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)  # for stream()
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/scim+json"}
        self.head = f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\nAccept: application/scim+json\r\n".encode()
        self.retried_503 = 0
        self.last_503 = b""

    def _exchange(self, request: bytes) -> tuple[int, bytes]:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=300)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # Blocking from here on: with a timeout every recv is a poll() and a recv() (run_phase bounds a phase).
            self.sock.settimeout(None)
            self.buffer = b""
        self.sock.sendall(request)
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            self._fill()
        head, self.buffer = self.buffer[:end].lower(), self.buffer[end + 4:]
        status = int(head[9:12])  # b"http/1.1 201 created"
        if b"\r\ntransfer-encoding: chunked" in head:
            body = self._chunked()
        else:
            at = head.find(b"\r\ncontent-length:")
            length = int(head[at + 17:].split(b"\r\n", 1)[0]) if at >= 0 else 0
            while len(self.buffer) < length:
                self._fill()
            body, self.buffer = self.buffer[:length], self.buffer[length:]
        if b"\r\nconnection: close" in head:
            self.close_socket()
        return status, body

    def _fill(self) -> None:
        data = self.sock.recv(262144)
        if not data:
            raise ConnectionError("wpscim closed the connection")
        self.buffer += data

    def _chunked(self) -> bytes:
        parts = []
        while True:
            while (end := self.buffer.find(b"\r\n")) < 0:
                self._fill()
            size = int(self.buffer[:end].split(b";")[0], 16)
            while len(self.buffer) < end + 2 + size + 2:
                self._fill()
            parts.append(self.buffer[end + 2:end + 2 + size])
            self.buffer = self.buffer[end + 2 + size + 2:]
            if size == 0:
                return b"".join(parts)

    def close_socket(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def call(self, method: str, path: str, body=None, expect=(200,)) -> bytes:
        data = b"" if body is None else orjson.dumps(body)
        request = f"{method} {BASE}{path} HTTP/1.1\r\n".encode() + self.head
        if body is not None:
            request += b"Content-Type: application/scim+json\r\nContent-Length: %d\r\n" % len(data)
        request += b"\r\n" + data
        for attempt in range(RETRIES_503 + 1):
            try:
                status, payload = self._exchange(request)
            except OSError:
                self.close_socket()  # reconnects on the next request
                raise
            if status != 503 or attempt == RETRIES_503:
                break
            self.retried_503 += 1  # "retry shortly", as an IdP would (at once: the latency includes it)
            self.last_503 = payload[:200]
        if status not in expect:
            raise BenchError(f"{method} {path} -> {status}: {payload[:300]!r}")
        return payload

    def stream(self, path: str) -> tuple[int, bytes | None]:
        """GET a (chunked) body, read 64 kB at a time; returns its size (and the body when asked)."""
        self.conn.request("GET", BASE + path, headers=self.headers)
        response = self.conn.getresponse()
        size, parts = 0, []
        while chunk := response.read(65536):
            size += len(chunk)
            parts.append(chunk)
        if response.status != 200:
            raise BenchError(f"GET {path} -> {response.status}: {b''.join(parts)[:300]!r}")
        return size, b"".join(parts)

    def close(self) -> None:
        self.close_socket()
        self.conn.close()


class SqlClient:
    """One PyMySQL connection configured like wpscim's pool (READ COMMITTED, UTC)."""

    def __init__(self, address: DatabaseAddress):
        self.conn = pymysql.connect(**address.connect_args())
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


@dataclass
class Worker:
    idx: int
    client: object
    rng: random.Random
    state: dict = field(default_factory=dict)


# --- the load generator -------------------------------------------------------------------------------


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

    def add(self, other: "Result") -> None:
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
        return {"requests": len(self.latencies), "elapsed_s": round(self.elapsed, 4), "rate": round(self.rate, 2),
                "p50_ms": self.pct(50), "p99_ms": self.pct(99), "errors": self.errors, "first_error": self.first_error,
                **self.extra}


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


# --- results --------------------------------------------------------------------------------------------


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
        return {"key": self.key, "title": self.title, "clients": self.clients, "peak_rss_kb": self.peak_rss_kb,
                "target": self.target, "status": self.status, "ratio": self.ratio, "round_ratios": self.round_ratios, "steal": self.steal,
                "wpscim": self.wpscim.summary() if self.wpscim else None, "raw": self.raw.summary() if self.raw else None}


@dataclass
class SizeRun:
    users: int
    rows: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)


# --- one size -------------------------------------------------------------------------------------------


class Bench:
    def __init__(self, args, users: int):
        self.args = args
        self.users = users
        server = parse_database_url(args.database_url)
        self.address = DatabaseAddress(server.host, server.port, server.user, server.password, f"wpscim_bench_{users}",
                                       server.unix_socket, server.charset)
        auth = server.user + (":" + quote(server.password, safe="") if server.password else "")
        where = server.host + f":{server.port}"
        self.url = f"mysql://{auth}@{where}/{self.address.database}" + (f"?unix_socket={server.unix_socket}" if server.unix_socket else "")
        self.run_id = secrets.token_hex(3)
        self.database_pid = local_database_pid(self.address)
        self.result = SizeRun(users)
        self.server: Server | None = None
        self._drop = None
        self.token = ""
        self.profiles: dict[str, Tally] = {}
        # Disjoint user ranges for the writing scenarios (reads use every user).
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
        self.levels = {slug: max([int(c[6:]) for c, on in (d.get("capabilities") or {}).items() if on and c.startswith("level_")] or [0])
                       for slug, d in roles.items()}
        name = f"bench-{self.run_id}"
        made = subprocess.run(wpscim_command("token", "create", "--name", name, "--database-url", self.url),
                              capture_output=True, text=True, timeout=60)
        if made.returncode != 0:
            raise RuntimeError(f"wpscim token create failed: {made.stderr.strip()}")
        self.token = made.stdout.strip().splitlines()[-1]
        if not self.args.no_index:  # the optional (meta_key, meta_value) index externalId lookups need
            indexed = subprocess.run(wpscim_command("index", "create", "--database-url", self.url),
                                     capture_output=True, text=True, timeout=600)
            if indexed.returncode != 0:
                raise RuntimeError(f"wpscim index create failed: {indexed.stderr.strip()}")
        info["lookup_index"] = "no (--no-index)" if self.args.no_index else "yes (wpscim index create)"
        if self.args.reuse:
            _cleanups.append(lambda: subprocess.run(wpscim_command("token", "revoke", name, "--database-url", self.url),
                                                    capture_output=True, timeout=60))
        OUT.mkdir(exist_ok=True)
        self.server = Server(self.url, self.args.server_threads, self.args.pool_size, OUT / f"server-{self.users}.log")
        self.server.start(self.token)
        self.server.reset_peak()
        status = self.server.status()
        info.update(server_pid=self.server.proc.pid, server_threads=self.args.server_threads, server=_server_config(),
                    startup_rss_kb=status["VmRSS"], startup_hwm_kb=status["VmHWM"])
        log(f"wpscim pid {self.server.proc.pid} on port {self.server.port}, RSS {status['VmRSS'] / 1024:.1f} MB")

    def finish(self) -> None:
        """Stop the server; drop the database unless --reuse (at once: several sizes need the disk)."""
        if self.server:
            self.server.stop()
            if self.server.stop in _cleanups:
                _cleanups.remove(self.server.stop)
        drop = getattr(self, "_drop", None)
        if drop and drop in _cleanups:
            _cleanups.remove(drop)
            drop()

    # -- workers --

    def http_workers(self, n: int, key: str) -> list[Worker]:
        return [Worker(i, HttpClient(self.server.port, self.token), random.Random(f"{key}/wpscim/{i}")) for i in range(n)]

    def sql_workers(self, n: int, key: str) -> list[Worker]:
        return [Worker(i, SqlClient(self.address), random.Random(f"{key}/raw/{i}")) for i in range(n)]

    @staticmethod
    def close(workers: list[Worker]) -> None:
        for worker in workers:
            if worker.client is not None:
                worker.client.close()

    # -- profiling --

    @contextmanager
    def profiled(self, key: str):
        if not self.args.profile:
            yield
            return
        spy = Path(sys.executable).with_name("py-spy")
        spy = str(spy) if spy.exists() else "py-spy"
        path = OUT / f"pyspy-{self.users}-{key}.txt"
        proc = subprocess.Popen([spy, "record", "--pid", str(self.server.proc.pid), "--rate", "200", "--format", "raw",
                                 "--nonblocking", "--subprocesses", "--output", str(path)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
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
            self.profiles[key] = stacks

    # -- scenario runner --

    def compare(self, key: str, title: str, clients: int, http_op, sql_op, cap_per_side: int | None = None,
                http_finish=None, sql_finish=None, seconds: float | None = None) -> Row:
        args = self.args
        seconds = seconds or args.seconds
        waited = wait_for_purge(self.address)
        if waited >= 1:
            log(f"waited {waited:.0f} s for InnoDB to purge earlier writes")
        log(title if "clients)" in title else f"{title} ({clients} clients)")
        self.server.reset_peak()
        cpu = {"wpscim": Tally(), "raw": Tally()}  # CPU seconds and requests of the measured rounds
        phase_cap = cap_per_side // (args.rounds + 1) if cap_per_side else None
        sides = {
            "raw": (self.sql_workers(clients, key), sql_op, sql_finish, Sequence(), Result()),
            "wpscim": (self.http_workers(clients, key), http_op, http_finish, Sequence(), Result()),
        }
        try:
            with self.profiled(key):
                for name in ("raw", "wpscim"):
                    workers, op, fin, seq, _ = sides[name]
                    warm = run_phase(workers, op, args.warmup, seq, phase_cap, fin)
                    if warm.errors:
                        log(f"  warm-up {name}: {warm.errors} errors, first: {warm.first_error}")
                measured_from = cpu_times()
                for r in range(args.rounds):
                    for name in (("raw", "wpscim") if r % 2 == 0 else ("wpscim", "raw")):
                        workers, op, fin, seq, total = sides[name]
                        before = self.cpu_now()
                        phase = run_phase(workers, op, seconds, seq, phase_cap, fin)
                        cpu[name].update({part: after - before[part] for part, after in self.cpu_now().items()})
                        cpu[name]["requests"] += len(phase.latencies)
                        total.add(phase)
                        total.extra.setdefault("round_rates", []).append(round(phase.rate, 2))
        finally:
            retried = sum(w.client.retried_503 for w in sides["wpscim"][0])
            last_503 = next((w.client.last_503 for w in sides["wpscim"][0] if w.client.last_503), b"")
            for workers, *_ in sides.values():
                self.close(workers)
        row = Row(key, title, clients, sides["wpscim"][4], sides["raw"][4], self.server.status()["VmHWM"],
                  steal=steal_share(measured_from, cpu_times()))
        for name, used in cpu.items():
            if used["requests"]:
                parts = ("server", "database", "bench") if name == "wpscim" else ("database", "bench")
                sides[name][4].extra["cpu_ms_per_request"] = {part: round(1000 * used[part] / used["requests"], 3)
                                                              for part in parts if part != "database" or self.database_pid}
        if retried:
            row.wpscim.extra["retried_503"] = retried
            log(f"  wpscim answered 503 {retried} times (retried), e.g. {last_503!r}")
        self.result.rows[key] = row
        log(f"  wpscim {row.wpscim.rate:.0f}/s p50 {row.wpscim.pct(50) or 0:.1f} ms, raw {row.raw.rate:.0f}/s, "
            f"ratio {row.ratio or 0:.2f}" + (f" (rounds {min(row.round_ratios):.2f}–{max(row.round_ratios):.2f})" if row.round_ratios else "")
            + (f", ERRORS {row.wpscim.errors}/{row.raw.errors}: "
                                             f"{row.wpscim.first_error or row.raw.first_error}" if row.wpscim.errors or row.raw.errors else ""))
        if row.cpu_ms("wpscim") is not None:
            log(f"  CPU per request: wpscim {row.cpu_text('wpscim')}; raw {row.cpu_text('raw')}"
                + (f"; stolen by the hypervisor: {row.steal:.0%} of the machine's CPU time" if row.steal is not None else ""))
        return row

    def cpu_now(self) -> dict[str, float]:
        """CPU seconds so far of wpscim's processes, the database server (if local) and this process,
        which runs the load generator or the raw-SQL reference."""
        times = os.times()
        now = {"server": sum(process_cpu(pid) for pid in self.server.pids()), "bench": times.user + times.system}
        if self.database_pid:
            now["database"] = process_cpu(self.database_pid)
        return now

    # -- scenarios: reads --

    def lookups(self, clients: int, suffix: str = "", title_suffix: str = "") -> None:
        n = self.users

        def pick(w: Worker) -> int:
            return w.rng.randint(1, n)

        def http_by(attr: str, value_of):
            def op(w: Worker, seq: int) -> None:
                i = pick(w)
                payload = w.client.call("GET", "/Users?filter=" + quote(f'{attr} eq "{value_of(i)}"', safe=""))
                if seq % 50 == 0:
                    doc = json.loads(payload)
                    if doc["totalResults"] != 1 or doc["Resources"][0]["id"] != str(i):
                        raise BenchError(f"{attr} lookup of user {i} returned {payload[:200]!r}")
            return op

        def sql_user_name(w: Worker, seq: int) -> None:
            i = pick(w)
            with w.client.transaction() as cur:
                cur.execute("SELECT * FROM wp_users WHERE user_login = %s", (seeding.login(i),))
                row = cur.fetchone()
                cur.execute("SELECT user_id, meta_key, meta_value FROM wp_usermeta WHERE user_id = %s ORDER BY umeta_id", (row[0],))
                cur.fetchall()

        def sql_external_id(w: Worker, seq: int) -> None:
            i = pick(w)
            with w.client.transaction() as cur:
                cur.execute("SELECT u.* FROM wp_users u JOIN wp_usermeta m ON m.user_id = u.ID "
                            "WHERE m.meta_key = 'wpscim_externalId' AND m.meta_value = %s", (seeding.external_id(i),))
                row = cur.fetchone()
                cur.execute("SELECT user_id, meta_key, meta_value FROM wp_usermeta WHERE user_id = %s ORDER BY umeta_id", (row[0],))
                cur.fetchall()

        self.compare(f"lookup_username{suffix}", "lookup by userName eq" + title_suffix, clients, http_by("userName", seeding.login),
                     sql_user_name)
        self.compare(f"lookup_externalid{suffix}", "lookup by externalId eq" + title_suffix, clients,
                     http_by("externalId", seeding.external_id), sql_external_id)

    def page(self) -> None:
        n = self.users

        def http_op(w: Worker, seq: int) -> None:
            start = w.rng.randint(1, n - PAGE + 1)
            payload = w.client.call("GET", f"/Users?startIndex={start}&count={PAGE}")
            if seq % 50 == 0 and len(json.loads(payload)["Resources"]) != PAGE:
                raise BenchError(f"page at {start} is short")

        def sql_op(w: Worker, seq: int) -> None:
            start = w.rng.randint(1, n - PAGE + 1)
            with w.client.transaction() as cur:
                self._sql_page(cur, start - 1)

        self.compare("page", "one page of 100 users", self.args.clients, http_op, sql_op)

    @staticmethod
    def _sql_page(cur, offset: int) -> int:
        cur.execute(f"SELECT * FROM wp_users ORDER BY ID LIMIT {PAGE} OFFSET %s", (offset,))
        ids = [row[0] for row in cur.fetchall()]
        if ids:
            cur.execute("SELECT user_id, meta_key, meta_value FROM wp_usermeta WHERE user_id IN (" + ",".join(["%s"] * len(ids))
                        + ") ORDER BY umeta_id", ids)
            cur.fetchall()
        return len(ids)

    def full_import(self) -> None:
        log("full import (1 client)")
        self.server.reset_peak()

        def wpscim_import() -> Result:
            client, result = HttpClient(self.server.port, self.token), Result()
            start, total, seen = 1, None, 0
            began = time.perf_counter()
            try:
                while total is None or start <= total:
                    t = time.perf_counter()
                    doc = json.loads(client.call("GET", f"/Users?startIndex={start}&count={PAGE}"))
                    result.latencies.append(time.perf_counter() - t)
                    total = doc["totalResults"]
                    seen += len(doc["Resources"])
                    if not doc["Resources"]:
                        break
                    start += PAGE
            except Exception as exc:
                result.errors, result.first_error = 1, f"{type(exc).__name__}: {exc}"[:300]
            finally:
                client.close()
            result.elapsed = time.perf_counter() - began
            if total is not None and seen != total:
                result.errors += 1
                result.first_error = result.first_error or f"import saw {seen} of totalResults {total}"
            result.extra = {"total_s": round(result.elapsed, 2), "users": seen}
            return result

        def raw_import() -> Result:
            client, result = SqlClient(self.address), Result()
            offset, seen = 0, 0
            began = time.perf_counter()
            try:
                while True:
                    t = time.perf_counter()
                    with client.transaction() as cur:
                        got = self._sql_page(cur, offset)
                    result.latencies.append(time.perf_counter() - t)
                    seen += got
                    offset += PAGE
                    if got < PAGE:
                        break
            finally:
                client.close()
            result.elapsed = time.perf_counter() - began
            result.extra = {"total_s": round(result.elapsed, 2), "users": seen}
            return result

        wp, raw = Result(), Result()
        with self.profiled("import"):
            for r in range(self.args.import_rounds):
                for name in (("raw", "wpscim") if r % 2 == 0 else ("wpscim", "raw")):
                    part = raw_import() if name == "raw" else wpscim_import()
                    (raw if name == "raw" else wp).add(part)
                    log(f"  {name} import: {part.extra['users']} users in {part.elapsed:.2f} s")
        for res in (wp, raw):
            res.extra = {"total_s": round(res.elapsed / self.args.import_rounds, 2)}
        self.result.rows["import"] = Row("import", "full import, 100-user pages", 1, wp, raw, self.server.status()["VmHWM"],
                                         unit="pages/s")

    def groups_list(self) -> None:
        def http_op(w: Worker, seq: int) -> None:
            w.client.call("GET", "/Groups?excludedAttributes=members")

        def sql_op(w: Worker, seq: int) -> None:
            with w.client.transaction() as cur:
                cur.execute("SELECT option_name, option_value FROM wp_options "
                            "WHERE option_name IN ('wp_user_roles', 'default_role', 'wpscim_groups')")
                cur.fetchall()

        self.compare("groups_list", "GET /Groups?excludedAttributes=members", self.args.clients, http_op, sql_op)

    def group_stream(self) -> None:
        log("GET /Groups/subscriber streamed (1 client)")
        self.server.reset_peak()
        expected = self.users
        members_sql = ("SELECT u.ID, COALESCE(n.meta_value, u.user_login) FROM wp_usermeta m JOIN wp_users u ON u.ID = m.user_id "
                       "LEFT JOIN wp_usermeta n ON n.user_id = u.ID AND n.meta_key = 'wpscim_userName' "
                       "WHERE m.meta_key = 'wp_capabilities' AND m.meta_value LIKE %s ORDER BY u.ID")
        wp, raw = Result(), Result()
        http, sql = HttpClient(self.server.port, self.token), SqlClient(self.address)
        try:
            with self.profiled("group_stream"):
                for r in range(self.args.stream_repeats):
                    for name in (("raw", "wpscim") if r % 2 == 0 else ("wpscim", "raw")):
                        t = time.perf_counter()
                        if name == "wpscim":
                            try:
                                size, body = http.stream(f"/Groups/{'subscriber'}")
                                took = time.perf_counter() - t
                                if r == 0:
                                    members = len(json.loads(body).get("members", []))
                                    if members != expected:
                                        raise BenchError(f"streamed {members} members, expected {expected}")
                                wp.latencies.append(took)
                                wp.elapsed += took
                                wp.extra["bytes"] = size
                            except Exception as exc:
                                wp.errors += 1
                                wp.first_error = wp.first_error or f"{type(exc).__name__}: {exc}"[:300]
                        else:
                            with sql.transaction(pymysql.cursors.SSCursor) as cur:
                                cur.execute(members_sql, ("%" + 's:10:"subscriber";b:1;' + "%",))
                                count = 0
                                while rows := cur.fetchmany(1000):
                                    count += len(rows)
                            took = time.perf_counter() - t
                            raw.latencies.append(took)
                            raw.elapsed += took
        finally:
            http.close()
            sql.close()
        self.result.rows["group_stream"] = Row("group_stream", f"GET /Groups/subscriber, streamed ({expected:,} members)", 1, wp, raw,
                                               self.server.status()["VmHWM"], unit="streams/s")

    # -- scenarios: writes --

    def _user_body(self, user_name: str, email: str, given: str, family: str, external_id: str, password: str | None = None) -> dict:
        body = {
            "schemas": [USER_SCHEMA],
            "userName": user_name,
            "name": {"givenName": given, "familyName": family},
            "emails": [{"primary": True, "value": email, "type": "work"}],
            "displayName": f"{given} {family}",
            "externalId": external_id,
            "active": True,
        }
        if password:
            body["password"] = password
        return body

    def creates(self) -> None:
        site_defaults = [("nickname", ""), ("first_name", ""), ("last_name", ""), ("description", ""), ("rich_editing", "true"),
                         ("syntax_highlighting", "true"), ("comment_shortcuts", "false"), ("admin_color", "fresh"), ("use_ssl", "0"),
                         ("show_admin_bar_front", "true"), ("locale", "")]

        def new_name(side: str, seq: int, pw: bool) -> str:
            return f"new-{self.run_id}-{side}{'p' if pw else ''}{seq}@example.com"

        def http_create(pw: bool, side: str = "w"):
            def op(w: Worker, seq: int) -> None:
                name = new_name(side, seq, pw)
                body = self._user_body(name, name, "New", f"User{seq}", f"00x{self.run_id}w{seq}", "Correct-Horse-7" if pw else None)
                w.client.call("POST", "/Users", body, expect=(201,))
            return op

        def sql_create(pw: bool, checked: bool = False):
            def op(w: Worker, seq: int) -> None:
                name = new_name("c" if checked else "r", seq, pw)
                user_pass = passwords.hash_password("Correct-Horse-7", self.db_version) if pw else seeding.SEED_HASH
                now = datetime.now(timezone.utc)
                given = {"nickname": name, "first_name": "New", "last_name": f"User{seq}"}
                meta = [(k, given.get(k, v)) for k, v in site_defaults] + [
                    ("wp_capabilities", seeding.CAPS_SUBSCRIBER), ("wp_user_level", "0"),
                    ("wpscim_externalId", f"00x{self.run_id}r{seq}"), ("wpscim_meta.lastModified", now.strftime("%Y-%m-%dT%H:%M:%SZ")),
                    ("wpscim_emails", json.dumps([{"primary": True, "value": name, "type": "work"}], separators=(",", ":"))),
                ]
                nicename = name.replace("@", "").replace(".", "-")[:50]
                with w.client.transaction() as cur:
                    if checked:  # what wp_insert_user() asks (login, email, nicename) and wpscim adds, under named locks
                        cur.execute("SELECT GET_LOCK(%s, 10) + GET_LOCK(%s, 10)", (f"bench:{name}", f"bench:email:{name}"))
                        cur.execute("SELECT 1 FROM wp_users WHERE user_login = %s UNION ALL SELECT 1 FROM wp_usermeta WHERE "
                                    "meta_key = 'wpscim_userName' AND meta_value = %s UNION ALL SELECT 1 FROM wp_users WHERE "
                                    "user_email = %s UNION ALL SELECT 1 FROM wp_users WHERE user_nicename = %s",
                                    (name, name, name, nicename))
                        if cur.fetchall():
                            raise BenchError(f"{name} is taken")
                    cur.execute("INSERT INTO wp_users (user_login, user_pass, user_nicename, user_email, user_url, user_registered, "
                                "user_activation_key, display_name) VALUES (%s, %s, %s, %s, '', %s, '', %s)",
                                (name, user_pass, nicename, name, now.strftime("%Y-%m-%d %H:%M:%S"), f"New User{seq}"))
                    uid = cur.lastrowid
                    cur.execute("INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES " + ", ".join(["(%s, %s, %s)"] * len(meta)),
                                [v for k, value in meta for v in (uid, k, value)])
                if checked:
                    with w.client.conn.cursor() as cur:
                        cur.execute("DO RELEASE_ALL_LOCKS()")
            return op

        self.compare("create", "create (no password)", self.args.clients, http_create(False), sql_create(False))
        self.compare("create_checked", "create (no password) vs raw SQL that also checks uniqueness", self.args.clients,
                     http_create(False, side="v"), sql_create(False, checked=True))
        self.compare("create_password", "create (with password)", self.args.clients, http_create(True), sql_create(True))

        log(f"password hashing alone ({self.args.clients} threads)")
        workers = [Worker(i, None, random.Random(i)) for i in range(self.args.clients)]
        hashing = Result()
        seq = Sequence()
        for _ in range(self.args.rounds):
            hashing.add(run_phase(workers, lambda w, n: passwords.hash_password("Correct-Horse-7", self.db_version),
                                  self.args.seconds, seq, None))
        scheme = "bcrypt $wp$" if passwords.uses_wp_bcrypt(self.db_version) else "phpass $P$"
        self.result.rows["hash"] = Row("hash", f"password hash alone ({scheme}, in client threads)", self.args.clients, None, hashing,
                                       unit="hashes/s")

    def deactivate(self) -> None:
        first, size = self.deactivate_first, self.deactivate_size
        unusable = passwords.unusable_hash(self.db_version)

        def http_op(w: Worker, seq: int) -> None:
            uid = first + seq
            w.client.call("PATCH", f"/Users/{uid}", {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "value": {"active": False}}]})

        def sql_op(w: Worker, seq: int) -> None:
            uid = first + size + seq
            with w.client.transaction() as cur:
                cur.execute("SELECT ID, user_pass FROM wp_users WHERE ID = %s FOR UPDATE", (uid,))
                _, real_hash = cur.fetchone()
                cur.execute("SELECT meta_key, meta_value FROM wp_usermeta WHERE user_id = %s ORDER BY umeta_id", (uid,))
                cur.fetchall()
                cur.execute("INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES (%s, 'wpscim__suspended_pass', %s)",
                            (uid, real_hash))
                cur.execute("UPDATE wp_users SET user_pass = %s, user_activation_key = '' WHERE ID = %s", (unusable, uid))
                cur.execute("DELETE FROM wp_usermeta WHERE user_id = %s AND meta_key = 'session_tokens'", (uid,))
                cur.execute("UPDATE wp_usermeta SET meta_key = 'wpscim__suspended_application_passwords' "
                            "WHERE user_id = %s AND meta_key = '_application_passwords'", (uid,))
                cur.execute("UPDATE wp_usermeta SET meta_value = %s WHERE user_id = %s AND meta_key = 'wpscim_meta.lastModified'",
                            (datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), uid))

        self.compare("deactivate", "PATCH deactivate (active=false)", self.args.clients, http_op, sql_op, cap_per_side=size)

    def put(self) -> None:
        first, size = self.put_first, self.put_size

        def http_op(w: Worker, seq: int) -> None:
            i = first + seq % size
            body = self._user_body(seeding.login(i), seeding.email(i), f"Put{seq}", f"Family{i}", seeding.external_id(i))
            w.client.call("PUT", f"/Users/{i}", body)

        def sql_op(w: Worker, seq: int) -> None:
            i = first + seq % size
            with w.client.transaction() as cur:
                cur.execute("SELECT * FROM wp_users WHERE ID = %s FOR UPDATE", (i,))
                cur.fetchone()
                cur.execute("SELECT meta_key, meta_value FROM wp_usermeta WHERE user_id = %s ORDER BY umeta_id", (i,))
                cur.fetchall()
                cur.execute("UPDATE wp_users SET display_name = %s WHERE ID = %s", (f"Put{seq} Family{i}", i))
                for key, value in (("first_name", f"Put{seq}"), ("last_name", f"Family{i}x"),
                                   ("wpscim_meta.lastModified", datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))):
                    cur.execute("UPDATE wp_usermeta SET meta_value = %s WHERE user_id = %s AND meta_key = %s", (value, i, key))

        self.compare("put", "PUT update (names, displayName)", self.args.clients, http_op, sql_op)

    def membership(self) -> None:
        levels = self.levels

        def batch(w: Worker) -> list[int]:
            start = self.member_first + w.idx * PAGE
            return list(range(start, start + PAGE))

        def http_op(w: Worker, seq: int) -> None:
            add = not w.state.get("added")
            value = [{"value": str(i)} for i in batch(w)]
            w.client.call("PATCH", f"/Groups/{GROUP}", {"schemas": [PATCH_SCHEMA], "Operations": [
                {"op": "add" if add else "remove", "path": "members", "value": value}]}, expect=(200, 204))
            w.state["added"] = add

        def sql_op(w: Worker, seq: int) -> None:
            add = not w.state.get("added")
            ids = batch(w)
            marks = ",".join(["%s"] * len(ids))
            with w.client.transaction() as cur:
                cur.execute(f"SELECT ID FROM wp_users WHERE ID IN ({marks}) ORDER BY ID FOR UPDATE", ids)
                cur.fetchall()
                cur.execute(f"SELECT umeta_id, user_id, meta_key, meta_value FROM wp_usermeta WHERE user_id IN ({marks}) "
                            "AND meta_key IN ('wp_capabilities', 'wp_user_level') ORDER BY umeta_id", ids)
                rows = cur.fetchall()
                caps_of = {uid: value for _, uid, key, value in rows if key == "wp_capabilities"}
                new_caps, upserts = {}, []
                for uid, value in caps_of.items():
                    caps = phpserialize.loads(value.encode(), decode_strings=True)
                    if add:
                        caps[GROUP] = True
                    else:
                        caps.pop(GROUP, None)
                    new_caps[uid] = caps
                for umeta_id, uid, key, _ in rows:
                    caps = new_caps[uid]
                    if key == "wp_capabilities":
                        upserts.append((umeta_id, uid, key, phpserialize.dumps(caps).decode()))
                    else:
                        upserts.append((umeta_id, uid, key, str(max([levels.get(r, 0) for r, on in caps.items() if on] or [0]))))
                cur.execute("INSERT INTO wp_usermeta (umeta_id, user_id, meta_key, meta_value) VALUES "
                            + ",".join(["(%s, %s, %s, %s)"] * len(upserts)) + " ON DUPLICATE KEY UPDATE meta_value = VALUES(meta_value)",
                            [v for row in upserts for v in row])
            w.state["added"] = add

        def undo(op):
            def finish(w: Worker) -> None:
                if w.state.get("added"):
                    op(w, -1)  # leave every member as it was (not measured)
            return finish

        self.compare("membership", f"group PATCH add/remove 100 members (/Groups/{GROUP})", self.args.clients, http_op, sql_op,
                     http_finish=undo(http_op), sql_finish=undo(sql_op))

    # -- all --

    def run(self) -> SizeRun:
        info = self.result.info
        info["started"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        info["loadavg_before"] = os.getloadavg()
        cpu_before = cpu_times()
        began = time.perf_counter()
        try:
            self.prepare()
            scenarios = {
                "lookups": lambda: self.lookups(self.args.clients),
                "lookups_high": lambda: self.lookups(self.args.high_clients, suffix="_high",
                                                     title_suffix=f" ({self.args.high_clients} clients)"),
                "page": self.page, "groups_list": self.groups_list, "group_stream": self.group_stream,
                "import": self.full_import, "creates": self.creates, "deactivate": self.deactivate, "put": self.put,
                "membership": self.membership,
            }
            for name, scenario in scenarios.items():
                if not self.args.only or name in self.args.only:
                    scenario()
            info["server_status_end"] = self.server.status()
        finally:
            self.finish()
        info["loadavg_after"] = os.getloadavg()
        info["steal"] = steal_share(cpu_before, cpu_times())
        info["seconds"] = round(time.perf_counter() - began, 1)
        self.write_profile()
        return self.result

    def write_profile(self) -> None:
        if not self.profiles:
            return
        lines = [f"# py-spy profile of wpscim, {self.users:,} users", "",
                 "Samples of non-idle server threads during each scenario (raw-SQL phases leave the server idle).", ""]
        for key, stacks in self.profiles.items():
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
        path = OUT / f"profile-{self.users}.md"
        path.write_text("\n".join(lines))
        log(f"profile written to {path}")


# --- targets and the table ----------------------------------------------------------------------------

ORDER = ["create", "create_checked", "create_password", "hash", "lookup_username", "lookup_externalid", "deactivate", "put", "page", "import",
         "membership", "lookup_username_high", "lookup_externalid_high", "groups_list", "group_stream"]


def whole_run_peak(run: SizeRun) -> int:
    """Peaks are reset before each scenario, so the run's peak is the largest scenario peak."""
    return max([r.peak_rss_kb or 0 for k, r in run.rows.items() if k != "memory"] + [run.info.get("startup_hwm_kb", 0)])


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


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _rate(result: Result | None) -> str:
    if result is None or not result.latencies:
        return "—"
    rate = result.rate
    return f"{rate:.1f}" if rate < 100 else f"{rate:.0f}"


def table(run: SizeRun) -> str:
    info = run.info
    header = [
        f"### wpscim benchmark — {run.users:,} users",
        "",
        f"{info.get('started', '')}, {os.cpu_count()} CPUs, {platform.python_implementation()} {platform.python_version()}, "
        f"{info.get('database', '?')}; wpscim ({SERVER_KIND}) {SERVER_PROCESSES} process(es) × {info.get('server_threads')} threads; "
        + (f"seeded in {info['seed_seconds']} s" if info.get("seed_seconds") is not None else f"reused seed (reset in {info.get('reset_seconds')} s)")
        + f"; run {info.get('seconds', '?')} s; load average before/after "
        f"{info.get('loadavg_before', (0,))[0]:.1f}/{info.get('loadavg_after', (0,))[0]:.1f}; "
        + (f"CPU time stolen by the hypervisor {info['steal']:.0%}; " if info.get("steal") is not None else "")
        + "server RSS at start "
        f"{info.get('startup_rss_kb', 0) / 1024:.0f} MB.",
        "",
        "| scenario | clients | wpscim req/s | raw SQL req/s | ratio (rounds) | p50 ms wpscim (raw) | p99 ms wpscim (raw) | CPU ms/req wpscim (raw) | server peak RSS | target | pass/fail |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    lines = []
    for key in ORDER + ["memory"]:
        row = run.rows.get(key)
        if row is None:
            continue
        w, r = row.wpscim, row.raw
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
        lines.append(f"| {row.title} | {clients} | {_rate(w)}{unit if w else ''} | {_rate(r)}{unit if r else ''} | {ratio} | {p50} | {p99} | "
                     f"{cpu} | {rss} | {row.target} | {row.status} |")
    return "\n".join(header + lines) + "\n"


def save(run: SizeRun) -> None:
    data = {"users": run.users, "info": run.info, "rows": {k: r.to_json() for k, r in run.rows.items()}}
    (OUT / f"results-{run.users}.json").write_text(json.dumps(data, indent=1, default=str))


def _server_config() -> str:
    return f"{SERVER_KIND} × {SERVER_PROCESSES}"


def earlier_peaks() -> dict[int, int]:
    """Peak RSS of earlier runs of other sizes, served the same way (server and process count)."""
    peaks = {}
    for path in OUT.glob("results-*.json"):
        try:
            data = json.loads(path.read_text())
            if data["info"].get("server") != _server_config():
                continue
            peaks[int(data["users"])] = int(data["info"]["peak_rss_kb"])
        except (ValueError, KeyError, TypeError):
            continue
    return peaks


# --- main -----------------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="wpscim HTTP throughput and latency next to a raw-SQL reference.",
                                     epilog="See the top of bench/run.py for what every scenario measures.")
    parser.add_argument("--users", help="seeded users, one size or several separated by commas (default 10000; --quick: 2000)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--high-clients", type=int, default=16, help="concurrent clients of the second lookup run (default 16)")
    parser.add_argument("--seconds", type=float, help="length of one measured phase (default 2; --quick 0.25)")
    parser.add_argument("--warmup", type=float, help="warm-up per side and scenario, seconds (default 0.5; --quick 0.1)")
    parser.add_argument("--rounds", type=int, help="alternating reference/wpscim rounds per scenario (default 3; --quick 2)")
    parser.add_argument("--import-rounds", type=int, default=1, help="full imports per side (default 1)")
    parser.add_argument("--stream-repeats", type=int, help="GET /Groups/subscriber per side (default 3; --quick 2)")
    parser.add_argument("--server", choices=["granian", "waitress"], default="granian", help="wpscim serve --server (default granian)")
    parser.add_argument("--server-processes", type=int, default=1, help="wpscim serve --processes (default 1)")
    parser.add_argument("--server-threads", type=int, default=4, help="wpscim serve --threads (default 4, wpscim's default)")
    parser.add_argument("--pool-size", type=int, help="wpscim serve --pool-size (default: wpscim's, one per thread)")
    parser.add_argument("--database-url", default=os.environ.get("WPSCIM_BENCH_DATABASE_URL", "mysql://root@127.0.0.1:3306/"),
                        help="the MySQL/MariaDB server (database part ignored; default mysql://root@127.0.0.1:3306/)")
    parser.add_argument("--reuse", action="store_true", help="keep wpscim_bench_<N> after the run and reuse it (reset) next time")
    parser.add_argument("--profile", action="store_true", help="sample the server with py-spy; writes bench/out/profile-<N>.md")
    parser.add_argument("--no-index", action="store_true", help="do not apply `wpscim index create` (measure without it)")
    parser.add_argument("--quick", action="store_true", help="CI smoke run: small sizes and short phases (< 60 s)")
    parser.add_argument("--only", type=lambda v: set(v.split(",")), default=set(),
                        help="run only these scenarios (comma-separated: lookups, lookups_high, page, groups_list, "
                             "group_stream, import, creates, deactivate, put, membership)")
    args = parser.parse_args(argv)
    global SERVER_PROCESSES, SERVER_KIND
    SERVER_PROCESSES, SERVER_KIND = args.server_processes, args.server
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
        runs.append(Bench(args, users).run())
    previous = earlier_peaks()
    this_run = {run.users: whole_run_peak(run) for run in runs}
    tables = []
    for run in runs:
        others = {**previous, **this_run} if len(runs) == 1 else this_run
        evaluate(run, args.clients, args.high_clients, others)
        save(run)
        tables.append(table(run))
    text = "\n".join(tables)
    text += ("\nratio = wpscim req/s ÷ raw-SQL req/s over all rounds, in parentheses the lowest and highest of single rounds (adjacent phases); p50/p99 are per request (per page for the import, per whole response for the "
             "stream), the raw reference's in parentheses. CPU ms/req: CPU time of wpscim's processes, the database server (when it runs on "
             "this machine) and the benchmark process (load generator or reference) over the measured rounds, per request; "
             "results-<N>.json has the parts. Memory is compared with " +
             ("the other sizes of this run." if len(runs) > 1 else "earlier results-<N>.json of other sizes, if any.") + "\n")
    print(text)
    (OUT / "latest.md").write_text(text)
    log(f"done in {time.perf_counter() - started:.0f} s; table in {OUT / 'latest.md'}")
    failed = [row for run in runs for row in run.rows.values() if row.status.startswith("FAIL (") and "errors" in row.status]
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
