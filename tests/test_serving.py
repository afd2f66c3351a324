"""`wpscim serve` stopped with SIGTERM (a deploy, a restart by systemd) finishes the requests it has
accepted: what a client was told is what was committed, and no answer is cut."""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
from conftest import database_url, free_port

from wpscim.wordpress.tokens import TokenStore

MEMBERS = 3000
ROLES = ("editor", "author", "contributor")


def _add_users(wp, count: int) -> list[int]:
    """`count` minimal subscribers written in one statement each (faster than SCIM for setting up load)."""
    wp.sql(
        "INSERT INTO wp_users (user_login, user_pass, user_nicename, user_email, user_registered, display_name) "
        "SELECT CONCAT('load', seq), '*', CONCAT('load', seq), CONCAT('load', seq, '@example.com'), UTC_TIMESTAMP(), "
        f"CONCAT('load', seq) FROM seq_1_to_{count}"
    )
    ids = [row[0] for row in wp.sql("SELECT ID FROM wp_users WHERE user_login LIKE 'load%%' ORDER BY ID")]
    wp.sql(
        "INSERT INTO wp_usermeta (user_id, meta_key, meta_value) SELECT ID, 'wp_capabilities', 'a:1:{s:10:\"subscriber\";b:1;}' "
        "FROM wp_users WHERE user_login LIKE 'load%%'"
    )
    wp.sql(
        "INSERT INTO wp_usermeta (user_id, meta_key, meta_value) SELECT ID, 'wp_user_level', '0' FROM wp_users "
        "WHERE user_login LIKE 'load%%'"
    )
    return ids


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_sigterm_finishes_the_requests_in_flight(wp, mysql_server, server):
    if "MariaDB" not in wp.sql("SELECT VERSION()")[0][0]:
        pytest.fail("this test writes users with MariaDB's seq_1_to_N table")
    ids = _add_users(wp, MEMBERS)
    token = TokenStore(wp.db, wp.site).create("sigterm")
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wpscim",
            "serve",
            "--database-url",
            database_url(mysql_server, wp.name),
            "--port",
            str(port),
            "--server",
            server,
            "--threads",
            "4",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(
                    urllib.request.Request(
                        f"http://127.0.0.1:{port}/scim/v2/ServiceProviderConfig", headers={"Authorization": f"Bearer {token}"}
                    ),
                    timeout=2,
                )
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        answers: dict[str, object] = {}
        started = threading.Barrier(len(ROLES) + 1)

        def add_members(role: str) -> None:
            body = json.dumps({"Operations": [{"op": "add", "path": "members", "value": [{"value": str(i)} for i in ids]}]})
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                connection.request(
                    "PATCH",
                    f"/scim/v2/Groups/{role}?excludedAttributes=members",
                    body=body,
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
                )
                started.wait()
                response = connection.getresponse()
                answers[role] = (response.status, json.loads(response.read()))
            except Exception as exc:  # noqa: BLE001 - a cut answer is what this test looks for
                answers[role] = exc
                started.abort()
            finally:
                connection.close()

        threads = [threading.Thread(target=add_members, args=(role,)) for role in ROLES]
        for thread in threads:
            thread.start()
        started.wait(timeout=30)  # every request is sent and in the server's hands
        time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        in_flight = len(ROLES) - len(answers)
        for thread in threads:
            thread.join(timeout=90)
        assert process.wait(timeout=90) is not None
    finally:
        if process.poll() is None:
            process.kill()
        output = process.communicate(timeout=10)[0]
    assert in_flight == len(ROLES), "the requests finished before SIGTERM: the test proves nothing (make them slower)"
    for role in ROLES:
        answer = answers.get(role)
        assert isinstance(answer, tuple), f"{role}: {answer!r}\n{output}"
        status, body = answer
        assert status == 200 and body["id"] == role, (role, status, body)
        holders = wp.sql(
            "SELECT COUNT(*) FROM wp_usermeta WHERE meta_key = 'wp_capabilities' AND meta_value LIKE %s", (f'%"{role}";b:1;%',)
        )[0][0]
        assert holders == MEMBERS, (role, holders)  # what the client was told is what was committed


def test_a_body_sent_in_chunks_is_read_whole(live_server, wp):
    """HTTP/1.1 lets a client send a body without Content-Length (Transfer-Encoding: chunked): it is
    read as sent, and one beyond the body limit is refused with 413 without being stored."""
    base, token = live_server
    host, port = base.split("//", 1)[1].split("/", 1)[0].split(":")

    def post(pieces):
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json", "Transfer-Encoding": "chunked"}
            conn.request("POST", "/scim/v2/Users", body=iter(pieces), headers=headers, encode_chunked=True)
            answer = conn.getresponse()
            return answer.status, json.loads(answer.read())
        finally:
            conn.close()

    status, body = post([b'{"userName": "chun', b'ked1@example.com", "emails": [{"value": "chunked1@example.com"}]}'])
    assert status == 201 and body["userName"] == "chunked1@example.com", body
    assert wp.sql("SELECT user_email FROM wp_users WHERE user_login = 'chunked1@example.com'") == [("chunked1@example.com",)]
    head = b'{"userName": "chunked2@example.com", "nickName": "'
    padding = b"x" * (1024 * 1024 - len(head))  # the body ends 3 bytes past the limit
    try:
        status, body = post([head, padding[:600_000], padding[600_000:], b'"}'])
        assert status == 413 and body["status"] == "413", body
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and closed before the last chunk was sent: refused all the same
    assert not wp.sql("SELECT ID FROM wp_users WHERE user_login = 'chunked2@example.com'")
