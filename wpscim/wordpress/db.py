"""Pooled MySQL connections and one-transaction-per-request units of work.

WordPress's tables have no UNIQUE index on login or e-mail, so uniqueness is enforced under named
locks (GET_LOCK): a `SELECT … FOR UPDATE` then `INSERT` takes gap locks on the non-unique index and
deadlocks under concurrent creates. Sessions run READ COMMITTED so that, once a lock is held, the
rows committed by its previous holder are visible.

Connections allow several statements per round trip (CLIENT.MULTI_STATEMENTS): a create takes its
locks, checks uniqueness, inserts the users row and its usermeta, commits and releases its locks in
one; a statement that fails when a value is taken (refuse_if_any) keeps the inserts from running.
Every value is still bound (escaped by PyMySQL), never formatted in.

DBUtils replaces a connection the server dropped and runs the failed statement again on the new one;
wpscim lets it do so only when no transaction was open on the dropped connection (see
`_may_run_again`). Run again inside a transaction, a statement would commit without the statements
before it: after a deadlock InnoDB has rolled those back, after a lost connection the server has.
"""

from __future__ import annotations

import hashlib
import select
import socket
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlparse

import pymysql
from pymysql.connections import TEXT_TYPES
from pymysql.constants import CLIENT, FIELD_TYPE, SERVER_STATUS
from dbutils.pooled_db import PooledDB

from wpscim.scim.errors import ScimError

LOCK_TIMEOUT_SECONDS = 10
_CONNECTION_LOST = {2006, 2013, 2055}  # CR_SERVER_GONE_ERROR, CR_SERVER_LOST, CR_SERVER_LOST_EXTENDED

# Writes look rows up by primary key or by one indexed value, where every plan is the same index lookup;
# MariaDB's optimizer still dives into each candidate index, weighs its selectivity model, rowid filters
# and index merges before every one (a create asks four such questions). With plain index statistics a
# create costs MariaDB ~0.01-0.02 ms less under load, +3 % creates/s (bench/RESULTS.md). MySQL reads
# only the first setting (the rest is a MariaDB-only executable comment). Reads keep the defaults:
# filters can be complex.
_WRITE_SESSION = ("SET SESSION eq_range_index_dive_limit = 1 /*M!100400 , optimizer_use_condition_selectivity = 1, "
                  "use_stat_tables = 'NEVER', optimizer_switch = 'rowid_filter=off,index_merge=off' */")


@dataclass(frozen=True)
class DatabaseAddress:
    host: str = "127.0.0.1"
    port: int = 3306
    user: str = "root"
    password: str = ""
    database: str = ""
    unix_socket: str | None = None
    charset: str = "utf8mb4"

    def connect_args(self) -> dict:
        args = dict(user=self.user, password=self.password, charset=self.charset, autocommit=False)
        if self.database:
            args["database"] = self.database
        if self.unix_socket:
            args["unix_socket"] = self.unix_socket
        else:
            args.update(host=self.host, port=self.port)
        return args

    def without_password(self) -> str:
        where = self.unix_socket or f"{self.host}:{self.port}"
        return f"mysql://{self.user}@{where}/{self.database}"


def parse_database_url(url: str) -> DatabaseAddress:
    """mysql://user:pass@host:port/db (also mysql+pymysql://, ?unix_socket=/path, ?charset=…)."""
    parsed = urlparse(url)
    if not parsed.scheme.startswith("mysql") and not parsed.scheme.startswith("mariadb"):
        raise ValueError(f"not a mysql:// URL: {parsed.scheme}://…")
    query = parse_qs(parsed.query)
    return DatabaseAddress(
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 3306,
        user=unquote(parsed.username or "root"),
        password=unquote(parsed.password or ""),
        database=unquote(parsed.path.lstrip("/")),
        unix_socket=query.get("unix_socket", [None])[0],
        charset=query.get("charset", ["utf8mb4"])[0],
    )


# Connection.escape()'s escaping of text (backslash escapes) as a str.translate table; a list indexed
# by code point translates about twice as fast as a dict.
_TEXT_ESCAPES = [chr(x) for x in range(128)]
for _char, _escaped in {"\0": "\\0", "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\032": "\\Z", '"': '\\"', "'": "\\'"}.items():
    _TEXT_ESCAPES[ord(_char)] = _escaped


class Cursor(pymysql.cursors.Cursor):
    """PyMySQL's cursor, binding text values without a call per value: a create binds about forty,
    and Connection.escape() dispatches on each one's type. Other values, and servers running with
    NO_BACKSLASH_ESCAPES, go through PyMySQL's own escaping."""

    def _mogrify(self, query, args):
        conn = self._get_db()
        if not isinstance(args, (list, tuple)) or conn.server_status & SERVER_STATUS.SERVER_STATUS_NO_BACKSLASH_ESCAPES:
            return super()._mogrify(query, args)
        escape = conn.escape
        try:
            return query % tuple(["'" + a.translate(_TEXT_ESCAPES) + "'" if type(a) is str else escape(a) for a in args])
        except TypeError as exc:
            raise pymysql.err.ProgrammingError(str(exc)) from None


_DESCRIPTIONS_KEPT = 256  # per connection; wpscim sends a few dozen distinct column lists
_ANSWERS_KEPT = 256  # per connection: answer sizes of write round trips, by statement text (execute_all)
_ANSWER_MARGIN = 10  # bytes: an answer a few digits shorter than the last one still wakes its reader once
_ANSWER_WAIT_MS = 5  # longest wait for a whole answer; a shorter one (an error) is then read as it comes


class _Result(pymysql.connections.MySQLResult):
    """PyMySQL's result, with each distinct list of column definitions parsed once per connection. The
    server sends the definitions before every result set, byte for byte the same for the same
    statement, and PyMySQL parses each into an object (some forty Python calls per column; a lookup's
    three result sets have thirteen columns). It also counts the bytes of OK packets for execute_all."""

    def _read_ok_packet(self, packet):
        self.connection.count_answer(packet)
        super()._read_ok_packet(packet)

    def _read_result_packet(self, first_packet):
        self.connection.answer_bytes = -1  # row sets vary in size: such round trips are not awaited whole
        super()._read_result_packet(first_packet)

    def _get_descriptions(self):
        conn = self.connection
        packets = tuple([conn._read_packet().get_all_data() for _ in range(self.field_count)])
        eof_packet = conn._read_packet()
        assert eof_packet.is_eof_packet(), "Protocol error, expecting EOF"
        key = (packets, conn.encoding)
        parsed = conn.descriptions.get(key)
        if parsed is None:
            if len(conn.descriptions) >= _DESCRIPTIONS_KEPT:
                conn.descriptions.clear()
            parsed = conn.descriptions[key] = _parse_descriptions(conn, packets)
        self.fields, self.converters, self.description = list(parsed[0]), list(parsed[1]), parsed[2]


def _parse_descriptions(conn, packets: tuple[bytes, ...]) -> tuple[tuple, tuple, tuple]:
    """Fields, (encoding, converter) pairs and the DB-API description, as PyMySQL 1.x's
    MySQLResult._get_descriptions() makes them."""
    fields, converters = [], []
    for data in packets:
        field = pymysql.protocol.FieldDescriptorPacket(data, conn.encoding)
        fields.append(field)
        if not conn.use_unicode:
            encoding = None
        elif field.type_code == FIELD_TYPE.JSON:
            encoding = conn.encoding
        elif field.type_code in TEXT_TYPES:
            encoding = None if field.charsetnr == 63 else conn.encoding  # 63: binary
        else:
            encoding = "ascii"
        converter = conn.decoders.get(field.type_code)
        converters.append((encoding, None if converter is pymysql.converters.through else converter))
    return tuple(fields), tuple(converters), tuple(field.description() for field in fields)


class Connection(pymysql.connections.Connection):
    """PyMySQL's connection, noting on each error whether its statement came after others of the same
    transaction (`_may_run_again` needs it). The server's status flag cannot tell: a SELECT … FOR UPDATE
    or a GET_LOCK does not set it, and a result set does not report it. It also reads the rest of a
    round trip's results cheaply (read_rest), parses a statement's column definitions once (_Result)
    and waits for a write round trip's whole answer (_await_answer)."""

    transaction_statements = 0  # statements sent since Database.transaction() began

    def __init__(self, *args, **kwargs):
        self.descriptions: dict = {}  # see _Result
        self.answer_sizes: dict[str, int] = {}  # see execute_all
        self.answer_bytes = 0  # bytes of the OK packets read since execute_all began; -1 after a row set
        self.awaited = 0  # bytes to wait for before reading the next answer
        super().__init__(*args, **kwargs)

    def query(self, sql, unbuffered=False):
        in_transaction = self.transaction_statements > 0 and not self.autocommit_mode
        self.transaction_statements += 1
        try:
            return super().query(sql, unbuffered)
        except pymysql.err.Error as exc:
            exc.in_transaction = in_transaction
            raise

    def _read_query_result(self, unbuffered=False):
        """PyMySQL's (1.x), reading results as _Result."""
        if self.awaited:
            self._await_answer(self.awaited)
            self.awaited = 0
        self._result = None
        result = _Result(self)
        if unbuffered:
            result.init_unbuffered_query()
        else:
            result.read()
        self._result = result
        if result.server_status is not None:
            self.server_status = result.server_status
        return result.affected_rows

    def count_answer(self, ok_packet) -> None:
        if self.answer_bytes >= 0:
            self.answer_bytes += len(ok_packet.get_all_data()) + 4  # + the packet header

    def _await_answer(self, size: int) -> None:
        """Sleep until `size` bytes of the answer are in (SO_RCVLOWAT), or _ANSWER_WAIT_MS. MariaDB sends
        each statement's result as it completes: a create's six woke the request's thread about five
        times, each wake-up costing both processes CPU (bench/RESULTS.md). Unix sockets ignore the
        mark in poll(), so there is nothing to gain there."""
        sock = self._sock
        if sock is None or sock.family == socket.AF_UNIX or not hasattr(select, "poll"):
            return
        try:
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, size)
            try:
                poller.poll(_ANSWER_WAIT_MS)
            finally:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, 1)
        except OSError:
            pass  # a broken connection: the read that follows reports it

    def read_rest(self, results: list | None = None) -> int:
        """The remaining results of a multi-statement round trip; returns the first AUTO_INCREMENT value
        among them. Their OK packets (a create has five after the first) are read here: through
        Cursor.nextset() each costs some thirty Python calls. Row sets go through PyMySQL and are
        appended to `results`."""
        result, first_id = self._result, 0
        while result is not None and result.has_next:
            self._result = None  # as PyMySQL leaves it when the next statement's error is raised
            packet = self._read_packet()
            if packet.is_ok_packet():  # header, affected rows, insert ID, status flags (warnings, message)
                self.count_answer(packet)
                packet.advance(1)
                packet.read_length_encoded_integer()
                insert_id = packet.read_length_encoded_integer()
                first_id = first_id or insert_id
                result.server_status = packet.read_uint16()
                result.has_next = result.server_status & SERVER_STATUS.SERVER_MORE_RESULTS_EXISTS
            else:
                result = _Result(self)
                try:
                    result._read_result_packet(packet)
                finally:
                    result.connection = None
                if results is not None:
                    results.append(result.rows)
            self.server_status = result.server_status
            self._result = result
        return first_id


def _connect(**kwargs) -> Connection:
    return Connection(**kwargs)


_connect.dbapi = pymysql  # what DBUtils reads thread safety and exception classes from


def _may_run_again(error: Exception) -> bool:
    """DBUtils' `isfatal`: whether to reconnect and run the failed statement again. Only for a
    connection the server dropped outside a transaction (a pooled connection that sat idle past
    wait_timeout, a restarted server); any other error reaches the request, whose transaction fails
    whole (and is retried whole after a deadlock: wpscim.http.errors.retrying)."""
    lost = isinstance(error, pymysql.err.InterfaceError) or (
        isinstance(error, pymysql.err.OperationalError) and bool(error.args) and error.args[0] in _CONNECTION_LOST)
    return lost and not getattr(error, "in_transaction", True)


class Database:
    def __init__(self, address: DatabaseAddress, max_connections: int = 8):
        self.address = address
        self.pool = self._pool(max_connections, autocommit=False)
        # Reads need no transaction (WordPress reads users without one): autocommit spares the COMMIT.
        self.read_pool = self._pool(max_connections, autocommit=True)

    def _pool(self, size: int, autocommit: bool) -> PooledDB:
        return PooledDB(
            _connect,
            mincached=0,
            maxcached=size,
            maxconnections=size,
            blocking=True,
            ping=0,  # no round trip per request; SteadyDB reopens a connection the server dropped
            isfatal=_may_run_again,
            reset=False,  # transaction() always commits or rolls back itself: no extra ROLLBACK on return
            # group_concat_max_len: a user's usermeta is read as one GROUP_CONCAT (see UserStore._load_raw).
            setsession=["SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
                        "SET time_zone = '+00:00', SESSION group_concat_max_len = 4294967295",
                        *([] if autocommit else [_WRITE_SESSION])],
            client_flag=CLIENT.MULTI_STATEMENTS,
            cursorclass=Cursor,
            **{**self.address.connect_args(), "autocommit": autocommit},
        )

    @contextmanager
    def reading(self, unbuffered: bool = False):
        """A cursor for reads only, each statement on its own (no transaction to end). `unbuffered`
        streams rows from the server instead of loading a whole result set."""
        conn = self.read_pool.connection()
        cursor = conn.cursor(pymysql.cursors.SSCursor) if unbuffered else conn.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
            conn.close()

    @contextmanager
    def transaction(self):
        """A cursor inside one transaction: committed on success, rolled back on any error.
        Named locks taken with `lock()` are released after the commit or rollback."""
        conn = self.pool.connection()
        cursor = conn.cursor()
        cursor.connection.transaction_statements = 0
        locked = []
        cursor.locked = locked
        try:
            yield cursor  # autocommit is off: the first statement opens the transaction
            if getattr(cursor, "committed", False):
                pass  # commit_with() ended it
            elif locked:  # released only once the commit has made this request's rows visible
                execute_all(cursor, "COMMIT; DO RELEASE_ALL_LOCKS()")
                locked.clear()
            else:
                conn.commit()
        except BaseException:
            try:
                conn.rollback()
            except pymysql.err.Error:
                pass  # the connection is gone, and the server rolled back with it; the error that ended the request says why
            raise
        finally:
            try:
                if locked:
                    cursor.execute("DO RELEASE_ALL_LOCKS()")
            finally:
                cursor.close()
                conn.close()

    def close(self) -> None:
        self.pool.close()
        self.read_pool.close()


REFUSED = 1242  # ER_SUBQUERY_NO_1_ROW: the error refuse_if_any() raises


def lock_statement(cursor, names: list[str]) -> tuple[str, list, int]:
    """`SET @wpscim_locks = <how many of the named locks were taken>`: its SQL, its parameters and the
    count that means all. Locks are taken in sorted order, so two requests never wait on each other in
    a cycle; hashed names keep them under MySQL's 64-character limit and free of user data. The names
    are recorded on the cursor at once: transaction() releases them however the request ends."""
    hashed = sorted({"wpscim:" + hashlib.sha1(name.encode("utf-8")).hexdigest() for name in names})
    cursor.locked.extend(hashed)
    params = []
    for name in hashed:
        params += [name, LOCK_TIMEOUT_SECONDS]
    return "SET @wpscim_locks = " + " + ".join(["GET_LOCK(%s, %s)"] * len(hashed)), params, len(hashed)  # NULL on error


def refuse_if_any(select: str) -> str:
    """A statement that fails with REFUSED when `select` returns a row; MySQL then runs none of the
    statements after it in the same round trip. (SET, not DO: DO turns errors into warnings.)"""
    return f"SET @wpscim_refused = (SELECT 0 UNION ALL {select})"


def locks_missing(count: int) -> str:
    """A SELECT returning a row unless all `count` locks of the last lock_statement() were taken."""
    return f"SELECT 1 FROM DUAL WHERE NOT (@wpscim_locks <=> {int(count)})"


def lock(cursor, names: list[str], then: str = "", then_params: tuple | list = ()) -> list[int]:
    """Take named locks (see lock_statement), or answer 503 if they are not free within the timeout.

    `then`, a SELECT of one integer column whose values are below 32, runs in the same round trip once
    the locks are held; its values come back."""
    if not names:
        if then:
            cursor.execute(then, then_params)
            return [int(value) for (value,) in cursor.fetchall()]
        return []
    statement, params, count = lock_statement(cursor, names)
    cursor.execute(f"{statement}; {locked_and(then)}", [*params, *then_params])
    cursor.nextset()
    return locked_values(cursor, count)


def locked_and(then: str = "") -> str:
    """A SELECT of the lock count of the last lock_statement() (as 32 × count, so PyMySQL parses one
    result set, not two), followed by the values of `then` (see lock)."""
    return "SELECT 32 * @wpscim_locks" + (f" UNION ALL {then}" if then else "")


def locked_values(cursor, count: int) -> list[int]:
    """The values of a locked_and() result, or 503 if fewer than `count` locks were taken."""
    values = [value for (value,) in cursor.fetchall()]
    taken = [int(value) for value in values if value is not None]
    if None in values or sum(value // 32 for value in taken) != count:
        raise ScimError(503, "the service is busy with a conflicting change; retry shortly", headers={"Retry-After": "1"})
    return [value % 32 for value in taken if value % 32]


def execute_all(cursor, sql: str, params: tuple | list = (), results: list | None = None) -> int:
    """Run a multi-statement round trip to its end (raising the error of any statement); returns the
    first AUTO_INCREMENT value one of its statements generated, if any. The rows of each statement
    that returns rows are appended to `results`.

    The answer of a round trip without row sets is the same size each time (its OK packets), so the
    connection learns it per statement text and next time waits for all of it at once (_await_answer)."""
    conn = cursor.connection
    conn.awaited = max(conn.answer_sizes.get(sql, 0) - _ANSWER_MARGIN, 0)
    conn.answer_bytes = 0
    try:
        cursor.execute(sql, params)
    finally:
        conn.awaited = 0
    if results is not None and cursor.description:
        results.append(cursor.fetchall())
    first_id = cursor.lastrowid
    conn = cursor.connection  # a new one if DBUtils reconnected and ran the statement again
    later_id = conn.read_rest(results)
    if conn.answer_bytes > 0:
        if len(conn.answer_sizes) >= _ANSWERS_KEPT:
            conn.answer_sizes.clear()
        conn.answer_sizes[sql] = conn.answer_bytes
    return first_id or later_id


def commit_with(cursor, sql: str, params: tuple | list = (), results: list | None = None) -> int:
    """The transaction's last statements, its COMMIT and the release of its named locks, in one round
    trip (see execute_all). Nothing may run on `cursor` after it: transaction() has nothing left to do."""
    tail = "; COMMIT" + ("; DO RELEASE_ALL_LOCKS()" if cursor.locked else "")
    first_id = execute_all(cursor, sql + tail, params, results)
    cursor.locked.clear()
    cursor.committed = True
    return first_id


def ensure_database(address: DatabaseAddress) -> bool:
    """Create the database if the server does not have it (for --init-schema). True if created."""
    args = address.connect_args()
    args.pop("database", None)
    conn = pymysql.connect(**args)
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
