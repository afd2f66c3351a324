"""Uniqueness and atomicity under real parallel HTTP requests (`wpscim serve`, 16 threads, real MariaDB).

WordPress has no UNIQUE index on login or e-mail; wpscim must enforce both itself without deadlocks.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


def call(base: str, token: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers={"Authorization": f"Bearer {token}"})
    if data is not None:
        request.add_header("Content-Type", "application/scim+json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def parallel(n: int, fn) -> list:
    """Run fn(0..n-1) in n threads released together, so the requests really overlap."""
    start = threading.Barrier(n)

    def run(i):
        start.wait()
        return fn(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_16_parallel_creates_of_one_user_name(live_server, wp):
    base, token = live_server
    body = {"schemas": [CORE], "userName": "race@example.com", "emails": [{"value": "race@example.com", "primary": True}]}
    results = parallel(16, lambda i: call(base, token, "POST", "/Users", body))
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 15, statuses
    assert all(b.get("scimType") == "uniqueness" for s, b in results if s == 409)
    assert wp.sql("SELECT COUNT(*) FROM wp_users WHERE user_login = 'race@example.com'")[0][0] == 1


def test_parallel_creates_differing_only_in_case_or_sharing_an_email(live_server, wp):
    base, token = live_server
    names = ["Case@Example.com", "case@example.com", "CASE@EXAMPLE.COM", "cAsE@example.com"] * 2
    results = parallel(8, lambda i: call(base, token, "POST", "/Users", {"userName": names[i]}))
    assert sorted(s for s, _ in results) == [201] + [409] * 7
    shared = parallel(8, lambda i: call(base, token, "POST", "/Users", {"userName": f"u{i}", "emails": [{"value": "Shared@example.com"}]}))
    assert sorted(s for s, _ in shared) == [201] + [409] * 7
    assert wp.sql("SELECT COUNT(*) FROM wp_users WHERE user_email = 'shared@example.com'")[0][0] == 1


def test_userNames_that_sanitize_to_one_login_get_distinct_logins(live_server, wp):
    base, token = live_server
    names = [f"a+{'+' * i}b@example.com" for i in range(12)]  # all sanitize to ab@example.com
    results = parallel(12, lambda i: call(base, token, "POST", "/Users", {"userName": names[i]}))
    assert [s for s, _ in results] == [201] * 12
    logins = [r[0] for r in wp.sql("SELECT user_login FROM wp_users WHERE ID > 1")]
    nicenames = [r[0] for r in wp.sql("SELECT user_nicename FROM wp_users WHERE ID > 1")]
    assert len(set(logins)) == 12 and len(set(nicenames)) == 12
    assert {b["userName"] for _, b in results} == set(names)


def test_many_distinct_parallel_creates_never_deadlock(live_server, wp):
    base, token = live_server
    results = parallel(
        32,
        lambda i: call(
            base,
            token,
            "POST",
            "/Users",
            {"userName": f"user{i}@example.com", "emails": [{"value": f"user{i}@example.com"}], "password": "pw-12345"},
        ),
    )
    assert [s for s, _ in results] == [201] * 32, [b for s, b in results if s != 201][:2]
    assert wp.sql("SELECT COUNT(*) FROM wp_users")[0][0] == 33


def test_parallel_updates_of_one_user_leave_a_consistent_row(live_server, wp):
    base, token = live_server
    status, user = call(base, token, "POST", "/Users", {"userName": "target"})
    assert status == 201
    path = f"/Users/{user['id']}"
    results = parallel(
        12,
        lambda i: call(
            base,
            token,
            "PATCH",
            path,
            {"Operations": [{"op": "replace", "value": {"displayName": f"Name {i}", "title": f"T{i}", "active": i % 2 == 0}}]},
        ),
    )
    assert [s for s, _ in results] == [200] * 12
    final = call(base, token, "GET", path)[1]
    assert final["title"] == "T" + final["displayName"].split()[-1]
    suspended = wp.sql("SELECT COUNT(*) FROM wp_usermeta WHERE user_id = %s AND meta_key = 'wpscim__suspended_pass'", (user["id"],))[0][0]
    assert suspended == (0 if final["active"] else 1)


def test_a_failure_mid_create_leaves_no_half_written_user(wp, api):
    # A real database error after the users row is in: a trigger refuses one of its usermeta rows.
    wp.sql(
        "CREATE TRIGGER wpscim_test_fail BEFORE INSERT ON wp_usermeta FOR EACH ROW BEGIN "
        "IF NEW.meta_value = 'simulated-disk-full' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'disk full (simulated)'; "
        "END IF; END"
    )
    before = wp.sql("SELECT COUNT(*) FROM wp_users")[0][0]
    try:
        result = api.post("/Users", json={"userName": "half", "name": {"givenName": "simulated-disk-full"}})
    finally:
        wp.sql("DROP TRIGGER wpscim_test_fail")
    assert result.status_code == 503  # a database failure: retry later, with nothing of it shown
    assert result.json["status"] == "503" and "disk full" not in result.json["detail"]
    assert wp.sql("SELECT COUNT(*) FROM wp_users")[0][0] == before
    assert api.post("/Users", json={"userName": "half"}).status_code == 201  # and its named locks were released


def test_a_create_waiting_too_long_for_a_named_lock_answers_503_and_writes_nothing(wp, api, monkeypatch):
    """Another session holds the lock on the userName (as a concurrent create would): the create
    gives up after the lock timeout with 503 and Retry-After, and succeeds once the lock is free."""
    import hashlib

    import pymysql

    from wpscim.wordpress import db as wpscim_db

    monkeypatch.setattr(wpscim_db, "LOCK_TIMEOUT_SECONDS", 1)
    name = "wpscim:" + hashlib.sha1(f"{wp.name}/wp_/id/held@example.com".encode()).hexdigest()
    holder = pymysql.connect(**wp.server, database=wp.name, autocommit=True)
    before = wp.sql("SELECT COUNT(*) FROM wp_users")[0][0]
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT GET_LOCK(%s, 0)", (name,))
            assert cursor.fetchone()[0] == 1
        result = api.post("/Users", json={"userName": "held@example.com"})
        assert result.status_code == 503 and result.headers["retry-after"] == "1"
        assert wp.sql("SELECT COUNT(*) FROM wp_users")[0][0] == before
    finally:
        holder.close()  # ends its session: the lock is free
    assert api.post("/Users", json={"userName": "held@example.com"}).status_code == 201


def test_a_change_waiting_too_long_for_a_row_lock_answers_503_and_writes_nothing(wp, api):
    """Another session holds the user's row (a long transaction of some plugin): the change waits at
    most innodb_lock_wait_timeout (LOCK_TIMEOUT_SECONDS) per attempt, answers 503 with Retry-After,
    writes nothing, and succeeds once the row is free."""
    import time

    import pymysql

    from wpscim.wordpress.db import LOCK_TIMEOUT_SECONDS

    uid = api.post("/Users", json={"userName": "rowlocked@example.com", "name": {"givenName": "Rowan"}}).json["id"]
    rename = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "name.givenName", "value": "Rowena"}],
    }
    holder = pymysql.connect(**wp.server, database=wp.name)
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT ID FROM wp_users WHERE ID = %s FOR UPDATE", (uid,))
        began = time.monotonic()
        result = api.patch(f"/Users/{uid}", json=rename)
        waited = time.monotonic() - began
        assert result.status_code == 503 and result.headers["retry-after"], result.text
        assert LOCK_TIMEOUT_SECONDS <= waited < 3 * LOCK_TIMEOUT_SECONDS + 5, waited
    finally:
        holder.rollback()
        holder.close()
    assert wp.sql("SELECT meta_value FROM wp_usermeta WHERE user_id = %s AND meta_key = 'first_name'", (uid,)) == [("Rowan",)]
    assert api.patch(f"/Users/{uid}", json=rename).status_code == 200


@pytest.mark.parametrize("n", [16])
def test_parallel_reads_while_writing(live_server, n):
    base, token = live_server

    def work(i):
        if i % 2:
            return call(base, token, "POST", "/Users", {"userName": f"rw{i}"})[0]
        return call(base, token, "GET", "/Users?count=5")[0]

    assert set(parallel(n, work)) <= {200, 201}


def test_password_hashing_is_ready_before_the_first_request():
    """libpass initialises phpass's base64 engine lazily and not thread-safely; importing wpscim's
    password module must leave it initialised (checked in a fresh interpreter)."""
    import subprocess
    import sys

    check = (
        "import wpscim.wordpress.passwords, passlib.utils.binary as binary; "
        "raise SystemExit(0 if type(binary.h64) is binary.Base64Engine else 1)"
    )
    assert subprocess.run([sys.executable, "-c", check], timeout=60).returncode == 0
