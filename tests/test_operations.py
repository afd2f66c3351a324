"""Running wpscim as a service: /healthz, Prometheus metrics at /metrics, the access log, and what
`wpscim serve` says when it starts. Every test runs `wpscim serve` itself (granian) on a real WordPress
database; the health test stops a MariaDB server of its own."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pymysql
import pytest
from conftest import database_url, free_port
from prometheus_client.parser import text_string_to_metric_families
from served import Served

from wpscim.wordpress.tokens import TokenStore

SCIM_JSON = {"Content-Type": "application/scim+json"}


def _serve(url: str, port: int, *args: str) -> list[str]:
    return [sys.executable, "-m", "wpscim", "serve", "--database-url", url, "--host", "127.0.0.1", "--port", str(port), *args]


@pytest.fixture
def launch(tmp_path):
    """Starts `wpscim serve` (stdout and stderr apart), stopped at teardown."""
    started: list[Served] = []

    def start(command: list[str], port: int, env: dict | None = None) -> Served:
        served = Served(command, port, tmp_path, env={**os.environ, **(env or {})})
        started.append(served)
        return served.start()

    yield start
    for served in started:
        served.stop()


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# --- /healthz --------------------------------------------------------------------------------------


def test_healthz_needs_no_token_and_says_nothing_else(wp, mysql_server, launch):
    port = free_port()
    served = launch(_serve(database_url(mysql_server, wp.name), port), port)
    status, headers, body = served.get("/healthz")
    assert (status, body) == (200, b'{"status":"ok"}')
    assert headers["content-type"] == "application/json"
    extra = {name.lower() for name in headers} - {
        "content-type",
        "content-length",
        "cache-control",
        "x-request-id",
        "server",
        "date",
        "connection",
    }
    assert not extra, headers
    assert headers.get("server") == "granian"  # granian's own header, without a version
    assert served.get("/scim/v2/Users")[0] == 401  # the SCIM endpoints still need a token
    assert served.get("/HEALTHZ")[0] == 404


MARIADB_INSTALL_DB, MARIADBD = shutil.which("mariadb-install-db"), "/usr/sbin/mariadbd"


class OwnMariaDB:
    """A MariaDB server of the test's own (its datadir, port and socket under tmp), which the test may
    stall and stop; the shared server is never touched."""

    def __init__(self, base: Path):
        self.datadir, self.socket, self.port = base / "data", base / "mysqld.sock", free_port()
        self.log = base / "mariadbd.log"
        self.process: subprocess.Popen | None = None
        result = subprocess.run(
            [
                MARIADB_INSTALL_DB,
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",
                "--user=root",
                "--skip-test-db",
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def start(self) -> None:
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [
                    MARIADBD,
                    "--no-defaults",
                    f"--datadir={self.datadir}",
                    f"--port={self.port}",
                    f"--socket={self.socket}",
                    "--skip-networking=0",
                    "--bind-address=127.0.0.1",
                    "--user=root",
                    f"--pid-file={self.datadir}/mariadbd.pid",
                    "--innodb-buffer-pool-size=32M",
                    "--skip-log-bin",
                    "--max-connections=50",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                pymysql.connect(host="127.0.0.1", port=self.port, user="root", connect_timeout=2).close()
                return
            except pymysql.err.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"mariadbd did not start:\n{self.log.read_text()}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGCONT)
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def own_mariadb(tmp_path):
    server = OwnMariaDB(tmp_path / "mariadb")
    server.start()
    yield server
    server.stop()


def _health_within(served: Served, expected: int, seconds: float) -> tuple[int, dict, float]:
    """Asks /healthz until it answers `expected` (each answer must come within 5 s), for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        asked = time.monotonic()
        status, headers, _ = served.get("/healthz", timeout=30)
        took = time.monotonic() - asked
        assert took < 5, f"/healthz took {took:.1f} s"
        if status == expected or time.monotonic() > deadline:
            return status, headers, took
        time.sleep(0.2)


def test_healthz_follows_a_database_that_stalls_and_stops(own_mariadb, launch):
    url = f"mysql://root@127.0.0.1:{own_mariadb.port}/wordpress"
    upgraded = subprocess.run(
        [sys.executable, "-m", "wpscim", "upgrade", "--database-url", url, "--init-schema"], capture_output=True, text=True, timeout=120
    )
    assert upgraded.returncode == 0, upgraded.stderr
    port = free_port()
    served = launch(_serve(url, port, "--threads", "2"), port)
    assert served.get("/healthz")[0] == 200

    os.kill(own_mariadb.process.pid, signal.SIGSTOP)  # stalled: connections open, nothing answers
    try:
        status, headers, took = _health_within(served, 503, 10)
        assert status == 503 and int(headers["retry-after"]) > 0, (status, headers)
        assert 1 < took < 5  # it waited for the database a little, not for the read timeout (10 s)
        assert served.get("/healthz", timeout=30)[0] == 503  # a second check shares the stalled one
    finally:
        os.kill(own_mariadb.process.pid, signal.SIGCONT)
    assert _health_within(served, 200, 20)[0] == 200

    own_mariadb.stop()  # stopped: connections refused
    status, headers, _ = _health_within(served, 503, 10)
    assert status == 503 and int(headers["retry-after"]) > 0
    own_mariadb.start()
    assert _health_within(served, 200, 30)[0] == 200


# --- /metrics --------------------------------------------------------------------------------------


def _scrape(served: Served, token: str) -> dict[tuple[str, tuple], float]:
    status, headers, body = served.get("/metrics", headers=_bearer(token))
    assert status == 200, body
    assert headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _requests(samples: dict, method: str, route: str, status: int) -> float:
    return samples.get(("wpscim_http_requests_total", (("method", method), ("route", route), ("status", str(status)))), 0.0)


@pytest.mark.parametrize("processes, token_from", [(1, "environment"), (2, "file")])
def test_metrics_count_requests_by_route_across_processes(wp, mysql_server, launch, tmp_path, processes, token_from):
    metrics_token = secrets.token_urlsafe(24)
    if token_from == "file":
        (tmp_path / "metrics-token").write_text(metrics_token + "\n")
        env = {"WPSCIM_METRICS_TOKEN_FILE": str(tmp_path / "metrics-token")}
    else:
        env = {"WPSCIM_METRICS_TOKEN": metrics_token}
    idp = TokenStore(wp.db, wp.site).create("okta")
    port = free_port()
    served = launch(_serve(database_url(mysql_server, wp.name), port, "--processes", str(processes), "--threads", "3"), port, env=env)

    # Only the metrics token opens /metrics, and it opens nothing else.
    assert served.get("/metrics")[0] == 401
    assert served.get("/metrics", headers=_bearer(idp))[0] == 401
    assert served.get("/metrics", headers=_bearer(metrics_token + "x"))[0] == 401
    assert served.get("/scim/v2/Users", headers=_bearer(metrics_token))[0] == 401

    before = _scrape(served, metrics_token)
    for _ in range(12):  # enough that both workers answer some (the pool gauges below prove the adding up either way)
        assert served.get("/scim/v2/Users?count=1", headers=_bearer(idp))[0] == 200
    assert served.get("/scim/v2/Users/1", headers=_bearer(idp))[0] == 200
    assert served.get("/scim/v2/Users/424242", headers=_bearer(idp))[0] == 404
    created = served.request(
        "POST",
        "/scim/v2/Users",
        headers={**_bearer(idp), **SCIM_JSON},
        data=json.dumps({"userName": "metrics.user", "password": "Metrics pw 1"}).encode(),
    )
    assert created[0] == 201, created
    assert served.get("/scim/v2/Users/1")[0] == 401
    assert served.get("/wp-admin/install.php", headers=_bearer(idp))[0] == 404
    after = _scrape(served, metrics_token)

    def moved(method, route, status):
        return _requests(after, method, route, status) - _requests(before, method, route, status)

    # Exact counts, whichever worker answered: every process's counters are added up.
    assert moved("GET", "/scim/v2/Users", 200) == 12
    assert moved("GET", "/scim/v2/Users/{user_id}", 200) == 1
    assert moved("GET", "/scim/v2/Users/{user_id}", 404) == 1
    assert moved("POST", "/scim/v2/Users", 201) == 1
    assert moved("GET", "/scim/v2/Users/{user_id}", 401) == 1  # refused before routing, still counted by its route
    assert moved("GET", "(unmatched)", 404) == 1
    assert moved("GET", "/metrics", 200) == 1  # the first scrape
    routes = {dict(labels).get("route") for (name, labels) in after if name == "wpscim_http_requests_total"}
    assert not any(route and any(ch.isdigit() for ch in route.replace("/scim/v2", "")) for route in routes), routes  # no ids
    histogram = ("wpscim_http_request_duration_seconds_count", (("method", "GET"), ("route", "/scim/v2/Users")))
    assert after[histogram] - before.get(histogram, 0) == 12
    assert (
        after[("wpscim_http_request_duration_seconds_bucket", (("le", "+Inf"), ("method", "GET"), ("route", "/scim/v2/Users")))]
        == after[histogram]
    )

    # Pools: each process has two pools of --threads connections; with 2 processes only the sum of both
    # workers' files gives 6, whichever worker answered the scrape.
    assert after[("wpscim_db_pool_connections_max", (("pool", "writes"),))] == 3 * processes
    assert after[("wpscim_db_pool_connections_max", (("pool", "reads"),))] == 3 * processes
    assert 0 <= after[("wpscim_db_pool_connections_in_use", (("pool", "writes"),))] <= 3 * processes

    # Change events: read from the database (at most every 10 s); the create is waiting for the companion.
    undelivered = wp.sql("SELECT COUNT(*) FROM wp_wpscim_events WHERE delivered_at IS NULL")[0][0]
    uncleared = wp.sql("SELECT COUNT(*) FROM wp_wpscim_events WHERE cleared_at IS NULL")[0][0]
    deadline = time.monotonic() + 30
    while after.get(("wpscim_change_events_undelivered", ())) != undelivered and time.monotonic() < deadline:
        time.sleep(1)
        after = _scrape(served, metrics_token)
    assert undelivered >= 1 and after[("wpscim_change_events_undelivered", ())] == undelivered
    assert after[("wpscim_change_events_uncleared", ())] == uncleared
    oldest = wp.sql("SELECT UNIX_TIMESTAMP(MIN(created_at)) FROM wp_wpscim_events WHERE delivered_at IS NULL")[0][0]
    assert abs(after[("wpscim_change_events_oldest_undelivered_timestamp_seconds", ())] - float(oldest)) < 1

    # Read from a file, the token is in no process's environment (the workers' settings carry its hash).
    pids = served.pids()
    assert len(pids) >= processes + 1
    if token_from == "file":
        for pid in pids:
            assert metrics_token.encode() not in Path(f"/proc/{pid}/environ").read_bytes()


def test_metrics_are_off_without_a_token_and_refuse_a_bad_one(wp, mysql_server, launch, tmp_path):
    port = free_port()
    served = launch(_serve(database_url(mysql_server, wp.name), port), port)
    assert served.get("/metrics")[0] == 404
    short = subprocess.run(
        _serve(database_url(mysql_server, wp.name), free_port(), "--metrics-token", "too-short"), capture_output=True, text=True, timeout=60
    )
    assert short.returncode == 2 and "--metrics-token" in short.stderr and "16 characters" in short.stderr
    token_file = tmp_path / "token"
    token_file.write_text(secrets.token_urlsafe(24))
    both = subprocess.run(
        _serve(
            database_url(mysql_server, wp.name),
            free_port(),
            "--metrics-token",
            secrets.token_urlsafe(24),
            "--metrics-token-file",
            str(token_file),
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert both.returncode == 2 and "once" in both.stderr
    missing = subprocess.run(
        _serve(database_url(mysql_server, wp.name), free_port(), "--metrics-token-file", str(tmp_path / "none")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2 and "cannot read" in missing.stderr


# --- the access log ---------------------------------------------------------------------------------


def test_access_log_is_one_json_line_per_request_without_secrets(wp, mysql_server, launch):
    idp = TokenStore(wp.db, wp.site).create("entra")
    wrong = "wrong-" + secrets.token_hex(16)
    password = "Pw-" + secrets.token_hex(12)
    query_secret = "qs-" + secrets.token_hex(12)
    port = free_port()
    served = launch(_serve(database_url(mysql_server, wp.name), port), port)
    answers = [
        served.request(
            "POST",
            f"/scim/v2/Users?access_token={query_secret}&count=1",
            headers={**_bearer(idp), **SCIM_JSON},
            data=json.dumps({"userName": "log.user", "password": password, "emails": [{"value": "log@example.com"}]}).encode(),
        ),
        served.get(f"/scim/v2/Users?filter=userName%20eq%20%22log.user%22&{query_secret}=1", headers=_bearer(idp)),
        served.get(f"/scim/v2/Users?password={password}", headers=_bearer(wrong)),
        served.get("/healthz"),
    ]
    assert [status for status, _, _ in answers] == [201, 200, 401, 200]
    user_id = json.loads(answers[0][2])["id"]

    time.sleep(0.3)
    lines = [line for line in served.stderr().splitlines() if line.startswith("{")]
    ready = len(lines) - 4  # the /healthz checks that waited for the server come first
    assert ready >= 1 and all(json.loads(line)["path"] == "/healthz" for line in lines[:ready]), served.stderr()
    lines = lines[ready:]
    assert not any(line.startswith("{") for line in served.stdout().splitlines())  # standard error only
    entries = [json.loads(line) for line in lines]
    for entry, (status, headers, _) in zip(entries, answers):
        assert list(entry) == ["time", "request_id", "token", "method", "path", "route", "query", "status", "duration_ms"]
        assert entry["request_id"] == headers["x-request-id"] and entry["status"] == status
        arrived = datetime.strptime(entry["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        assert abs(arrived.timestamp() - time.time()) < 60
        assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0
    assert [(e["method"], e["path"], e["route"], e["query"], e["token"]) for e in entries] == [
        ("POST", "/scim/v2/Users", "/scim/v2/Users", ["count"], "entra"),
        ("GET", "/scim/v2/Users", "/scim/v2/Users", ["filter"], "entra"),
        ("GET", "/scim/v2/Users", "/scim/v2/Users", [], None),
        ("GET", "/healthz", "/healthz", [], None),
    ]

    # Nothing secret, in the access log or anything else the server wrote.
    stored_hash = wp.sql("SELECT user_pass FROM wp_users WHERE ID = %s", (user_id,))[0][0]
    token_hashes = [
        t["sha256"] for t in json.loads(wp.sql("SELECT option_value FROM wp_options WHERE option_name = 'wpscim_tokens'")[0][0])
    ]
    assert len(token_hashes) == 1
    everything = served.stdout() + served.stderr()
    for secret in (idp, wrong, password, query_secret, stored_hash, *token_hashes, "log@example.com", "access_token"):
        assert secret not in everything, secret


def test_access_log_can_be_turned_off(wp, mysql_server, launch):
    idp = TokenStore(wp.db, wp.site).create("quiet")
    port = free_port()
    served = launch(_serve(database_url(mysql_server, wp.name), port), port, env={"WPSCIM_ACCESS_LOG": "off"})
    assert served.get("/scim/v2/Users", headers=_bearer(idp))[0] == 200
    time.sleep(0.3)
    assert not [line for line in served.stderr().splitlines() if line.startswith("{")], served.stderr()
    assert "access log     off" in served.stdout()


# --- what serve says -------------------------------------------------------------------------------


def test_serve_says_where_it_listens_and_which_wordpress_it_found(wp, mysql_server, launch, tmp_path):
    """Through a wp-config.php beside a WordPress tree (its version.php), and a database user with a
    password, which must not be printed."""
    user, password = f"wpscim_{secrets.token_hex(4)}", "Db-" + secrets.token_hex(10)
    with pymysql.connect(**mysql_server, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (password,))
        cur.execute(f"GRANT ALL ON `{wp.name}`.* TO '{user}'@'%'")
    try:
        site = tmp_path / "site"
        site.mkdir()
        (site / "wp-includes").symlink_to("/usr/share/wordpress/wp-includes")
        (site / "wp-config.php").write_text(
            f"<?php\ndefine( 'DB_NAME', '{wp.name}' );\ndefine( 'DB_USER', '{user}' );\ndefine( 'DB_PASSWORD', '{password}' );\n"
            f"define( 'DB_HOST', '{mysql_server['host']}:{mysql_server['port']}' );\n$table_prefix = 'wp_';\n"
        )
        version = next(
            line.split("'")[1]
            for line in Path("/usr/share/wordpress/wp-includes/version.php").read_text().splitlines()
            if line.startswith("$wp_version")
        )
        port = free_port()
        served = launch([sys.executable, "-m", "wpscim", "serve", "--wp-config", str(site / "wp-config.php"), "--port", str(port)], port)
        out = served.stdout()
        assert f"  listening on   127.0.0.1 port {port}: granian, 1 process of 4 threads" in out, out
        assert f"  SCIM base URL  http://127.0.0.1:{port}/scim/v2" in out
        assert (
            f"  WordPress      WordPress {version}, db_version 53496, database mysql://{user}@{mysql_server['host']}:"
            f"{mysql_server['port']}/{wp.name}, table prefix wp_"
        ) in out
        assert f"  health         http://127.0.0.1:{port}/healthz" in out
        assert "  metrics        off (--metrics-token)" in out and "  access log     JSON lines on standard error" in out
        assert password not in out + served.stderr()
    finally:
        with pymysql.connect(**mysql_server, autocommit=True) as conn, conn.cursor() as cur:
            cur.execute(f"DROP USER '{user}'@'%'")
