"""Connections, the pool, and the unit of work: one `Transaction` per writing request.

WordPress's tables have no UNIQUE index on login or e-mail, so uniqueness is enforced under named
locks (GET_LOCK): a `SELECT … FOR UPDATE` then `INSERT` takes gap locks on the non-unique index and
deadlocks under concurrent creates. Sessions run READ COMMITTED so that, once a lock is held, the
rows committed by its previous holder are visible. Connections allow several statements per round
trip: a create takes its locks, checks uniqueness, inserts the users row, its usermeta and its change
event, commits and releases its locks in one. Every value is bound, never formatted in.

Failures: a statement is never run again behind the caller's back. A connection that failed is
closed and replaced; an idle one the server dropped is noticed before use without a round trip
(`driver.usable`). A transaction that lost its connection before COMMIT was sent committed nothing
(the server rolls back), so it is reported as safe to run again; one that lost it while COMMIT was
under way is resolved by asking the database for the request's change events (see
`Transaction._resolve`). Connect, read and lock waits are bounded, and after the database stopped
answering requests fail at once (503) while one request at a time probes it (`_Breaker`).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlparse

import pymysql

from wpscim.wordpress import driver
from wpscim.wordpress.errors import Invalid, OutcomeUnknown, Unavailable

log = logging.getLogger("wpscim")

CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 10  # a stalled server answers 503 after this, not never
LOCK_TIMEOUT_SECONDS = 5  # named locks (uniqueness) and InnoDB row locks
POOL_WAIT_SECONDS = 10
PROBE_SECONDS = 1.0  # while the database is down, how often one request tries it
# A request whose COMMIT's answer was lost asks the database what happened until this long after it sent
# the COMMIT (a restarted server answers within seconds; a stalled one is not waited out twice).
RESOLVE_SECONDS = READ_TIMEOUT_SECONDS + 2

# Writes look rows up by primary key or by one indexed value, where every plan is the same index lookup;
# MariaDB's optimizer still dives into each candidate index, weighs its selectivity model, rowid filters
# and index merges before every one (a create asks four such questions). With plain index statistics a
# create costs MariaDB ~0.01-0.02 ms less under load, +3 % creates/s (bench/RESULTS.md). MySQL reads
# only the first setting (the rest is a MariaDB-only executable comment). Reads keep the defaults:
# filters can be complex.
_WRITE_SESSION = (
    "SET SESSION eq_range_index_dive_limit = 1 /*M!100400 , optimizer_use_condition_selectivity = 1, "
    "use_stat_tables = 'NEVER', optimizer_switch = 'rowid_filter=off,index_merge=off' */"
)
# group_concat_max_len: a page's users are read as one GROUP_CONCAT each (see users.reading).
_SESSION = (
    f"SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED; SET time_zone = '+00:00', "
    f"SESSION group_concat_max_len = 4294967295, SESSION innodb_lock_wait_timeout = {LOCK_TIMEOUT_SECONDS}"
)


@dataclass(frozen=True)
class DatabaseAddress:
    host: str = "127.0.0.1"
    port: int = 3306
    user: str = "root"
    password: str = ""
    database: str = ""
    unix_socket: str | None = None
    charset: str = "utf8mb4"
    # TLS to the database: "auto" (none to this machine itself — a Unix socket or a loopback address,
    # where it protects nothing and costs every round trip CPU, as WordPress's own mysqli goes without —
    # else as "preferred"), "off", "preferred" (when the server offers it), "required". `tls_ca`: verify
    # the server's certificate and name against this CA file (and require TLS).
    tls: str = "auto"
    tls_ca: str | None = None

    def connect_args(self) -> dict:
        args = dict(
            user=self.user,
            password=self.password,
            charset=self.charset,
            autocommit=False,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
            write_timeout=READ_TIMEOUT_SECONDS,
        )
        if self.database:
            args["database"] = self.database
        if self.unix_socket:
            args["unix_socket"] = self.unix_socket
        else:
            args.update(host=self.host, port=self.port)
        args.update(self._tls_args())
        return args

    def _tls_args(self) -> dict:
        if self.tls_ca:
            return {"ssl_ca": self.tls_ca, "ssl_verify_cert": True, "ssl_verify_identity": True}
        mode = self.tls
        if mode == "auto":
            mode = "off" if self.unix_socket or _loopback(self.host) else "preferred"
        if mode == "off":
            return {"ssl_disabled": True}
        if mode == "required":
            return {"ssl": {"check_hostname": False}}  # encrypted, the certificate unchecked (no CA given)
        return {}  # preferred: PyMySQL's own default

    def without_password(self) -> str:
        where = self.unix_socket or f"{self.host}:{self.port}"
        return f"mysql://{self.user}@{where}/{self.database}"


TLS_MODES = ("auto", "off", "preferred", "required")


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_database_url(url: str) -> DatabaseAddress:
    """mysql://user:pass@host:port/db (also mysql+pymysql://, ?unix_socket=/path, ?charset=…,
    ?ssl=auto|off|preferred|required, ?ssl_ca=/path/ca.pem)."""
    parsed = urlparse(url)
    if not parsed.scheme.startswith("mysql") and not parsed.scheme.startswith("mariadb"):
        raise ValueError(f"not a mysql:// URL: {parsed.scheme}://…")
    query = parse_qs(parsed.query)
    tls = query.get("ssl", ["auto"])[0].lower()
    if tls not in TLS_MODES:
        raise ValueError(f"?ssl={tls}: say one of {', '.join(TLS_MODES)}")
    return DatabaseAddress(
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 3306,
        user=unquote(parsed.username or "root"),
        password=unquote(parsed.password or ""),
        database=unquote(parsed.path.lstrip("/")),
        unix_socket=query.get("unix_socket", [None])[0],
        charset=query.get("charset", ["utf8mb4"])[0],
        tls=tls,
        tls_ca=query.get("ssl_ca", [None])[0],
    )


def unavailable(error: BaseException, rerun_safe: bool = True) -> Unavailable:
    """The storage error for a driver error that means the database cannot answer now."""
    if driver.contention(error):
        return Unavailable("the change met a concurrent one and was rolled back; retry", retry_after=1, rerun_safe=rerun_safe)
    return Unavailable("the WordPress database is unavailable; retry shortly", retry_after=5, rerun_safe=rerun_safe)


def _translate(error: BaseException, rerun_safe: bool = True) -> Exception | None:
    """A storage error for a driver error, or None when it is a defect (SQL wpscim should not have sent)."""
    if driver.contention(error) or driver.connection_lost(error):
        return unavailable(error, rerun_safe)
    if isinstance(error, pymysql.err.DataError):
        return Invalid(f"a value does not fit WordPress's table: {error.args[-1]}")
    if isinstance(error, (pymysql.err.OperationalError, pymysql.err.InternalError)):
        # The server cannot do it now (disk full, read-only, out of memory, a trigger refusing): nothing
        # was committed; the details stay in the log.
        log.error("the database refused a statement: %s", error.args[-1] if error.args else error)
        return Unavailable("the WordPress database could not save the change; retry later", retry_after=30)
    return None


class _Breaker:
    """After the database stopped answering (a connect failed or a read timed out), requests fail at
    once instead of each waiting out the timeouts with every request thread: one request at a time
    tries the database (at most every PROBE_SECONDS, never while another try is still waiting), and the
    first session that completes — that probe or any other — closes the breaker again."""

    def __init__(self):
        self._down = False
        self._probe_until = 0.0  # a request is trying the database until then
        self._next_probe = 0.0
        self._lock = threading.Lock()

    def allow(self) -> None:
        if not self._down:
            return
        with self._lock:
            now = time.monotonic()
            if self._down and (now < self._probe_until or now < self._next_probe):
                raise Unavailable("the WordPress database is not answering; retry shortly", retry_after=5)
            self._probe_until = now + CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS + 1  # this request probes

    def failed(self) -> None:
        with self._lock:
            self._down = True
            self._probe_until = 0.0
            self._next_probe = time.monotonic() + PROBE_SECONDS

    def succeeded(self) -> None:
        if self._down:
            with self._lock:
                self._down = False
                self._probe_until = 0.0

    def after(self, error: BaseException | None) -> None:
        """Note how a session ended: the database answered (even with an SQL error), or it did not."""
        if error is None or not isinstance(error, pymysql.err.Error) or not driver.connection_lost(error):
            self.succeeded()
        elif _timed_out(error) or self._down:
            self.failed()

    @property
    def down(self) -> bool:
        return self._down


class _Pool:
    """A fixed number of connections, the most recently used first (its caches are warm). A
    connection that failed is closed, and a new one is opened in its place when next needed."""

    def __init__(self, open_connection, size: int, breaker: _Breaker):
        self._open = open_connection
        self._idle: list = []
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._breaker = breaker
        self.size = size
        self.in_use = 0
        self.opened = 0  # connections opened over the pool's life: one that keeps reconnecting shows here

    def acquire(self):
        if not self._slots.acquire(timeout=POOL_WAIT_SECONDS):
            raise Unavailable("every database connection is busy; retry shortly", retry_after=1)
        try:
            while True:
                with self._lock:
                    conn = self._idle.pop() if self._idle else None
                if conn is None:
                    conn = self._connect()
                    break
                if driver.usable(conn):
                    break
                driver.discard(conn)  # the server dropped it while idle (restart, wait_timeout, KILL)
        except BaseException:
            self._slots.release()
            raise
        self.in_use += 1
        return conn

    def _connect(self):
        try:
            conn = self._open()
        except pymysql.err.Error as exc:
            self._breaker.failed()
            reason = exc.args[-1] if exc.args else exc
            log.error("cannot connect to the database: %s", reason)
            if driver.connection_lost(exc):
                raise Unavailable(f"the WordPress database is unavailable ({reason}); retry shortly", retry_after=5) from exc
            raise Unavailable(f"the WordPress database refused the connection: {reason}", retry_after=30) from exc
        self._breaker.succeeded()
        self.opened += 1
        return conn

    def release(self, conn, broken: bool = False) -> None:
        self.in_use -= 1
        if broken:
            driver.discard(conn)
        else:
            with self._lock:
                self._idle.append(conn)
        self._slots.release()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            driver.discard(conn)


class Journal(Protocol):
    """What a Transaction asks of the change log (wpscim.wordpress.events.ChangeLog)."""

    def insert(self, events: list, actor: str, request_id: str) -> tuple[str, list]: ...

    def committed(self, events: list) -> None: ...

    def request_committed(self, session, request_id: str) -> list[tuple[str, str]] | None: ...


class Transaction:
    """One request's unit of work on one connection: opened by `Database.transaction()`, which
    commits or rolls it back; it holds the named locks taken (released after the COMMIT or the
    rollback), the rows read FOR UPDATE (`loaded`), and the change events recorded (`record`), which
    are written in the same transaction, before its COMMIT."""

    def __init__(self, db: Database, conn, journal: Journal | None, actor: str, request_id: str):
        self.db = db
        self.conn = conn
        self.cursor = conn.cursor()
        self.journal = journal
        self.actor = actor
        self.request_id = request_id
        self.locks: list[str] = []
        self.loaded: dict = {}  # user ID -> (users row, usermeta) as read FOR UPDATE in this transaction
        self.events: list = []
        self.committed = False
        self.answer_lost = False  # committed, but the last round trip's results never arrived (see _resolve)
        self.thread_id = conn.thread_id()  # the server's id of this session (see _resolve)
        self.began = time.monotonic()
        # A statement's own methods, bound once: storage code calls them directly.
        self.execute, self.fetchall, self.fetchone, self.nextset = (
            self.cursor.execute,
            self.cursor.fetchall,
            self.cursor.fetchone,
            self.cursor.nextset,
        )

    @property
    def rowcount(self) -> int:
        return self.cursor.rowcount

    def run(self, sql: str, params: tuple | list = (), results: list | None = None) -> int:
        """A multi-statement round trip, read to its end (see driver.round_trip)."""
        return driver.round_trip(self.cursor, sql, params, results)

    def record(self, event) -> None:
        """A change event, written before this transaction's COMMIT (in its last round trip)."""
        event.request_id = self.request_id
        self.events.append(event)

    def take_locks(self, names: list[str]) -> tuple[str, list, int]:
        """`SET @wpscim_locks = <how many of the named locks were taken>`: its SQL, its parameters and the
        count that means all. Locks are taken in sorted order, so two requests never wait on each other
        in a cycle; hashed names keep them under MySQL's 64-character limit and free of user data. They
        are released however the transaction ends."""
        hashed = sorted({"wpscim:" + hashlib.sha1(name.encode("utf-8")).hexdigest() for name in names})
        self.locks.extend(hashed)
        params: list = []
        for name in hashed:
            params += [name, LOCK_TIMEOUT_SECONDS]
        return "SET @wpscim_locks = " + " + ".join(["GET_LOCK(%s, %s)"] * len(hashed)), params, len(hashed)

    def lock(self, names: list[str], then: str = "", then_params: tuple | list = ()) -> list[int]:
        """Take named locks, or Unavailable if they are not free within the timeout. `then`, a SELECT
        of one integer column whose values are below 32, runs in the same round trip once the locks
        are held; its values come back."""
        if not names:
            if then:
                self.execute(then, then_params)
                return [int(value) for (value,) in self.fetchall()]
            return []
        statement, params, count = self.take_locks(names)
        self.execute(f"{statement}; {locked_and(then)}", [*params, *then_params])
        self.nextset()
        return self.locked_values(count)

    def locked_values(self, count: int) -> list[int]:
        """The values of a locked_and() result, or Unavailable if fewer than `count` locks were taken."""
        values = [value for (value,) in self.fetchall()]
        taken = [int(value) for value in values if value is not None]
        if None in values or sum(value // 32 for value in taken) != count:
            raise Unavailable("the service is busy with a conflicting change; retry shortly", retry_after=1)
        return [value % 32 for value in taken if value % 32]

    def _tail(self) -> tuple[str, list]:
        """What the COMMIT's round trip carries: the events, the COMMIT, the lock release."""
        sql, params = "", []
        if self.events and self.journal is not None:
            sql, params = self.journal.insert(self.events, self.actor, self.request_id)
            sql += "; "
        sql += "COMMIT" + ("; DO RELEASE_ALL_LOCKS()" if self.locks else "")
        return sql, params

    def commit_with(self, sql: str, params: tuple | list = (), results: list | None = None) -> int:
        """The transaction's last statements, its events, its COMMIT and the release of its named locks,
        in one round trip (see run); returns the first AUTO_INCREMENT value. Nothing may run after it.
        If the answer was lost but the commit happened (see _resolve), `answer_lost` is set and
        `results` stay empty: the caller reads what it needs again."""
        tail, tail_params = self._tail()
        sent = time.monotonic()
        try:
            first_id = self.run(f"{sql}; {tail}" if sql else tail, [*params, *tail_params], results)
        except pymysql.err.Error as exc:
            if not driver.connection_lost(exc):
                raise
            first_id = self._resolve(exc, deadline=sent + RESOLVE_SECONDS)
        self.locks.clear()
        self.committed = True
        return first_id

    def commit(self) -> None:
        if not self.committed:
            self.commit_with("")

    def _resolve(self, error: BaseException, deadline: float) -> int:
        """The connection was lost while COMMIT was under way: did it commit? The old session is killed
        and awaited (a COMMIT in progress finishes first), then the request's change events are looked
        for. Found: committed (returns the first event's resource ID, a create's new user). Not found:
        nothing committed, so running the request again is safe. The database still unreachable:
        OutcomeUnknown (no new question is asked within CONNECT_TIMEOUT_SECONDS of `deadline`)."""
        thread_id = self.thread_id
        if self.journal is None or not self.events or not self.request_id:
            raise OutcomeUnknown(
                "the connection to the database was lost during COMMIT; whether the change "
                "was saved is unknown: read it back before retrying",
                retry_after=5,
            ) from error
        while True:
            if time.monotonic() + CONNECT_TIMEOUT_SECONDS > deadline:
                raise OutcomeUnknown(
                    "the connection to the database was lost during COMMIT and the database has not "
                    "answered since; whether the change was saved is unknown",
                    retry_after=5,
                ) from error
            try:
                with self.db.reading() as session:
                    if thread_id:
                        _end_session(session, thread_id, time.monotonic() - self.began)
                    found = self.journal.request_committed(session, self.request_id)
                break
            except Unavailable:
                time.sleep(0.5)  # a restarting server: its crash recovery decides, and the events say what it decided
        if found is None:
            raise Unavailable(
                "the connection to the database was lost before the change was saved; retry", retry_after=1, rerun_safe=True
            ) from error
        log.warning("request %s: the COMMIT's answer was lost, but the change was saved", self.request_id)
        self.answer_lost = True
        first = found[0][1] if found else ""
        return int(first) if first.isdigit() else 0


def _end_session(session, thread_id: int, age: float) -> None:
    """KILL a session at most `age` seconds old and wait until the server has let it go (a COMMIT it is
    running finishes first). After a restart the server numbers sessions anew: the id may be another's
    then, and the old session is gone anyway."""
    session.execute("SHOW GLOBAL STATUS LIKE 'Uptime'")
    row = session.fetchone()
    if row is None or int(row[1]) < age:
        return
    try:
        session.execute("KILL %s", (thread_id,))
    except pymysql.err.OperationalError as exc:
        if driver.error_code(exc) == ER_NO_SUCH_THREAD:
            return  # already gone
        raise  # this session failed too: the caller asks again on another
    for _ in range(100):
        session.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %s", (thread_id,))
        if not session.fetchone()[0]:
            return
        time.sleep(0.05)
    raise Unavailable("the database still runs the lost session", retry_after=5)


class Session:
    """Reads outside a transaction (autocommit), on the read pool."""

    def __init__(self, cursor):
        self.cursor = cursor
        self.execute, self.fetchall, self.fetchone, self.nextset = (cursor.execute, cursor.fetchall, cursor.fetchone, cursor.nextset)

    def fetchmany(self, size: int):
        return self.cursor.fetchmany(size)

    def run(self, sql: str, params: tuple | list = (), results: list | None = None) -> int:
        return driver.round_trip(self.cursor, sql, params, results)


class Database:
    def __init__(self, address: DatabaseAddress, max_connections: int = 8, fast_path: bool | None = None):
        self.address = address
        self.fast_path = driver.fast_path_wanted() if fast_path is None else (fast_path and driver.fast_path_supported())
        self.breaker = _Breaker()
        self.writes = _Pool(lambda: self._connect(autocommit=False), max_connections, self.breaker)
        # Reads need no transaction (WordPress reads users without one): autocommit spares the COMMIT.
        self.reads = _Pool(lambda: self._connect(autocommit=True), max_connections, self.breaker)

    def _connect(self, autocommit: bool):
        conn = driver.connect(self.fast_path, **{**self.address.connect_args(), "autocommit": autocommit})
        try:
            with conn.cursor() as cursor:
                driver.round_trip(cursor, _SESSION if autocommit else f"{_SESSION}; {_WRITE_SESSION}")
        except BaseException:
            driver.discard(conn)
            raise
        return conn

    @contextmanager
    def transaction(self, journal: Journal | None = None, actor: str = "", request_id: str = "") -> Iterator[Transaction]:
        """A Transaction committed when the block ends (if it did not end it itself: commit_with),
        rolled back on any error. Driver errors leave as storage errors (Unavailable, Invalid)."""
        self.breaker.allow()
        conn = self.writes.acquire()
        tx = Transaction(self, conn, journal, actor, request_id)
        broken = False
        try:
            try:
                yield tx
                tx.commit()
            except BaseException as exc:
                broken = driver.connection_lost(exc) if isinstance(exc, pymysql.err.Error) else not isinstance(exc, Exception)
                if not broken and not tx.committed:
                    broken = not _roll_back(conn, tx.locks)
                self.breaker.after(exc.__cause__ if isinstance(exc, Unavailable) and exc.__cause__ else exc)
                if isinstance(exc, pymysql.err.Error):
                    translated = _translate(exc)
                    if translated is not None:
                        raise translated from exc
                raise
            self.breaker.succeeded()
        finally:
            tx.cursor.close()
            self.writes.release(conn, broken)
        if journal is not None and tx.events:
            journal.committed(tx.events)

    @contextmanager
    def reading(self, unbuffered: bool = False) -> Iterator[Session]:
        """Reads only, each statement on its own (no transaction to end). `unbuffered` streams rows from
        the server instead of loading a whole result set."""
        self.breaker.allow()
        conn = self.reads.acquire()
        cursor = conn.cursor(pymysql.cursors.SSCursor) if unbuffered else conn.cursor()
        broken = False
        try:
            yield Session(cursor)
            self.breaker.succeeded()
        except pymysql.err.Error as exc:
            broken = driver.connection_lost(exc)
            self.breaker.after(exc)
            translated = _translate(exc)
            if translated is not None:
                raise translated from exc
            raise
        except BaseException:
            broken = True  # an unbuffered result may be left half read
            raise
        finally:
            try:
                cursor.close()
            except Exception:  # noqa: BLE001 - the connection is discarded below
                broken = True
            self.reads.release(conn, broken)

    @property
    def healthy(self) -> bool:
        return not self.breaker.down

    def close(self) -> None:
        self.writes.close()
        self.reads.close()


def _timed_out(error: BaseException) -> bool:
    return isinstance(error.__context__, TimeoutError) or "timed out" in str(error)


def _roll_back(conn, locks: list[str]) -> bool:
    """ROLLBACK (and release the named locks). False if the connection failed doing so."""
    try:
        with conn.cursor() as cursor:
            driver.round_trip(cursor, "ROLLBACK" + ("; DO RELEASE_ALL_LOCKS()" if locks else ""))
        return True
    except Exception:  # noqa: BLE001 - the connection is discarded; the error that ended the request says why
        return False


REFUSED = 1242  # ER_SUBQUERY_NO_1_ROW: the error refuse_if_any() raises
ER_NO_SUCH_THREAD = 1094


def refused(error: BaseException) -> bool:
    return driver.error_code(error) == REFUSED


def refuse_if_any(select: str) -> str:
    """A statement that fails with REFUSED when `select` returns a row; MySQL then runs none of the
    statements after it in the same round trip. (SET, not DO: DO turns errors into warnings.)"""
    return f"SET @wpscim_refused = (SELECT 0 UNION ALL {select})"


def locks_missing(count: int) -> str:
    """A SELECT returning a row unless all `count` locks of the last take_locks() were taken."""
    return f"SELECT 1 FROM DUAL WHERE NOT (@wpscim_locks <=> {int(count)})"


def locked_and(then: str = "") -> str:
    """A SELECT of the lock count of the last take_locks() (as 32 × count, so the driver parses one
    result set, not two), followed by the values of `then` (see Transaction.lock)."""
    return "SELECT 32 * @wpscim_locks" + (f" UNION ALL {then}" if then else "")


def ensure_database(address: DatabaseAddress) -> bool:
    """Create the database if the server does not have it (for --init-schema). True if created."""
    args = address.connect_args()
    args.pop("database", None)
    try:
        conn = pymysql.connect(**args)
    except pymysql.err.Error as exc:
        raise Unavailable(f"cannot connect to {address.without_password()}: {exc.args[-1] if exc.args else exc}") from exc
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (address.database,))
            if cursor.fetchone():
                return False
            name = address.database.replace("`", "``")
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            return True
    finally:
        conn.close()
