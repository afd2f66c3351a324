"""A request's transaction fails whole or commits whole, also when InnoDB picks it as a deadlock victim
or the server drops its connection; a pooled connection the server dropped between requests is
replaced without the request noticing. Real MariaDB/MySQL, real deadlocks and KILLs."""

from __future__ import annotations

import fcntl
import socket
import struct
import termios
import threading
import time

import pymysql
import pytest

import wpscim.wordpress.db
from wpscim.wordpress.db import Database, DatabaseAddress, execute_all


@pytest.fixture
def db(mysql_server, empty_database):
    database = Database(DatabaseAddress(mysql_server["host"], mysql_server["port"], mysql_server["user"],
                                        mysql_server["password"], empty_database), max_connections=2)
    with database.transaction() as cursor:
        cursor.execute("CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB")
        cursor.execute("INSERT INTO t VALUES " + ", ".join(f"({i}, 0)" for i in range(1, 61)))
    yield database
    database.close()


def _other(mysql_server, database: str):
    return pymysql.connect(**mysql_server, database=database, autocommit=False)


def _values(mysql_server, database: str) -> dict[int, int]:
    with _other(mysql_server, database) as conn, conn.cursor() as cur:
        cur.execute("SELECT id, v FROM t")
        return dict(cur.fetchall())


def test_a_deadlock_victim_sees_the_deadlock_and_commits_none_of_its_statements(db, mysql_server, empty_database):
    """Before wpscim told DBUtils which errors allow running a statement again, DBUtils ran the
    victim's failed statement again in a new transaction and the request committed that statement
    alone (here: row 2 = 1, row 55 back to 0) without seeing any error."""
    other = _other(mysql_server, empty_database)

    def rival():  # holds rows 2..50 (more work than ours, so InnoDB picks ours as the victim), then wants row 1
        with other.cursor() as cur:
            cur.execute("UPDATE t SET v = 2 WHERE id BETWEEN 2 AND 50")
            time.sleep(0.5)
            cur.execute("UPDATE t SET v = 2 WHERE id = 1")
        other.commit()

    thread = threading.Thread(target=rival)
    with pytest.raises(pymysql.err.OperationalError) as raised:
        with db.transaction() as cursor:
            cursor.execute("UPDATE t SET v = 1 WHERE id = 1")
            thread.start()
            time.sleep(0.2)
            cursor.execute("UPDATE t SET v = 1 WHERE id = 55")
            cursor.execute("UPDATE t SET v = 1 WHERE id = 2")  # waits for the rival, which then waits for us
    thread.join()
    other.close()
    assert raised.value.args[0] == 1213
    values = _values(mysql_server, empty_database)
    assert values[55] == 0, "a statement of the rolled-back transaction was committed"
    assert values[1] == 2 and values[2] == 2
    assert 1 not in values.values()


def _connection_id(cursor) -> int:
    cursor.execute("SELECT CONNECTION_ID()")
    return cursor.fetchone()[0]


def _kill(mysql_server, connection_id: int) -> None:
    with pymysql.connect(**mysql_server, autocommit=True) as admin, admin.cursor() as cur:
        cur.execute("KILL %s", (connection_id,))
    time.sleep(0.2)


def test_a_connection_dropped_between_transactions_is_replaced_without_an_error(db, mysql_server):
    # Several times, so that the pool's other connection is also the killed one at least once.
    for _ in range(3):
        with db.transaction() as cursor:
            killed = _connection_id(cursor)
        _kill(mysql_server, killed)
        with db.transaction() as cursor:
            cursor.execute("UPDATE t SET v = v + 1 WHERE id = 3")
            assert _connection_id(cursor) != killed
        with db.reading() as cursor:
            killed = _connection_id(cursor)
        _kill(mysql_server, killed)
        with db.reading() as cursor:
            cursor.execute("SELECT v FROM t WHERE id = 3")
            assert cursor.fetchone()[0] >= 1


@pytest.mark.parametrize("first", ["UPDATE t SET v = 7 WHERE id = 4",
                                   # neither sets the server's "in transaction" flag, yet what follows relies on them
                                   "SELECT v FROM t WHERE id = 4 FOR UPDATE", "DO GET_LOCK('wpscim-test', 5)"])
def test_a_connection_dropped_mid_transaction_fails_it_whole_and_the_pool_recovers(db, mysql_server, empty_database, first):
    with pytest.raises(pymysql.err.OperationalError) as raised:  # answered 503 by the HTTP layer
        with db.transaction() as cursor:
            cursor.execute(first)
            cursor.fetchall()
            _kill(mysql_server, _connection_id(cursor))
            cursor.execute("UPDATE t SET v = 7 WHERE id = 5")  # must not run again on a new connection
    assert raised.value.args[0] in (2006, 2013)  # the lost connection, not a failed ROLLBACK after it
    values = _values(mysql_server, empty_database)
    assert values[4] == 0 and values[5] == 0
    for _ in range(3):  # every pooled connection works again
        with db.transaction() as cursor:
            cursor.execute("UPDATE t SET v = v + 1 WHERE id = 6")
    assert _values(mysql_server, empty_database)[6] == 3


def test_writes_use_plain_index_statistics_and_reads_the_servers_defaults(db, mysql_server, empty_database):
    """The write pool's sessions skip MariaDB's costlier plan analysis (every write is an index lookup);
    the read pool, which runs arbitrary filters, keeps the server's optimizer settings."""
    mariadb = "MariaDB" in _version(mysql_server, empty_database)
    with db.transaction() as cursor:
        cursor.execute("SELECT @@eq_range_index_dive_limit" + (", @@optimizer_use_condition_selectivity, @@use_stat_tables" if mariadb else ""))
        assert cursor.fetchone() == ((1, 1, "NEVER") if mariadb else (1,))
        cursor.execute("SELECT @@optimizer_switch")
        switches = cursor.fetchone()[0]
        assert not mariadb or ("rowid_filter=off" in switches and "index_merge=off" in switches)
    with db.reading() as cursor, _other(mysql_server, empty_database) as fresh, fresh.cursor() as defaults:
        query = "SELECT @@eq_range_index_dive_limit, @@optimizer_switch"
        cursor.execute(query)
        defaults.execute(query)
        assert cursor.fetchone() == defaults.fetchone()


def _version(mysql_server, database: str) -> str:
    with _other(mysql_server, database) as conn, conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        return cur.fetchone()[0]


@pytest.mark.parametrize("first_id", [7, 300, 70_000, 20_000_000])  # IDs of 1, 3, 4 and 9 bytes on the wire
def test_a_round_trip_reports_its_first_new_id_its_rows_and_its_errors(db, first_id):
    """execute_all reads OK packets itself (Connection.read_rest); what it returns must match what
    PyMySQL's own reading would, for every size of ID, with row sets in between and after an error."""
    with db.transaction() as cursor:
        cursor.execute(f"CREATE TABLE a (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT) AUTO_INCREMENT = {first_id}")
    with db.transaction() as cursor:
        cursor.connection._read_timeout = 10  # a reader that waits for a result that never comes fails, not hangs
        rows: list = []
        new_id = execute_all(cursor, "UPDATE t SET v = 1 WHERE id = 1; SELECT v FROM t WHERE id = 1; "
                             "INSERT INTO a (v) VALUES (1), (2); SELECT COUNT(*) FROM a; INSERT INTO a (v) VALUES (3)",
                             results=rows)
        assert new_id == first_id and rows == [((1,),), ((2,),)]
        with pytest.raises(pymysql.err.ProgrammingError):
            execute_all(cursor, "INSERT INTO a (v) VALUES (4); SELECT * FROM no_such_table; INSERT INTO a (v) VALUES (5)")
        cursor.execute("SELECT id, v FROM a ORDER BY id")  # the connection is in step after the error
        assert cursor.fetchall() == ((first_id, 1), (first_id + 1, 2), (first_id + 2, 3), (first_id + 3, 4))


_TYPED = [  # one column name, many types: a parse cached by name (not by the whole definition) would mix them up
    "SELECT 7 AS a", "SELECT 'seven' AS a", "SELECT CAST('2024-02-29 13:14:15' AS DATETIME) AS a", "SELECT NULL AS a",
    "SELECT CAST(x'00ff' AS BINARY) AS a", "SELECT 1.5 AS a", "SELECT CAST(2.5 AS DOUBLE) AS a", "SELECT DATE('2024-02-29') AS a",
    "SELECT id AS a, v FROM t WHERE id <= 2 ORDER BY id", "SELECT v AS a, id FROM t WHERE id <= 2 ORDER BY id",
]


def test_column_definitions_parsed_once_read_as_pymysql_reads_them(db, mysql_server, empty_database):
    """wpscim's connections parse each statement's column definitions once (_Result): every result,
    buffered, unbuffered or after the first statement of a round trip, must match PyMySQL's own reading."""
    with _other(mysql_server, empty_database) as plain, plain.cursor() as reference:
        expected = []
        for sql in _TYPED:
            reference.execute(sql)
            expected.append((reference.description, reference.fetchall()))
    with db.reading() as cursor:
        for _ in range(3):  # the second and third time from the parsed definitions
            for sql, (description, rows) in zip(_TYPED, expected):
                cursor.execute(sql)
                assert (cursor.description, cursor.fetchall()) == (description, rows), sql
        assert len(cursor.connection.descriptions) == len(_TYPED)
        results: list = []
        execute_all(cursor, "; ".join(_TYPED), results=results)
        assert [tuple(rows) for rows in results] == [rows for _, rows in expected]
    with db.reading(unbuffered=True) as cursor:
        for sql, (description, rows) in zip(_TYPED, expected):
            cursor.execute(sql)
            assert (cursor.description, tuple(cursor.fetchall())) == (description, rows), sql


def _received_now(cursor) -> int:
    """Bytes waiting in the connection's socket (FIONREAD)."""
    return struct.unpack("i", fcntl.ioctl(cursor.connection._sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]


def test_a_write_round_trip_is_awaited_whole_once_its_size_is_known(db, monkeypatch):
    """execute_all learns the size of a round trip without row sets (its OK packets) and next time
    sleeps until all of it is in, instead of waking for each statement's result (_await_answer)."""
    monkeypatch.setattr(wpscim.wordpress.db, "_ANSWER_WAIT_MS", 5000)  # longer than the statements' pause
    slow = "DO 0; DO SLEEP(0.3); UPDATE t SET v = v + 1 WHERE id = 1"  # results 0.3 s apart
    with db.transaction() as cursor:
        conn = cursor.connection
        if conn._sock.family == socket.AF_UNIX:
            pytest.skip("Unix sockets ignore SO_RCVLOWAT in poll(); wpscim does not wait there")
        execute_all(cursor, slow)
        size = conn.answer_sizes[slow]
        assert size > 11 + 11 + 11  # two bare OK packets, then one with "Rows matched: …"
        seen = []
        real_await = conn._await_answer

        def await_then_look(size):
            real_await(size)
            seen.append(_received_now(cursor))

        conn._await_answer = await_then_look
        execute_all(cursor, slow)
        # Woken once the whole answer was in; without the mark it would wake on the first 11 bytes.
        assert seen and seen[0] >= size - 10, (seen, size)
        assert conn._sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT) == 1  # reset for PyMySQL's own reads


def test_an_answer_shorter_than_the_awaited_one_is_read_after_a_short_wait(db):
    """An error ends a round trip early, with fewer bytes than the learned answer: the wait gives up
    after _ANSWER_WAIT_MS and the error is read and raised as before. Round trips with row sets or
    errors teach nothing."""
    sql = "UPDATE t SET v = %s WHERE id = 1; UPDATE t SET v = v + 1 WHERE id = 2"
    with db.transaction() as cursor:
        execute_all(cursor, sql, (5,))
        learned = cursor.connection.answer_sizes[sql]
        began = time.monotonic()
        with pytest.raises(pymysql.err.IntegrityError):  # v is NOT NULL
            execute_all(cursor, sql, (None,))
        assert time.monotonic() - began < 1
        assert cursor.connection.answer_sizes[sql] == learned
        execute_all(cursor, "SELECT 1; DO 0", results=[])
        assert "SELECT 1; DO 0" not in cursor.connection.answer_sizes
        cursor.execute("SELECT v FROM t WHERE id IN (1, 2) ORDER BY id")  # the connection is in step after the error
        assert cursor.fetchall() == ((5,), (1,))
