"""The fault tier: `wpscim serve` under a realistic concurrent load while its MariaDB is killed,
stalled, or has its sessions cut, and while wpscim itself is stopped with SIGTERM.

Every test starts a MariaDB of its own on another port (tests/private_mariadb.py) with a copy of the
WordPress that WordPress installed itself (`wordpress_template`); the shared server is only read, to
copy that database. Nothing is mocked: real mariadbd, real signals, real `wpscim serve` subprocesses,
real HTTP.

What is asserted (issue "Hardening": failures):
- no 500 at any time; every error while the database is down is a 503 with Retry-After and a SCIM
  error body; wpscim recovers without a restart;
- every user a 201 announced exists complete (users row, the same usermeta keys as a user created
  normally, its create event); no half-written user; no 409 for a client's own create, retried
  after a 503 with the same body;
- a stalled database does not hang requests, nor the threads that serve requests needing no database;
- requests in flight when wpscim gets SIGTERM get their complete answer, and it is what was committed.

Each test prints what happened (counts per phase and outcome); run with `-s` to see them.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pymysql
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from private_mariadb import PrivateMariaDB, copy_database, free_port  # noqa: E402

from wpscim.wordpress.db import READ_TIMEOUT_SECONDS  # noqa: E402

pytestmark = pytest.mark.faults

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
DATABASE = "wordpress"
DB_USER, DB_PASSWORD = "wpscim", "wpscim-Passw0rd"  # wpscim's own MySQL user, as on a real site (not root)
THREADS = 4  # wpscim serve's default request threads
RECOVERY_SECONDS = 15  # requests succeed again within this long after the database answers again
CLIENT_TIMEOUT = 40  # longer than anything wpscim should take; a request this slow counts as hung
GROUP = "author"  # the role the load adds its users to and removes them from
SUSPENDED = "wpscim__suspended_pass"


# --- the private database and wpscim over it ---------------------------------------------------


@dataclass
class PrivateSite:
    server: PrivateMariaDB
    url: str  # wpscim's --database-url (its own user)
    tmp: Path

    def sql(self, statement: str, params=()) -> list[tuple]:
        return self.server.sql(statement, params, DATABASE)


@pytest.fixture
def private_wp(mysql_server, wordpress_template, tmp_path):
    """A MariaDB of the test's own holding a copy of the installed WordPress, with wpscim's change log
    (`wpscim upgrade`) and a MySQL user for wpscim. Stopped and removed at teardown, whatever happened."""
    server = PrivateMariaDB(tmp_path / "mariadb")
    try:
        server.start()
        copy_database(mysql_server, wordpress_template, server, DATABASE)
        server.sql(f"CREATE USER '{DB_USER}'@'%' IDENTIFIED BY '{DB_PASSWORD}'")
        server.sql(f"GRANT ALL ON `{DATABASE}`.* TO '{DB_USER}'@'%'")
        url = f"mysql://{DB_USER}:{quote(DB_PASSWORD, safe='')}@127.0.0.1:{server.port}/{DATABASE}"
        upgraded = _wpscim("upgrade", "--database-url", url)
        assert upgraded.returncode == 0, upgraded.stdout
        yield PrivateSite(server, url, tmp_path)
    finally:
        server.close()


def _wpscim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wpscim", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        timeout=120,
    )


class Wpscim:
    """`wpscim serve` as an operator runs it, in a process group of its own (granian's workers
    included), its output (granian's stderr) in a log file."""

    def __init__(self, site: PrivateSite, server: str = "granian", threads: int = THREADS, extra: tuple[str, ...] = (), token: str = ""):
        if not token:
            made = _wpscim("token", "create", "--name", f"faults-{secrets.token_hex(3)}", "--database-url", site.url)
            assert made.returncode == 0, made.stdout
            token = made.stdout.strip().splitlines()[-1]
        self.token = token
        self.port = free_port()
        self.log = site.tmp / f"wpscim-{server}-{self.port}.log"
        with self.log.open("w") as output:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "wpscim",
                    "serve",
                    "--database-url",
                    site.url,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--server",
                    server,
                    "--threads",
                    str(threads),
                    *extra,
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"wpscim serve exited with {self.process.returncode}:\n{self.log.read_text()}")
            outcome = Client(self).request("spc", "GET", "/ServiceProviderConfig", timeout=5)
            if outcome.status == 200:
                return
            if time.monotonic() > deadline:
                self.close()
                pytest.fail(f"wpscim serve did not answer within 30 s:\n{self.log.read_text()}")
            time.sleep(0.1)

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # granian's workers too (the group is this process's own)
        except ProcessLookupError:
            pass
        if self.process.poll() is None:
            self.process.wait(timeout=10)

    def log_lines(self, *needles: str, limit: int = 30) -> list[str]:
        lines = self.log.read_text(errors="replace").splitlines()
        found = [line for line in lines if any(needle in line for needle in needles)]
        return found[:limit]

    def tracebacks(self, limit: int = 3) -> str:
        """The first tracebacks in the log (what an unexpected error or a failed response stream leaves),
        each with the line before it (granian's or wpscim's message)."""
        lines = self.log.read_text(errors="replace").splitlines()
        blocks: list[list[str]] = []
        index = 0
        while index < len(lines) and len(blocks) < limit:
            if lines[index].startswith("Traceback"):
                block = lines[max(0, index - 1) : index + 1]
                index += 1
                while index < len(lines) and (
                    lines[index].startswith((" ", "\t"))
                    or not lines[index].strip()
                    or lines[index].startswith(("During handling", "The above exception", "Traceback"))
                ):
                    block.append(lines[index])
                    index += 1
                if index < len(lines):
                    block.append(lines[index])  # the exception itself
                blocks.append(block)
            index += 1
        return "\n\n".join("\n".join(block[:3] + ["  …"] + block[-8:] if len(block) > 12 else block) for block in blocks)


@pytest.fixture
def wpscim_serve(private_wp):
    started: list[Wpscim] = []

    def start(server: str = "granian", threads: int = THREADS, extra: tuple[str, ...] = (), token: str = "") -> Wpscim:
        served = Wpscim(private_wp, server, threads, extra, token)
        started.append(served)
        return served

    yield start
    for served in started:
        served.close()


# --- HTTP, recorded ------------------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str
    method: str
    path: str
    started: float
    ended: float = 0.0
    status: int | None = None
    body: object = None
    headers: dict = field(default_factory=dict)
    error: str | None = None  # the request did not get a whole answer: refused, reset, timeout, incomplete, not-json
    sent_body: dict | None = None

    @property
    def label(self) -> str:
        return str(self.status) if self.error is None else self.error

    @property
    def request_id(self) -> str:
        return self.headers.get("x-request-id", "")

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300

    @property
    def elapsed(self) -> float:
        return self.ended - self.started

    @property
    def needs_database(self) -> bool:
        return self.kind != "spc"

    def detail(self) -> str:
        return self.body.get("detail", "") if isinstance(self.body, dict) else ""

    def describe(self) -> str:
        return (
            f"{self.method} {self.path} -> {self.label} after {self.elapsed:.2f} s (request {self.request_id or '-'}): "
            f"{json.dumps(self.body)[:300] if self.body is not None else ''}"
        )


def well_formed_503(outcome: Outcome) -> str | None:
    """Why a 503 is not what the issue asks (Retry-After, a SCIM error body), or None."""
    retry_after = outcome.headers.get("retry-after", "")
    if not retry_after.isdigit() or int(retry_after) < 1:
        return f"503 without a usable Retry-After ({retry_after!r}): {outcome.describe()}"
    body = outcome.body
    if not (isinstance(body, dict) and ERROR_SCHEMA in body.get("schemas", []) and body.get("status") == "503" and body.get("detail")):
        return f"503 without a SCIM error body: {outcome.describe()}"
    return None


def why_503(outcome: Outcome) -> str:
    """Which of wpscim's 503s this is (for the counts)."""
    detail = outcome.detail()
    for needle, name in (
        ("during COMMIT", "outcome-unknown"),
        ("not answering", "breaker-open"),
        ("busy", "busy"),
        ("is unavailable", "unavailable"),
        ("refused the connection", "refused"),
        ("could not save", "refused-statement"),
        ("concurrent", "contention"),
        ("before the change was saved", "lost-before-commit"),
    ):
        if needle in detail:
            return name
    return "503-other"


class Client:
    """One HTTP/1.1 connection per request, as IdPs mostly do; every answer recorded whole or as the
    way it failed."""

    def __init__(self, served: Wpscim):
        self.port = served.port
        self.token = served.token

    def request(self, kind: str, method: str, path: str, body: dict | None = None, timeout: float = CLIENT_TIMEOUT) -> Outcome:
        outcome = Outcome(kind, method, path, time.monotonic(), sent_body=body)
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/scim+json"}
        if data is not None:
            headers["Content-Type"] = "application/scim+json"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, "/scim/v2" + path, body=data, headers=headers)
            response = conn.getresponse()
            outcome.status = response.status
            outcome.headers = {name.lower(): value for name, value in response.getheaders()}
            raw = response.read()
            if raw:
                try:
                    outcome.body = json.loads(raw)
                except ValueError:
                    outcome.error = "not-json"
                    outcome.body = raw[:300].decode(errors="replace")
        except ConnectionRefusedError:
            outcome.error = "refused"
        except TimeoutError:
            outcome.error = "timeout"
        except http.client.IncompleteRead:
            outcome.error = "incomplete"
        except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
            outcome.error = "reset"
        except (OSError, http.client.HTTPException) as exc:
            outcome.error = f"{type(exc).__name__}"
        finally:
            outcome.ended = time.monotonic()
            conn.close()
        return outcome


def new_user(tag: str, password: bool = False) -> dict:
    """A create as Okta sends it: userName = email, externalId, names."""
    user_name = f"{tag}-{secrets.token_hex(3)}@example.com"
    body = {
        "schemas": [CORE],
        "userName": user_name,
        "externalId": str(uuid.uuid4()),
        "name": {"givenName": "Fault", "familyName": tag.title()},
        "displayName": f"Fault {tag}",
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        "active": True,
    }
    if password:
        body["password"] = "Pw-" + secrets.token_hex(8)
    return body


@dataclass
class Create:
    """One client's create of one user: every attempt with the same body, until a whole answer other than 503."""

    body: dict
    attempts: list[Outcome] = field(default_factory=list)

    @property
    def final(self) -> Outcome | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def user_name(self) -> str:
        return self.body["userName"]


class Load:
    """Client threads, each continuously: creating users (unique userName and externalId; a create that
    got 503 or no whole answer is sent again with the same body, after min(Retry-After, 1) s), looking
    them up, deactivating and reactivating them, and adding them to a group and removing them."""

    def __init__(self, served: Wpscim, clients: int = 6, tag: str = "f", passwords: float = 0.3):
        self.client = Client(served)
        self.clients = clients
        self.tag = tag
        self.passwords = passwords
        self.outcomes: list[Outcome] = []
        self.creates: list[Create] = []
        self.stopping = threading.Event()  # no new operations (retries of a create go on)
        self.abandon = threading.Event()  # not even retries
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    def start(self) -> Load:
        for index in range(self.clients):
            thread = threading.Thread(target=self._run, args=(index,), name=f"load-{index}", daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def stop(self, grace: float = 60) -> None:
        """No new operations; creates that got 503 are retried until answered otherwise (at most `grace` s)."""
        self.stopping.set()
        deadline = time.monotonic() + grace
        for thread in self.threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        self.abandon.set()
        for thread in self.threads:
            thread.join(CLIENT_TIMEOUT + 5)

    def _record(self, outcome: Outcome) -> Outcome:
        self.outcomes.append(outcome)  # list.append is atomic
        return outcome

    def _backoff(self, outcome: Outcome) -> None:
        if outcome.status == 503 and outcome.error is None:
            retry_after = outcome.headers.get("retry-after", "1")
            time.sleep(min(float(retry_after) if retry_after.isdigit() else 1.0, 1.0))
        elif not outcome.ok:
            time.sleep(0.2)

    def _run(self, index: int) -> None:
        rng = random.Random(index * 7919 + int(time.time()))
        mine: list[tuple[str, str, bool]] = []  # (id, userName, active)
        in_group: set[str] = set()
        n = 0
        try:
            while not self.stopping.is_set():
                n += 1
                choice = rng.random()
                if not mine or choice < 0.4:
                    create = Create(new_user(f"{self.tag}{index}n{n}", password=rng.random() < self.passwords))
                    self.creates.append(create)
                    self._create(create)
                    final = create.final
                    if final is not None and final.status == 201 and isinstance(final.body, dict):
                        mine.append((final.body["id"], create.user_name, True))
                    continue
                pick = rng.randrange(len(mine))
                user_id, user_name, active = mine[pick]
                if choice < 0.55:
                    outcome = self._record(self.client.request("lookup", "GET", f"/Users?filter=userName%20eq%20%22{quote(user_name)}%22"))
                elif choice < 0.65:
                    outcome = self._record(self.client.request("get", "GET", f"/Users/{user_id}"))
                elif choice < 0.82:
                    kind = "deactivate" if active else "reactivate"
                    outcome = self._record(
                        self.client.request(
                            kind,
                            "PATCH",
                            f"/Users/{user_id}",
                            {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": not active}]},
                        )
                    )
                    if outcome.ok:
                        mine[pick] = (user_id, user_name, not active)
                else:
                    adding = user_id not in in_group
                    operation = (
                        {"op": "add", "path": "members", "value": [{"value": user_id}]}
                        if adding
                        else {"op": "remove", "path": f'members[value eq "{user_id}"]'}
                    )
                    outcome = self._record(
                        self.client.request(
                            "group-add" if adding else "group-remove",
                            "PATCH",
                            f"/Groups/{GROUP}",
                            {"schemas": [PATCH_OP], "Operations": [operation]},
                        )
                    )
                    if outcome.ok:
                        (in_group.add if adding else in_group.discard)(user_id)
                self._backoff(outcome)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(exc)

    def _create(self, create: Create) -> None:
        while not self.abandon.is_set():
            outcome = self._record(self.client.request("create", "POST", "/Users", create.body))
            create.attempts.append(outcome)
            if outcome.status != 503 and outcome.error is None:
                return
            self._backoff(outcome)  # 503, or no whole answer: the same create again, as IdPs do

    def first_success(self, after: float) -> Outcome | None:
        """The first answer of a request needing the database, sent after `after`, that succeeded."""
        found = [o for o in list(self.outcomes) if o.needs_database and o.started >= after and o.ok]
        return min(found, key=lambda o: o.ended) if found else None

    def wait_success(self, after: float, timeout: float) -> Outcome | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.first_success(after)
            if found is not None:
                return found
            time.sleep(0.05)
        return None

    def wait_count(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while sum(1 for o in list(self.outcomes) if o.ok) < count and time.monotonic() < deadline:
            time.sleep(0.05)


# --- what is checked ---------------------------------------------------------------------------


class Findings:
    """Problems collected while checking, asserted at the end so one run reports all of them."""

    def __init__(self, served: Wpscim | None = None):
        self.problems: list[str] = []
        self.served = served

    def add(self, message: str) -> None:
        self.problems.append(message)

    def check(self, condition: bool, message: str) -> None:
        if not condition:
            self.add(message)

    def assert_none(self) -> None:
        if self.problems:
            shown = self.problems[:40]
            more = f"\n… and {len(self.problems) - len(shown)} more" if len(self.problems) > len(shown) else ""
            log = f"\n\nserver log (tracebacks and errors):\n{self.served.tracebacks()}" if self.served else ""
            pytest.fail("\n".join(shown) + more + log, pytrace=False)


def check_answers(
    outcomes: list[Outcome], findings: Findings, allowed: frozenset = frozenset({200, 201, 204, 503}), site: PrivateSite | None = None
) -> None:
    """No 500 and no cut or hung request; every error is a well-formed 503 (409 is checked per create).
    With `site`, a cut answer says whether its request's change was committed."""
    committed = committed_requests(site) if site is not None else {}
    for outcome in outcomes:
        if outcome.error is not None:
            saved = f"; its change was committed: {bool(committed.get(outcome.request_id))}" if site and outcome.request_id else ""
            findings.add(f"no complete answer ({outcome.error}{saved}): {outcome.describe()}")
        elif outcome.status is not None and outcome.status >= 500 and outcome.status != 503:
            findings.add(f"{outcome.status}: {outcome.describe()}")
        elif outcome.status == 503:
            problem = well_formed_503(outcome)
            if problem:
                findings.add(problem)
        elif outcome.status == 409 and outcome.kind == "create":
            pass  # judged with its create's history (check_creates)
        elif outcome.status not in allowed:
            findings.add(f"unexpected {outcome.status}: {outcome.describe()}")


def committed_requests(site: PrivateSite) -> dict[str, list[tuple[str, str]]]:
    """request_id -> [(action, resource_id)] of every change event."""
    found = defaultdict(list)
    for request_id, action, resource_id in site.sql("SELECT request_id, action, resource_id FROM wp_wpscim_events"):
        found[request_id].append((action, str(resource_id)))
    return found


def check_creates(creates: list[Create], site: PrivateSite, findings: Findings, served: Wpscim | None = None) -> Counter:
    """No 409 for a client's own create; how each create ended."""
    committed = committed_requests(site)
    endings: Counter = Counter()
    for create in creates:
        final = create.final
        if final is None:
            continue
        retried = len(create.attempts) > 1
        endings[f"{final.label}{' after 503 or a cut answer' if retried else ''}"] += 1
        if final.status == 409:
            earlier = [
                (a.request_id, why_503(a) if a.status == 503 else a.label, bool(committed.get(a.request_id))) for a in create.attempts[:-1]
            ]
            logged = served.log_lines(*(a.request_id for a in create.attempts[:1] if a.request_id)) if served else []
            findings.add(
                f"409 for the client's own create of {create.user_name} (attempt {len(create.attempts)}; earlier attempts "
                f"[request id, answer, committed]: {earlier}): {final.describe()}"
                + (f"\n    server log for the first attempt: {logged}" if logged else "")
            )
        if final.status == 503 or final.error is not None:
            endings["create given up at the end of the test"] += 1
    return endings


def check_steady(outcomes: list[Outcome], up_at: float, until: float, findings: Findings, what: str) -> int:
    """Recovered means recovered: every request needing the database sent from RECOVERY_SECONDS after it
    answered again (until `until`) succeeds. Returns how many were sent in that window."""
    window = [o for o in outcomes if o.needs_database and up_at + RECOVERY_SECONDS <= o.started < until]
    failed = [o for o in window if not o.ok and o.status != 409]
    findings.check(bool(window), f"{what}: no request was sent in the window {RECOVERY_SECONDS} s after the database answered again")
    findings.check(
        not failed,
        f"{what}: {len(failed)} of {len(window)} requests sent {RECOVERY_SECONDS} s or more after the database "
        f"answered again failed, e.g. " + "; ".join(o.describe() for o in failed[:3]),
    )
    return len(window)


def committed_503s(outcomes: list[Outcome], site: PrivateSite) -> Counter:
    """503 answers by kind and 503 reason, and whether the request's change was committed anyway."""
    committed = committed_requests(site)
    counts: Counter = Counter()
    for outcome in outcomes:
        if outcome.status == 503:
            counts[f"{outcome.kind} {why_503(outcome)} {'COMMITTED' if committed.get(outcome.request_id) else 'not committed'}"] += 1
    return counts


def reference_users(client: Client, tag: str) -> dict[str, str]:
    """Users created normally (no fault), left as created, deactivated, and deactivated then reactivated:
    state -> user id (check_database compares usermeta keys with theirs)."""
    made = []
    for state in ("created", "deactivated", "reactivated"):
        outcome = client.request("create", "POST", "/Users", new_user(f"{tag}-ref-{state}"))
        assert outcome.status == 201, outcome.describe()
        made.append((state, outcome.body["id"]))
    for state, user_id in made:
        if state != "created":
            result = client.request(
                "deactivate",
                "PATCH",
                f"/Users/{user_id}",
                {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": False}]},
            )
            assert result.status == 200, result.describe()
        if state == "reactivated":
            result = client.request(
                "reactivate",
                "PATCH",
                f"/Users/{user_id}",
                {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": True}]},
            )
            assert result.status == 200, result.describe()
    return {state: user_id for state, user_id in made}


def meta_keys(site: PrivateSite) -> dict[int, frozenset]:
    keys = defaultdict(set)
    for user_id, key in site.sql("SELECT user_id, meta_key FROM wp_usermeta"):
        keys[int(user_id)].add(key)
    return {user_id: frozenset(found) for user_id, found in keys.items()}


def check_database(site: PrivateSite, creates: list[Create], references: dict[str, str] | None, findings: Findings) -> dict:
    """Every 201 complete; no half-written user; every user (also those whose create answered 503 but
    committed) complete and created once."""
    users = {int(row[0]): row[1:] for row in site.sql("SELECT ID, user_login, user_email FROM wp_users")}
    keys = meta_keys(site)
    events = defaultdict(list)
    for resource_id, request_id in site.sql(
        "SELECT resource_id, request_id FROM wp_wpscim_events WHERE action = 'create' AND resource_type = 'User'"
    ):
        events[int(resource_id)].append(request_id)
    expected = {state: keys[int(user_id)] for state, user_id in (references or {}).items()}
    active_sets = {expected["created"], expected["reactivated"]} if expected else set()
    administrator = min(users)

    for user_id in users:
        if user_id not in keys:
            findings.add(f"half-written user: wp_users row {user_id} {users[user_id]} has no usermeta")
    for user_id in keys:
        if user_id not in users:
            findings.add(f"half-written user: usermeta of user {user_id} without a wp_users row ({sorted(keys[user_id])[:5]}…)")
    for user_id, found in keys.items():
        if user_id == administrator or user_id not in users:
            continue
        wanted = expected.get("deactivated") if SUSPENDED in found else None
        if not expected:
            pass  # no reference users: only the rows' existence is checked
        elif wanted is not None and found != wanted:
            findings.add(
                f"user {user_id} {users[user_id][0]}: usermeta keys {sorted(found ^ wanted)} differ from a deactivated "
                "user created normally"
            )
        elif wanted is None and found not in active_sets:
            closest = min(active_sets, key=lambda s: len(s ^ found))
            findings.add(
                f"user {user_id} {users[user_id][0]}: usermeta keys differ from a user created normally: "
                f"missing {sorted(closest - found)}, extra {sorted(found - closest)}"
            )
        if len(events.get(user_id, [])) != 1:
            findings.add(f"user {user_id} {users[user_id][0]}: {len(events.get(user_id, []))} create events (want 1)")

    logins = Counter(login.lower() for login, _ in users.values())
    for login, count in logins.items():
        if count > 1:
            findings.add(f"{count} users with the login {login}")

    announced = 0
    for create in creates:
        for attempt in create.attempts:
            if attempt.status != 201:
                continue
            announced += 1
            user_id = int(attempt.body["id"])
            if user_id not in users:
                findings.add(f"201 for {create.user_name} announced user {user_id}, which does not exist")
                continue
            if users[user_id][0] != create.user_name:
                findings.add(f"201 for {create.user_name} announced user {user_id}, whose login is {users[user_id][0]}")
            external = site.sql("SELECT meta_value FROM wp_usermeta WHERE user_id = %s AND meta_key = 'wpscim_externalId'", (user_id,))
            if [value for (value,) in external] != [create.body["externalId"]]:
                findings.add(f"201 for {create.user_name}: externalId stored as {external}")
            # The create's own event: written by this attempt, or by an earlier attempt of the same create
            # whose answer was lost (503: outcome unknown) and which this one was answered with.
            own = {a.request_id for a in create.attempts[: create.attempts.index(attempt) + 1]}
            if events.get(user_id) and not (len(events[user_id]) == 1 and events[user_id][0] in own):
                findings.add(
                    f"201 for {create.user_name} (request {attempt.request_id}): its create event was written by "
                    f"request(s) {events[user_id]}"
                )
    ours = {login for login, _ in users.values()} & {c.user_name for c in creates}
    return {
        "users": len(users),
        "announced 201": announced,
        "created by the load (in the database)": len(ours),
        "creates whose client never saw 201 but committed": len(ours - {c.user_name for c in creates if c.final and c.final.status == 201}),
    }


def phase_counts(outcomes: list[Outcome], boundaries: list[tuple[str, float]]) -> dict[str, Counter]:
    """Outcomes by the phase they ended in (boundaries: (name of the phase starting there, time), in order)."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for outcome in outcomes:
        phase = "before"
        for name, at in boundaries:
            if outcome.ended >= at:
                phase = name
        label = outcome.label
        if outcome.status == 503:
            label = f"503 {why_503(outcome)}"
        counts[phase][label] += 1
    return counts


_WALL = time.time() - time.monotonic()


def wall(monotonic: float) -> str:
    """A monotonic instant as the wall-clock time the server log shows."""
    at = _WALL + monotonic
    return time.strftime("%H:%M:%S", time.localtime(at)) + f",{int(at % 1 * 1000):03d}"


def report(title: str, data: dict) -> None:
    print(f"\n=== {title}")
    for key, value in data.items():
        if isinstance(value, Counter):
            value = dict(sorted(value.items()))
        print(f"  {key}: {value}")


# --- the checks themselves ------------------------------------------------------------------------


def test_the_fault_checks_catch_what_they_look_for(private_wp, wpscim_serve):
    """The checks above can fail: a short load, one kill, then rows removed and added behind wpscim's
    back. Each damage must be reported, and an expectation of no 503 at all must not hold."""
    served = wpscim_serve()
    references = reference_users(Client(served), "self")
    load = Load(served, clients=3, tag="x").start()
    try:
        load.wait_count(30)
        private_wp.server.kill()
        time.sleep(2)
        # A create whose COMMIT the kill cut waits for the server to say whether it committed: with every
        # client in one, no 503 comes until they give up. The server stays down until one has come.
        deadline = time.monotonic() + 20
        while not any(o.status == 503 for o in list(load.outcomes)) and time.monotonic() < deadline:
            time.sleep(0.05)
        private_wp.server.start()
        assert load.wait_success(time.monotonic(), RECOVERY_SECONDS) is not None
    finally:
        load.stop()
    outcomes = list(load.outcomes)
    assert any(o.status == 503 for o in outcomes), "a kill under load answered no 503: 'zero 503s' would have held"
    clean = Findings()
    check_answers(outcomes, clean)
    check_database(private_wp, load.creates, references, clean)
    assert not any("half-written" in p or "usermeta keys" in p for p in clean.problems), clean.problems

    made = [int(c.final.body["id"]) for c in load.creates if c.final is not None and c.final.status == 201]
    missing_key, no_meta, no_event, duplicate = made[:4]
    private_wp.sql("DELETE FROM wp_usermeta WHERE user_id = %s AND meta_key = 'nickname'", (missing_key,))
    private_wp.sql("DELETE FROM wp_usermeta WHERE user_id = %s", (no_meta,))
    private_wp.sql("INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES (999999, 'nickname', 'orphan')")
    private_wp.sql("DELETE FROM wp_wpscim_events WHERE action = 'create' AND resource_id = %s", (str(no_event),))
    private_wp.sql(
        "INSERT INTO wp_users (user_login, user_pass, user_nicename, user_email, user_url, user_registered, "
        "user_activation_key, display_name) SELECT user_login, user_pass, 'dup', 'dup@example.com', '', user_registered, '', "
        "display_name FROM wp_users WHERE ID = %s",
        (duplicate,),
    )
    damaged = Findings()
    check_database(private_wp, load.creates, references, damaged)
    text = "\n".join(damaged.problems)
    assert any(f"user {missing_key} " in line and "'nickname'" in line for line in damaged.problems), text
    assert f"wp_users row {no_meta} " in text, text
    assert "usermeta of user 999999 without a wp_users row" in text, text
    assert any(f"user {no_event} " in line and "0 create events" in line for line in damaged.problems), text
    assert "2 users with the login" in text, text
    fake = Outcome("create", "POST", "/Users", 0.0, 0.1, 500, {"status": "500"}, {})
    cut = Outcome("create", "POST", "/Users", 0.0, 0.1, None, None, {}, "reset")
    bare = Outcome("get", "GET", "/Users/1", 0.0, 0.1, 503, {"detail": "x"}, {})
    wrong = Findings()
    check_answers([fake, cut, bare], wrong)
    assert len(wrong.problems) == 3, wrong.problems
    own = Create(
        {"userName": "own@example.com"},
        [
            Outcome("create", "POST", "/Users", 0.0, 0.1, 503, {"detail": "lost during COMMIT"}, {"retry-after": "5"}),
            Outcome("create", "POST", "/Users", 1.0, 1.1, 409, {"detail": "exists"}, {}),
        ],
    )
    conflicted = Findings()
    check_creates([own], private_wp, conflicted)
    assert conflicted.problems and "409 for the client's own create" in conflicted.problems[0], conflicted.problems


# --- KILL: mariadbd SIGKILLed under load, then crash recovery ------------------------------------


def wait_for_statement(site: PrivateSite, prefixes: tuple[str, ...], timeout: float) -> str | None:
    """Poll the server's process list until one of wpscim's sessions runs a statement starting with one of
    `prefixes` (a create's event insert, its COMMIT, the lock release after it); the statement, or None."""
    deadline = time.monotonic() + timeout
    condition = " OR ".join(["INFO LIKE %s"] * len(prefixes))
    with site.server.connect() as conn, conn.cursor() as cur:
        while time.monotonic() < deadline:
            cur.execute(
                f"SELECT LEFT(INFO, 60) FROM information_schema.PROCESSLIST WHERE USER = %s AND ({condition}) LIMIT 1",
                (DB_USER, *(p + "%" for p in prefixes)),
            )
            row = cur.fetchone()
            if row:
                return row[0]
    return None


# The moments of the kill, one per cycle: at a random time, or the instant one of wpscim's sessions runs a
# create's last statements (all sent in one round trip): the event insert just before its COMMIT, the COMMIT
# itself, or the lock release just after it (the commit done, its answer not yet read).
KILL_MOMENTS = [
    ("random", ()),
    ("before COMMIT", ("INSERT INTO `wp_wpscim_events`",)),
    ("COMMIT or just after", ("COMMIT", "DO RELEASE_ALL_LOCKS")),
    ("random", ()),
    ("COMMIT or just after", ("COMMIT", "DO RELEASE_ALL_LOCKS")),
]


def test_mariadb_killed_under_load_recovers_without_500_or_409_or_half_written_users(private_wp, wpscim_serve):
    """Five cycles under six clients' load: SIGKILL mariadbd (at a random moment, or the instant a create's
    round trip reaches its event insert, its COMMIT or the lock release after it), keep the load running
    2-4 s against the dead server, start it again (InnoDB crash recovery), wait for a success. No 500,
    only well-formed 503s while it is down, a success within RECOVERY_SECONDS of it answering and only
    successes later, every 201 complete, no half-written user, no 409 for a client's own create."""
    served = wpscim_serve()
    client = Client(served)
    references = reference_users(client, "kill")
    load = Load(served, clients=6, tag="k").start()
    findings = Findings(served)
    cycles = []
    try:
        load.wait_count(30)
        for number, (moment, prefixes) in enumerate(KILL_MOMENTS, 1):
            time.sleep(random.uniform(1.0, 3.0))
            caught = wait_for_statement(private_wp, prefixes, timeout=5) if prefixes else None
            private_wp.server.kill()
            killed_at = time.monotonic()  # mariadbd is gone (reaped): nothing sent from now on can succeed
            time.sleep(random.uniform(2.0, 4.0))  # the load keeps running against a dead database
            starting_at = time.monotonic()  # the new server may answer before start() has returned
            private_wp.server.start()  # InnoDB crash recovery
            up_at = time.monotonic()
            first = load.wait_success(up_at, RECOVERY_SECONDS + 15)
            recovered_at = first.ended if first else time.monotonic()
            cycles.append(
                {
                    "cycle": number,
                    "moment": moment,
                    "caught": caught,
                    "killed": killed_at,
                    "starting": starting_at,
                    "up": up_at,
                    "killed at": wall(killed_at),
                    "up at": wall(up_at),
                    "recovered": recovered_at,
                    "recovery_s": round(recovered_at - up_at, 2) if first else None,
                    "down_s": round(up_at - killed_at, 2),
                }
            )
            findings.check(
                first is not None and recovered_at - up_at <= RECOVERY_SECONDS,
                f"cycle {number}: no request succeeded within {RECOVERY_SECONDS} s of the database answering again "
                f"({'first success after ' + format(recovered_at - up_at, '.1f') + ' s' if first else 'none at all'})",
            )
            load.wait_count(len([o for o in load.outcomes if o.ok]) + 10, timeout=20)
        time.sleep(max(0.0, cycles[-1]["up"] + RECOVERY_SECONDS + 5 - time.monotonic()))  # the steady window after the last
        steady_until = time.monotonic()
    finally:
        load.stop()
    assert not load.errors, load.errors

    outcomes = list(load.outcomes)
    check_answers(outcomes, findings, site=private_wp)
    steady = check_steady(outcomes, cycles[-1]["up"], steady_until, findings, f"after cycle {cycles[-1]['cycle']}")
    for cycle in cycles:
        during = [o for o in outcomes if cycle["killed"] <= o.started and o.ended < cycle["starting"] and o.needs_database]
        findings.check(
            any(o.status == 503 for o in during),
            f"cycle {cycle['cycle']}: no 503 while the database was down ({len(during)} answers): the kill did not hit the load",
        )
        for o in during:
            if o.ok:
                findings.add(f"cycle {cycle['cycle']}: a request sent while the database was down succeeded: {o.describe()}")
    endings = check_creates(load.creates, private_wp, findings, served)
    database = check_database(private_wp, load.creates, references, findings)

    boundaries = []
    for cycle in cycles:
        boundaries += [
            (f"{cycle['cycle']}: down", cycle["killed"]),
            (f"{cycle['cycle']}: recovering", cycle["up"]),
            (f"{cycle['cycle']}: up", cycle["recovered"]),
        ]
    report(
        "KILL: cycles",
        {c["cycle"]: {k: v for k, v in c.items() if k not in ("cycle", "killed", "starting", "up", "recovered")} for c in cycles},
    )
    report("KILL: answers by phase (label: count)", phase_counts(outcomes, boundaries))
    report("KILL: creates by final answer", {"endings": endings, "requests in the steady window after the last cycle": steady})
    report("KILL: 503s, and whether their change was committed anyway", committed_503s(outcomes, private_wp))
    report("KILL: database", database)
    report(
        "KILL: server log",
        {
            "COMMIT answer lost but saved": len(served.log_lines("COMMIT's answer was lost")),
            "running again": len(served.log_lines("again:")),
            "unexpected errors": len(served.log_lines("unexpected error")),
            "granian: Application callable raised": len(served.log_lines("Application callable raised")),
        },
    )
    findings.assert_none()


# --- STALL: mariadbd stopped (SIGSTOP) for 20 s under load ----------------------------------------

STALL_SECONDS = 20


def test_mariadb_stalled_under_load_answers_503_promptly_and_discovery_keeps_answering(private_wp, wpscim_serve):
    """SIGSTOP mariadbd for STALL_SECONDS under six clients' load (wpscim's default 4 threads) while four
    more clients ask GET /ServiceProviderConfig (auth only; tokens are cached) every 0.1 s. Nothing
    waits much longer than the read timeout; discovery answers 200 within 2 s throughout; the breaker's
    own 503 comes at once; after SIGCONT requests succeed within RECOVERY_SECONDS and from then on;
    no 500, every 201 complete, no half-written user, no 409 for a client's own create."""
    served = wpscim_serve()
    references = reference_users(Client(served), "stall")
    load = Load(served, clients=6, tag="s").start()
    findings = Findings(served)
    probes: list[Outcome] = []
    probing = threading.Event()

    def probe():  # discovery needs only the bearer token, which is cached: it must not wait on the database
        client = Client(served)
        while not probing.is_set():
            probes.append(client.request("spc", "GET", "/ServiceProviderConfig", timeout=CLIENT_TIMEOUT))
            time.sleep(0.1)

    probers = [threading.Thread(target=probe, daemon=True) for _ in range(THREADS)]
    try:
        load.wait_count(30)
        for thread in probers:
            thread.start()
        time.sleep(2)
        stalled_at = time.monotonic()
        private_wp.server.stall()
        time.sleep(STALL_SECONDS)
        private_wp.server.resume()
        resumed_at = time.monotonic()
        first = load.wait_success(resumed_at, RECOVERY_SECONDS + 15)
        recovered_at = first.ended if first else time.monotonic()
        findings.check(
            first is not None and recovered_at - resumed_at <= RECOVERY_SECONDS,
            f"no request succeeded within {RECOVERY_SECONDS} s of SIGCONT "
            f"({'first after ' + format(recovered_at - resumed_at, '.1f') + ' s' if first else 'none'})",
        )
        time.sleep(max(0.0, resumed_at + RECOVERY_SECONDS + 5 - time.monotonic()))  # the steady window
        steady_until = time.monotonic()
    finally:
        if private_wp.server.stalled:
            private_wp.server.resume()
        probing.set()
        load.stop()
        for thread in probers:
            thread.join(CLIENT_TIMEOUT + 5)
    assert not load.errors, load.errors

    outcomes = list(load.outcomes)
    check_answers(outcomes, findings, site=private_wp)
    check_answers(probes, findings, allowed=frozenset({200}))
    # Requests needing the database, sent during the stall: answered (503), none waiting out the stall.
    bound = READ_TIMEOUT_SECONDS + 3
    during = [o for o in outcomes if stalled_at <= o.started < resumed_at]
    overlapping = [o for o in outcomes if o.started < resumed_at and o.ended > stalled_at]
    slow = [o for o in overlapping if o.elapsed > bound]
    findings.check(
        not slow,
        f"{len(slow)} of {len(overlapping)} requests in flight during the stall took longer than {bound} s "
        f"(read timeout {READ_TIMEOUT_SECONDS} s + 3), e.g. " + "; ".join(o.describe() for o in slow[:3]),
    )
    findings.check(any(o.status == 503 for o in during), "no 503 during the stall")
    # Once wpscim has noticed (its first 503), requests fail at once but for the one that probes the
    # database (docs/design.md, "Failures"): at no moment may several wait on it.
    noticed = min((o.ended for o in during if o.status == 503), default=resumed_at)
    waiting = [o for o in outcomes if o.needs_database and noticed <= o.started < resumed_at and o.elapsed > 3]
    most = max((sum(1 for other in waiting if other.started <= o.started < other.ended) for o in waiting), default=0)
    findings.check(
        most <= 1,
        f"after wpscim noticed the stall ({wall(noticed)}), {len(waiting)} requests waited more than 3 s, up to "
        f"{most} at once (one probe at a time may), e.g. " + "; ".join(o.describe() for o in waiting[:3]),
    )
    steady = check_steady(outcomes, resumed_at, steady_until, findings, "after SIGCONT")
    in_stall = [p for p in probes if stalled_at <= p.started < resumed_at]
    slow_probes = [p for p in in_stall if p.status != 200 or p.elapsed > 2]
    findings.check(len(in_stall) >= STALL_SECONDS, f"only {len(in_stall)} ServiceProviderConfig answers during the stall")
    findings.check(
        not slow_probes,
        f"{len(slow_probes)} of {len(in_stall)} GET /ServiceProviderConfig during the stall were not "
        "200 within 2 s, e.g. " + "; ".join(p.describe() for p in slow_probes[:3]),
    )
    endings = check_creates(load.creates, private_wp, findings, served)
    database = check_database(private_wp, load.creates, references, findings)

    boundaries = [
        ("stalled", stalled_at),
        ("stalled, after the first read timeouts", stalled_at + READ_TIMEOUT_SECONDS + 0.5),
        ("resumed", resumed_at),
        (f"resumed + {RECOVERY_SECONDS} s", resumed_at + RECOVERY_SECONDS),
    ]
    latencies = sorted(o.elapsed for o in during)
    slowest_spc = {
        name: round(max((p.elapsed for p in probes if start <= p.started < end), default=0), 2)
        for (name, start), (_, end) in zip([("before", 0.0), *boundaries], [*boundaries, ("", float("inf"))])
    }
    report("STALL: answers by phase", phase_counts(outcomes, boundaries))
    report("STALL: ServiceProviderConfig by phase", phase_counts(probes, boundaries))
    report(
        "STALL: timing",
        {
            "stalled at": wall(stalled_at),
            "resumed at": wall(resumed_at),
            "first success at": wall(recovered_at),
            "requests sent during the stall": len(during),
            "first 503 (wpscim noticed) at": wall(noticed),
            "requests sent after that waiting > 3 s": len(waiting),
            "most of them at once": most,
            "latency median/p90/max s": [
                round(latencies[len(latencies) // 2], 2),
                round(latencies[int(len(latencies) * 0.9)], 2),
                round(latencies[-1], 2),
            ]
            if latencies
            else None,
            "slowest ServiceProviderConfig by phase sent, s": slowest_spc,
            "SPC slower than 2 s": len(slow_probes),
            "first success after SIGCONT, s": round(recovered_at - resumed_at, 2),
            "requests in the steady window": steady,
        },
    )
    report("STALL: creates by final answer", {"endings": endings})
    report("STALL: 503s, and whether their change was committed anyway", committed_503s(outcomes, private_wp))
    report("STALL: database", database)
    findings.assert_none()


def test_after_a_stall_that_left_pooled_connections_alive_the_service_recovers(private_wp, wpscim_serve):
    """A stall met by a light load: one request waits out the read timeout (the breaker opens), while
    the connections pooled before the stall stay open and, after SIGCONT, work again. Requests must
    succeed again within RECOVERY_SECONDS of SIGCONT, and from then on all of them."""
    served = wpscim_serve(threads=8)
    client = Client(served)
    users = [client.request("create", "POST", "/Users", new_user(f"w{i}")).body["id"] for i in range(8)]
    with ThreadPoolExecutor(8) as pool:  # both pools hold several idle connections, as on a site in use
        warm = list(
            pool.map(
                lambda i: (
                    client.request("get", "GET", f"/Users/{users[i % 8]}")
                    if i % 2
                    else client.request(
                        "deactivate",
                        "PATCH",
                        f"/Users/{users[i % 8]}",
                        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": f"Warm {i}"}]},
                    )
                ),
                range(32),
            )
        )
    assert all(o.ok for o in warm), [o.describe() for o in warm if not o.ok][:2]
    findings = Findings(served)
    outcomes: list[Outcome] = []
    stop = threading.Event()

    def light_load():
        n = 0
        while not stop.is_set():
            n += 1
            outcomes.append(
                client.request("get", "GET", f"/Users/{users[n % 8]}")
                if n % 3
                else client.request(
                    "deactivate",
                    "PATCH",
                    f"/Users/{users[n % 8]}",
                    {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": f"Light {n}"}]},
                )
            )
            time.sleep(0.2)

    thread = threading.Thread(target=light_load, daemon=True)
    thread.start()
    try:
        time.sleep(1)
        stalled_at = time.monotonic()
        private_wp.server.stall()
        time.sleep(STALL_SECONDS)
        private_wp.server.resume()
        resumed_at = time.monotonic()
        time.sleep(RECOVERY_SECONDS + 8)
        steady_until = time.monotonic()
    finally:
        if private_wp.server.stalled:
            private_wp.server.resume()
        stop.set()
        thread.join(CLIENT_TIMEOUT + 5)
    check_answers(outcomes, findings)
    first = min((o for o in outcomes if o.ok and o.started >= resumed_at), key=lambda o: o.ended, default=None)
    findings.check(
        first is not None and first.ended - resumed_at <= RECOVERY_SECONDS, f"no request succeeded within {RECOVERY_SECONDS} s of SIGCONT"
    )
    steady = check_steady(outcomes, resumed_at, steady_until, findings, "after SIGCONT (pooled connections alive)")
    per_second = {}
    for second in range(0, int(steady_until - resumed_at), 3):
        window = [o for o in outcomes if resumed_at + second <= o.started < resumed_at + second + 3]
        per_second[f"+{second}-{second + 3} s"] = dict(Counter(o.label if o.status != 503 else f"503 {why_503(o)}" for o in window))
    report("STALL, pooled connections alive: answers after SIGCONT by 3 s window", per_second)
    report(
        "STALL, pooled connections alive",
        {
            "stalled at": wall(stalled_at),
            "resumed at": wall(resumed_at),
            "first success after SIGCONT, s": round(first.ended - resumed_at, 2) if first else None,
            "requests in the steady window": steady,
        },
    )
    findings.assert_none()


# --- CUT: wpscim's sessions KILLed on the server under load ----------------------------------------


def test_sessions_killed_under_load_no_500_no_409_no_half_written_users(private_wp, wpscim_serve):
    """For 25 s under six clients' load, every 0.1-0.8 s: KILL every session of wpscim's MySQL user (as a
    failover or a restarted proxy would), or only the session running a create's event insert, COMMIT
    or lock release. The database answers throughout, so a COMMIT whose answer was lost can always be
    resolved: no 500, no cut answer, no 409 for a client's own create, no half-written user."""
    served = wpscim_serve()
    references = reference_users(Client(served), "cut")
    load = Load(served, clients=6, tag="c").start()
    findings = Findings(served)
    kills = Counter()
    sweeps: list[tuple[float, float]] = []  # (from, to) of each KILL of every session
    try:
        load.wait_count(30)
        deadline = time.monotonic() + 25
        with private_wp.server.connect() as admin, admin.cursor() as cur:
            while time.monotonic() < deadline:
                targeted = random.random() < 0.5
                if targeted:  # the session running a create's COMMIT round trip, at its last statements
                    condition = (
                        "(INFO LIKE 'INSERT INTO `wp_wpscim_events`%%' OR INFO LIKE 'COMMIT%%' OR INFO LIKE 'DO RELEASE_ALL_LOCKS%%')"
                    )
                    found = []
                    until = time.monotonic() + 2
                    while not found and time.monotonic() < until:
                        cur.execute(
                            f"SELECT ID, LEFT(INFO, 30) FROM information_schema.PROCESSLIST WHERE USER = %s AND {condition}", (DB_USER,)
                        )
                        found = cur.fetchall()
                    kills["targeted polls that found none"] += 0 if found else 1
                    for _, info in found:
                        kills[f"targeted: {info.split()[0]} {info.split()[1] if len(info.split()) > 1 else ''}".strip()] += 1
                    victims = [row[0] for row in found]
                else:  # every session of wpscim's, whatever it is doing
                    cur.execute("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = %s", (DB_USER,))
                    victims = [row[0] for row in cur.fetchall()]
                    kills["all sessions"] += len(victims)
                began = time.monotonic()
                for victim in victims:
                    try:
                        cur.execute("KILL %s", (victim,))
                    except pymysql.err.OperationalError:
                        pass  # ended meanwhile
                if not targeted:
                    sweeps.append((began, time.monotonic()))
                time.sleep(random.uniform(0.1, 0.8))
    finally:
        load.stop()
    assert not load.errors, load.errors

    outcomes = list(load.outcomes)
    check_answers(outcomes, findings, site=private_wp)
    endings = check_creates(load.creates, private_wp, findings, served)
    database = check_database(private_wp, load.creates, references, findings)
    report("CUT: KILLs", kills)
    report(
        "CUT: answers",
        {
            "all": Counter(o.label if o.status != 503 else f"503 {why_503(o)}" for o in outcomes),
            "by kind": {k: dict(Counter(o.label for o in outcomes if o.kind == k)) for k in sorted({o.kind for o in outcomes})},
        },
    )
    unknown = [o for o in outcomes if o.status == 503 and why_503(o) == "outcome-unknown"]
    in_sweep = [o for o in unknown if any(o.started <= end and begin <= o.ended for begin, end in sweeps)]
    report("CUT: creates by final answer", {"endings": endings})
    report("CUT: 503s, and whether their change was committed anyway", committed_503s(outcomes, private_wp))
    report(
        "CUT: 'lost during COMMIT and the database is not answering' (the database was answering)",
        {"503s": len(unknown), "in flight during a sweep killing every session (so also the resolving read session)": len(in_sweep)},
    )
    report("CUT: database", database)
    report(
        "CUT: server log",
        {
            "COMMIT answer lost but saved": len(served.log_lines("COMMIT's answer was lost")),
            "running again": len(served.log_lines("again:")),
            "granian: Application callable raised": len(served.log_lines("Application callable raised")),
        },
    )
    findings.assert_none()


# --- SIGTERM to wpscim with requests in flight -------------------------------------------------------


def _lock_name(user_name: str) -> str:
    import hashlib

    return "wpscim:" + hashlib.sha1(f"{DATABASE}/wp_/id/{user_name.lower()}".encode()).hexdigest()


@pytest.mark.parametrize("server", ["gunicorn", "granian"])
def test_sigterm_lets_requests_in_flight_finish_and_answers_what_was_committed(private_wp, wpscim_serve, server):
    """Slow requests in flight when SIGTERM arrives: creates (with passwords) waiting for a uniqueness
    lock another session holds, and a group PATCH adding 60 members waiting for the role options' row
    lock, both released 1 s after the SIGTERM; beside them, creates with passwords sent continuously
    until the SIGTERM. Every held request must get its whole answer; for every create, whatever its
    timing, the answer must be what the database holds (no committed create the client saw cut)."""
    served = wpscim_serve(server, threads=8)  # more threads than held requests: the free-running creates run too
    client = Client(served)
    members = []
    for i in range(60):
        outcome = client.request("create", "POST", "/Users", new_user(f"t{i}"))
        assert outcome.status == 201, outcome.describe()
        members.append(outcome.body["id"])
    held_creates = [new_user(f"held{i}", password=True) for i in range(2)]
    holder = private_wp.server.connect(DATABASE, autocommit=False)
    findings = Findings(served)
    held: list[Outcome] = []
    free_running: list[Outcome] = []
    stop_running = threading.Event()

    def send(kind, method, path, body):
        held.append(Client(served).request(kind, method, path, body))

    def keep_creating(index):
        n = 0
        while not stop_running.is_set():
            n += 1
            free_running.append(Client(served).request("create", "POST", "/Users", new_user(f"run{index}n{n}", password=True)))

    runners: list[threading.Thread] = []
    senders: list[threading.Thread] = []
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT " + ", ".join(["GET_LOCK(%s, 5)"] * len(held_creates)), [_lock_name(b["userName"]) for b in held_creates])
            assert set(cur.fetchone()) == {1}
            cur.execute("SELECT option_value FROM wp_options WHERE option_name = 'wp_user_roles' FOR UPDATE")
        runners = [threading.Thread(target=keep_creating, args=(i,), daemon=True) for i in range(3)]
        senders = [threading.Thread(target=send, args=("create", "POST", "/Users", body), daemon=True) for body in held_creates]
        senders.append(
            threading.Thread(
                target=send,
                daemon=True,
                args=(
                    "group-add",
                    "PATCH",
                    f"/Groups/{GROUP}",
                    {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": m} for m in members]}]},
                ),
            )
        )
        for thread in runners + senders:
            thread.start()
        # Until every held request waits inside the database (its session is in the process list waiting).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            waiting = private_wp.sql(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = %s AND "
                "(STATE LIKE '%%lock%%' OR INFO LIKE '%%GET_LOCK%%' OR INFO LIKE '%%FOR UPDATE%%')",
                (DB_USER,),
            )[0][0]
            if waiting >= len(senders):
                break
            time.sleep(0.02)
        assert waiting >= len(senders), f"only {waiting} requests wait in the database"
        time.sleep(0.5)
        sigterm_at = time.monotonic()
        served.terminate()
        stop_running.set()
        time.sleep(1.0)
    finally:
        stop_running.set()
        holder.rollback()  # the held requests go on (if their server still runs them)
        with holder.cursor() as cur:
            cur.execute("DO RELEASE_ALL_LOCKS()")
        holder.close()
    for thread in runners + senders:
        thread.join(CLIENT_TIMEOUT + 5)
    try:
        served.process.wait(timeout=30)
        exited = served.process.returncode
    except subprocess.TimeoutExpired:
        exited = None
    findings.check(exited is not None, f"{server}: wpscim serve did not exit within 30 s of SIGTERM")

    # What the database holds, compared with each answer.
    users = {login: int(user_id) for user_id, login in private_wp.sql("SELECT ID, user_login FROM wp_users")}
    role_members = {
        int(user_id)
        for (user_id,) in private_wp.sql(
            "SELECT user_id FROM wp_usermeta WHERE meta_key = 'wp_capabilities' AND meta_value LIKE %s", (f'%"{GROUP}"%',)
        )
    }
    rows = []
    flying_free = [o for o in free_running if o.started < sigterm_at < o.ended]
    for outcome in held + free_running:
        is_held = outcome in held
        if outcome.kind == "create":
            user_name = outcome.sent_body["userName"]
            committed = user_name in users
            if is_held or outcome in flying_free:
                rows.append(
                    f"{'held' if is_held else 'free'} create {user_name}: {outcome.label} after {outcome.elapsed:.2f} s, "
                    f"committed: {committed}"
                )
            if outcome.status == 201:
                findings.check(committed, f"{server}: 201 for {user_name}, not in the database")
            elif outcome.error is not None:
                if committed:
                    findings.add(
                        f"{server}: a committed create the client saw cut: {user_name} {outcome.error} after "
                        f"{outcome.elapsed:.2f} s, sent {sigterm_at - outcome.started:.3f} s before SIGTERM"
                    )
                elif is_held:
                    findings.add(
                        f"{server}: a create in flight at SIGTERM got no answer ({outcome.error}) after "
                        f"{outcome.elapsed:.2f} s; not committed"
                    )
            elif outcome.status == 503:
                findings.check(well_formed_503(outcome) is None, str(well_formed_503(outcome)))
                findings.check(not committed, f"{server}: 503 for {user_name}, which was committed")
            else:
                findings.add(f"{server}: a create around SIGTERM answered {outcome.describe()}")
        else:
            added = {int(m) for m in members} <= role_members
            rows.append(
                f"held group PATCH adding {len(members)} members: {outcome.label} after {outcome.elapsed:.2f} s, committed: {added}"
            )
            if outcome.status == 200:
                findings.check(added, f"{server}: 200 for the group PATCH, members not in the database")
                got = {int(m["value"]) for m in (outcome.body or {}).get("members", [])}
                findings.check({int(m) for m in members} <= got, f"{server}: the group PATCH's 200 lists {len(got)} members")
            elif outcome.error is not None:
                findings.add(
                    f"{server}: the group PATCH in flight at SIGTERM got no answer ({outcome.error}) after "
                    f"{outcome.elapsed:.2f} s; committed: {added}"
                )
            else:
                findings.check(
                    outcome.status == 503 and not added, f"{server}: group PATCH answered {outcome.describe()}, committed {added}"
                )
    report(
        f"SIGTERM ({server})",
        {
            "held requests (in flight at SIGTERM)": Counter(o.label for o in held),
            "free-running creates in flight at SIGTERM": Counter(o.label for o in flying_free),
            "free-running creates sent after SIGTERM": Counter(o.label for o in free_running if o.started >= sigterm_at),
            "exit status": exited,
            "each in flight": rows,
        },
    )
    findings.check(len(held) == len(senders), f"only {len(held)} of {len(senders)} held requests ended")
    findings.assert_none()


def test_a_database_that_refuses_writes_still_lets_wpscim_start_read_and_check(private_wp, wpscim_serve):
    """Read-only (a failover's new primary not yet promoted, a disk full): wpscim starts, reads, answers
    writes 503 with Retry-After, and `wpscim check` reports — nothing at start may need a write (the
    companion's key is read when first needed, and only created if missing)."""
    made = _wpscim("token", "create", "--name", "read-only", "--database-url", private_wp.url)
    assert made.returncode == 0, made.stdout
    private_wp.server.sql("SET GLOBAL read_only = 1")
    try:
        refused = _wpscim("token", "create", "--name", "another", "--database-url", private_wp.url)
        assert refused.returncode == 1 and "Traceback" not in refused.stdout, refused.stdout  # one line, not a traceback
        assert "Error: the database: the WordPress database could not save the change" in refused.stdout, refused.stdout
        # A site URL: the companion is used (its key is created when first needed, not at start).
        served = wpscim_serve(extra=("--wp-url", "http://127.0.0.1:9"), token=made.stdout.strip().splitlines()[-1])
        client = Client(served)
        assert client.request("list", "GET", "/Users?count=1").status == 200
        refused = client.request("create", "POST", "/Users", {"userName": "ro@example.com"})
        assert refused.status == 503 and refused.headers.get("retry-after"), (refused.status, refused.body)
        checked = _wpscim("check", "--database-url", private_wp.url, "--wp-url", "http://127.0.0.1:9")
        assert checked.returncode == 0 and "companion:    NOT ANSWERING" in checked.stdout, checked.stdout
        assert not served.tracebacks(), served.tracebacks()
    finally:
        private_wp.server.sql("SET GLOBAL read_only = 0")
    assert client.request("create", "POST", "/Users", {"userName": "rw@example.com"}).status == 201
