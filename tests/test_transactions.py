"""A request's transaction fails whole or commits whole, also when InnoDB picks it as a deadlock victim
or the server drops its connection; a pooled connection the server dropped between requests is
replaced without the request noticing. Real MariaDB/MySQL, real deadlocks and KILLs."""

from __future__ import annotations

import threading
import time

import pymysql
import pytest

import wpscim.wordpress.driver
from wpscim.wordpress.db import Database, DatabaseAddress
from wpscim.wordpress.errors import Unavailable


def _database(mysql_server, name: str, fast_path: bool) -> Database:
    database = Database(
        DatabaseAddress(mysql_server["host"], mysql_server["port"], mysql_server["user"], mysql_server["password"], name),
        max_connections=2,
        fast_path=fast_path,
    )
    assert database.fast_path == fast_path
    with database.transaction() as cursor:
        cursor.execute("CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB")
        cursor.execute("INSERT INTO t VALUES " + ", ".join(f"({i}, 0)" for i in range(1, 61)))
    return database


@pytest.fixture(params=[True, False], ids=["fast-path", "plain-driver"])
def db(request, mysql_server, empty_database):
    """The same guarantees hold with the driver fast path and with PyMySQL as published."""
    database = _database(mysql_server, empty_database, request.param)
    yield database
    database.close()


@pytest.fixture
def fast_db(mysql_server, empty_database):
    """For the fast path's own mechanisms (wpscim.wordpress.driver), whatever WPSCIM_FAST_PATH says."""
    database = _database(mysql_server, empty_database, True)
    yield database
    database.close()


def _other(mysql_server, database: str):
    return pymysql.connect(**mysql_server, database=database, autocommit=False)


def _values(mysql_server, database: str) -> dict[int, int]:
    with _other(mysql_server, database) as conn, conn.cursor() as cur:
        cur.execute("SELECT id, v FROM t")
        return dict(cur.fetchall())


def test_a_deadlock_victim_sees_the_deadlock_and_commits_none_of_its_statements(db, mysql_server, empty_database):
    """A statement is never run again behind the caller's back: a pool that reran the victim's failed
    statement in a new transaction committed that statement alone (here: row 2 = 1, row 55 back to 0)
    without the request seeing any error. The victim's transaction fails whole, as safe to run again."""
    other = _other(mysql_server, empty_database)

    def rival():  # holds rows 2..50 (more work than ours, so InnoDB picks ours as the victim), then wants row 1
        with other.cursor() as cur:
            cur.execute("UPDATE t SET v = 2 WHERE id BETWEEN 2 AND 50")
            time.sleep(0.5)
            cur.execute("UPDATE t SET v = 2 WHERE id = 1")
        other.commit()

    thread = threading.Thread(target=rival)
    with pytest.raises(Unavailable) as raised:
        with db.transaction() as cursor:
            cursor.execute("UPDATE t SET v = 1 WHERE id = 1")
            thread.start()
            time.sleep(0.2)
            cursor.execute("UPDATE t SET v = 1 WHERE id = 55")
            cursor.execute("UPDATE t SET v = 1 WHERE id = 2")  # waits for the rival, which then waits for us
    thread.join()
    other.close()
    assert raised.value.rerun_safe and raised.value.__cause__.args[0] == 1213
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


@pytest.mark.parametrize(
    "first",
    [
        "UPDATE t SET v = 7 WHERE id = 4",
        # neither sets the server's "in transaction" flag, yet what follows relies on them
        "SELECT v FROM t WHERE id = 4 FOR UPDATE",
        "DO GET_LOCK('wpscim-test', 5)",
    ],
)
def test_a_connection_dropped_mid_transaction_fails_it_whole_and_the_pool_recovers(db, mysql_server, empty_database, first):
    with pytest.raises(Unavailable) as raised:  # run again by the HTTP layer, or answered 503
        with db.transaction() as cursor:
            cursor.execute(first)
            cursor.fetchall()
            _kill(mysql_server, _connection_id(cursor))
            cursor.execute("UPDATE t SET v = 7 WHERE id = 5")  # must not run again on a new connection
    assert raised.value.rerun_safe  # nothing was committed
    assert raised.value.__cause__.args[0] in (2006, 2013)  # the lost connection, not a failed ROLLBACK after it
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
        cursor.execute(
            "SELECT @@eq_range_index_dive_limit" + (", @@optimizer_use_condition_selectivity, @@use_stat_tables" if mariadb else "")
        )
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
    """A round trip's answer, read through PyMySQL's nextset() (with the fast path's result objects or
    PyMySQL's), gives the first new ID and the row sets, for every size of ID, with row sets in between
    and after an error."""
    with db.transaction() as cursor:
        cursor.execute(f"CREATE TABLE a (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT) AUTO_INCREMENT = {first_id}")
    with db.transaction() as cursor:
        rows: list = []
        new_id = cursor.run(
            "UPDATE t SET v = 1 WHERE id = 1; SELECT v FROM t WHERE id = 1; "
            "INSERT INTO a (v) VALUES (1), (2); SELECT COUNT(*) FROM a; INSERT INTO a (v) VALUES (3)",
            results=rows,
        )
        assert new_id == first_id and rows == [((1,),), ((2,),)]
        with pytest.raises(pymysql.err.ProgrammingError):
            cursor.run("INSERT INTO a (v) VALUES (4); SELECT * FROM no_such_table; INSERT INTO a (v) VALUES (5)")
        cursor.execute("SELECT id, v FROM a ORDER BY id")  # the connection is in step after the error
        assert cursor.fetchall() == ((first_id, 1), (first_id + 1, 2), (first_id + 2, 3), (first_id + 3, 4))


_TYPED = [  # one column name, many types: a parse cached by name (not by the whole definition) would mix them up
    "SELECT 7 AS a",
    "SELECT 'seven' AS a",
    "SELECT CAST('2024-02-29 13:14:15' AS DATETIME) AS a",
    "SELECT NULL AS a",
    "SELECT CAST(x'00ff' AS BINARY) AS a",
    "SELECT 1.5 AS a",
    "SELECT CAST(2.5 AS DOUBLE) AS a",
    "SELECT DATE('2024-02-29') AS a",
    "SELECT id AS a, v FROM t WHERE id <= 2 ORDER BY id",
    "SELECT v AS a, id FROM t WHERE id <= 2 ORDER BY id",
]


def test_column_definitions_parsed_once_read_as_pymysql_reads_them(fast_db, mysql_server, empty_database):
    """wpscim's connections parse each statement's column definitions once (_Result): every result,
    buffered, unbuffered or after the first statement of a round trip, must match PyMySQL's own reading."""
    with _other(mysql_server, empty_database) as plain, plain.cursor() as reference:
        expected = []
        for sql in _TYPED:
            reference.execute(sql)
            expected.append((reference.description, reference.fetchall()))
    with fast_db.reading() as cursor:
        for _ in range(3):  # the second and third time from the parsed definitions
            for sql, (description, rows) in zip(_TYPED, expected):
                cursor.execute(sql)
                assert (cursor.cursor.description, cursor.fetchall()) == (description, rows), sql
        assert len(cursor.cursor.connection.descriptions) == len(_TYPED)
        results: list = []
        cursor.run("; ".join(_TYPED), results=results)
        assert [tuple(rows) for rows in results] == [rows for _, rows in expected]
    with fast_db.reading(unbuffered=True) as cursor:
        for sql, (description, rows) in zip(_TYPED, expected):
            cursor.execute(sql)
            assert (cursor.cursor.description, tuple(cursor.fetchall())) == (description, rows), sql


def test_a_round_trip_ending_in_rows_leaves_the_connection_able_to_bind_text(fast_db):
    """After a round trip whose last result is a row set (read by _Result), the connection still knows
    the server's status flags: the next statement's text values are escaped as before, not refused."""
    with fast_db.reading() as cursor:
        rows: list = []
        cursor.run("DO 1; SELECT v FROM t WHERE id = 1", results=rows)
        assert rows == [((0,),)]
        cursor.execute("SELECT %s, %s", ("it's", 5))
        assert cursor.fetchall() == (("it's", 5),)


_PARTS_CHECK = """
import json, sys
from wpscim.wordpress import driver
from wpscim.wordpress.db import Database, DatabaseAddress
db = Database(DatabaseAddress(*json.loads(sys.argv[1])), max_connections=1, fast_path=True)
with db.transaction() as tx:
    rows = []
    first = tx.run("CREATE TEMPORARY TABLE p (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT); INSERT INTO p (v) VALUES (%s); "
                   "SELECT v FROM p; INSERT INTO p (v) VALUES (%s); SELECT COUNT(*) FROM p; DO 1", ["it's \\\\ \\x00", "b"], rows)
    again = [tx.run("INSERT INTO p (v) VALUES (%s); INSERT INTO p (v) VALUES (%s)", ["c", "d"]) for _ in range(3)]
print(json.dumps({"off": sorted(driver.FAST_PATH_OFF), "first": first, "rows": [list(map(list, r)) for r in rows], "again": again}))
"""


@pytest.mark.parametrize("off", ["escape", "descriptions", "escape,descriptions"])
def test_fast_path_parts_switched_off_for_measurement_answer_alike(off, mysql_server, empty_database):
    """WPSCIM_FAST_PATH_OFF (bench/fastpath.py) replaces single parts by PyMySQL's code: the answers do not change."""
    import json
    import os
    import subprocess
    import sys

    address = json.dumps([mysql_server["host"], mysql_server["port"], mysql_server["user"], mysql_server["password"], empty_database])
    answers = {}
    for parts in ("", off):
        run = subprocess.run(
            [sys.executable, "-c", _PARTS_CHECK, address],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "WPSCIM_FAST_PATH_OFF": parts},
        )
        assert run.returncode == 0, run.stderr[-2000:]
        answers[parts] = json.loads(run.stdout)
    assert answers[off]["off"] == sorted(off.split(","))
    assert {**answers[off], "off": []} == answers[""]
    assert answers[""]["rows"] == [[["it's \\ \x00"]], [[2]]] and answers[""]["again"] == [3, 5, 7]


def test_an_unknown_fast_path_part_is_refused():
    assert wpscim.wordpress.driver.parts_off(" escape , Descriptions") == {"escape", "descriptions"}
    with pytest.raises(ValueError, match="unknown part"):
        wpscim.wordpress.driver.parts_off("escape,bogus")
    with pytest.raises(ValueError, match="unknown part"):
        wpscim.wordpress.driver.parts_off("await")  # a part that was measured and removed (docs/design.md)
