"""Shared fixtures: a real MySQL/MariaDB, real WordPress installs, and wpscim served over them.

The database server is a testcontainers MySQL when a Docker engine answers, otherwise the server
named by WPSCIM_TEST_DATABASE_URL (default: the local MariaDB, mysql://root@127.0.0.1:3306/).
Every test gets fresh databases. WordPress itself (Debian's package, run by php) installs the
template site once per session; each test gets a copy of it.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

import falcon.testing
import pymysql
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wordpress_oracle import WordPressOracle  # noqa: E402
from wordpress_server import DatabaseTarget, WordPressServer, copy_wordpress, serve_wordpress  # noqa: E402

from wpscim.app import create_app  # noqa: E402
from wpscim.wordpress.db import Database, DatabaseAddress  # noqa: E402
from wpscim.wordpress.roles import RolePolicy  # noqa: E402
from wpscim.wordpress.site import detect, init_schema, upgrade  # noqa: E402
from wpscim.wordpress.storage import Storage  # noqa: E402
from wpscim.wordpress.tokens import TokenStore  # noqa: E402
from wpscim.wordpress.users import Policy  # noqa: E402

ADMIN_PASSWORD = "admin-Passw0rd"


def _docker_engine_reachable() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def mysql_server():
    """host/port/user/password of a real MySQL or MariaDB server for this test session."""
    if _docker_engine_reachable() and not os.environ.get("WPSCIM_TEST_DATABASE_URL"):
        from testcontainers.mysql import MySqlContainer

        with MySqlContainer("mysql:8.0", username="root", password="test", dbname="wpscim") as container:
            yield {
                "host": container.get_container_host_ip(),
                "port": int(container.get_exposed_port(3306)),
                "user": "root",
                "password": "test",
            }
        return
    url = urlparse(os.environ.get("WPSCIM_TEST_DATABASE_URL", "mysql://root@127.0.0.1:3306/"))
    server = {
        "host": url.hostname or "127.0.0.1",
        "port": url.port or 3306,
        "user": unquote(url.username or "root"),
        "password": unquote(url.password or ""),
    }
    try:
        pymysql.connect(**server).close()
    except pymysql.err.OperationalError as exc:
        pytest.exit(f"no MySQL/MariaDB at {server['host']}:{server['port']} ({exc}); set WPSCIM_TEST_DATABASE_URL", 2)
    yield server


def _admin(server: dict):
    return pymysql.connect(**server, autocommit=True)


def _create_database(server: dict, name: str) -> None:
    with _admin(server) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci")


def _drop_database(server: dict, name: str) -> None:
    with _admin(server) as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture(scope="session")
def wordpress_template(mysql_server):
    """A database WordPress 6.1 installed itself into (wp_install), copied for each test."""
    name = f"wpscim_test_template_{secrets.token_hex(4)}"
    _create_database(mysql_server, name)
    try:
        oracle = WordPressOracle(mysql_server["host"], mysql_server["port"], mysql_server["user"], mysql_server["password"], name)
        oracle.install(admin_login="admin", admin_email="admin@example.com", admin_password=ADMIN_PASSWORD, title="wpscim tests")
        db = Database(DatabaseAddress(mysql_server["host"], mysql_server["port"], mysql_server["user"], mysql_server["password"], name))
        upgrade(db, detect(db, "wp_"))  # wpscim's change log, as `wpscim upgrade` adds it to an existing site
        db.close()
        yield name
    finally:
        _drop_database(mysql_server, name)


class WordPressSite:
    """One test's WordPress database, with wpscim's storage objects and the PHP oracle over it."""

    def __init__(self, server: dict, name: str, prefix: str = "wp_"):
        self.server = server
        self.name = name
        self.prefix = prefix
        self.address = DatabaseAddress(server["host"], server["port"], server["user"], server["password"], name)
        self.oracle = WordPressOracle(server["host"], server["port"], server["user"], server["password"], name, prefix=prefix)
        self.db = Database(self.address, max_connections=20)

    @property
    def site(self):
        return detect(self.db, self.prefix)

    def sql(self, statement: str, params=()) -> list[tuple]:
        with pymysql.connect(**self.server, database=self.name, autocommit=True) as conn, conn.cursor() as cur:
            cur.execute(statement, params)
            return list(cur.fetchall())

    def storage(self, policy: Policy = Policy(), role_policy: RolePolicy = RolePolicy(), **kwargs) -> Storage:
        return Storage(self.db, kwargs.pop("site", None) or self.site, policy, role_policy, **kwargs)

    def client(self, policy: Policy = Policy(), role_policy: RolePolicy = RolePolicy(), **kwargs) -> Api:
        token = TokenStore(self.db, self.site).create(f"test-{secrets.token_hex(4)}")
        return Api(create_app(self.storage(policy, role_policy, **kwargs)), token)


@pytest.fixture
def new_wp(mysql_server, wordpress_template):
    """Makes fresh copies of a real WordPress 6.1 install (several when a test compares two sites)."""
    made = []

    def make() -> WordPressSite:
        name = f"wpscim_test_{secrets.token_hex(5)}"
        _create_database(mysql_server, name)
        with _admin(mysql_server) as conn, conn.cursor() as cur:
            cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (wordpress_template,))
            for (table,) in cur.fetchall():
                cur.execute(f"CREATE TABLE `{name}`.`{table}` LIKE `{wordpress_template}`.`{table}`")
                cur.execute(f"INSERT INTO `{name}`.`{table}` SELECT * FROM `{wordpress_template}`.`{table}`")
        site = WordPressSite(mysql_server, name)
        made.append(site)
        return site

    yield make
    for site in made:
        site.db.close()
        _drop_database(mysql_server, site.name)


@pytest.fixture
def wp(new_wp) -> WordPressSite:
    """A fresh copy of a real WordPress 6.1 install."""
    return new_wp()


@pytest.fixture
def empty_database(mysql_server):
    """A fresh database with no tables at all (for --init-schema)."""
    name = f"wpscim_test_{secrets.token_hex(5)}"
    _create_database(mysql_server, name)
    yield name
    _drop_database(mysql_server, name)


@pytest.fixture
def initialized(mysql_server, empty_database):
    """WordPress's schema created by wpscim's own --init-schema (no PHP involved)."""
    site = WordPressSite(mysql_server, empty_database)
    init_schema(site.db, "wp_")
    yield site
    site.db.close()


class Api:
    """wpscim's WSGI app called in-process, authenticated, with paths relative to /scim/v2."""

    def __init__(self, app, token: str):
        self.token = token
        self.client = falcon.testing.TestClient(app, headers={"Authorization": f"Bearer {token}"})

    def request(self, method: str, path: str, **kwargs):
        if not path.startswith("/"):
            path = "/" + path
        if not path.lower().startswith("/scim/"):
            path = "/scim/v2" + path
        return self.client.simulate_request(method, path, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


@pytest.fixture
def api(wp) -> Api:
    return wp.client()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url(server: dict, database: str) -> str:
    password = f":{quote(server['password'], safe='')}" if server["password"] else ""
    return f"mysql://{quote(server['user'], safe='')}{password}@{server['host']}:{server['port']}/{database}"


def _serve_flags(policy: Policy, role_policy: RolePolicy) -> list[str]:
    flags = [
        "--deprovision",
        policy.deprovision,
        "--group-template",
        role_policy.template,
        "--never-grant",
        ",".join(sorted(role_policy.never_grant)),
        "--never-remove",
        ",".join(sorted(role_policy.never_remove)),
        "--unknown-members",
        role_policy.unknown_members,
        "--max-groups",
        str(role_policy.max_created),
    ]
    if policy.reassign_to is not None:
        flags += ["--reassign-to", str(policy.reassign_to)]
    if role_policy.allow_delete:
        flags.append("--allow-role-delete")
    if role_policy.lean_patch_response:
        flags.append("--lean-group-patch")
    return flags


@pytest.fixture
def serve(wp, mysql_server, tmp_path):
    """Runs `wpscim serve` over `wp` as an operator would (granian, the production server) on a free
    loopback port; returns (base_url, token)."""
    processes = []

    def start(
        policy: Policy = Policy(), role_policy: RolePolicy = RolePolicy(), *, where: list[str] | None = None, extra: tuple[str, ...] = ()
    ) -> tuple[str, str]:
        """`where`: the database options (default --database-url of `wp`); `extra`: more options."""
        token = TokenStore(wp.db, wp.site).create(f"live-{secrets.token_hex(4)}")
        port = free_port()
        log = tmp_path / f"serve-{port}.log"
        start.logs.append(log)
        with log.open("w") as output:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "wpscim",
                    "serve",
                    *(where or ["--database-url", database_url(mysql_server, wp.name)]),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--threads",
                    "16",
                    *_serve_flags(policy, role_policy),
                    *extra,
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        processes.append(process)
        base = f"http://127.0.0.1:{port}/scim/v2"
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"wpscim serve exited with {process.returncode}:\n{log.read_text()}")
            try:
                request = urllib.request.Request(f"{base}/ServiceProviderConfig", headers={"Authorization": f"Bearer {token}"})
                with urllib.request.urlopen(request, timeout=5):
                    return base, token
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    pytest.fail(f"wpscim serve did not answer within 30 s:\n{log.read_text()}")
                time.sleep(0.05)

    start.logs = []  # each server's log (output and access log), for tests that read what it said
    start.processes = processes  # for tests that stop one
    yield start
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def live_server(serve):
    """`wpscim serve` on a free loopback port, for tests that need real parallel HTTP."""
    return serve()


@pytest.fixture(scope="session")
def wordpress_docroot(tmp_path_factory) -> Path:
    """Debian's WordPress copied once per session, with a wp-config.php that serves any test site."""
    return copy_wordpress(tmp_path_factory.mktemp("wordpress-docroot"))


@pytest.fixture
def wordpress_server(wordpress_docroot, tmp_path):
    """Serves test sites over HTTP with PHP's built-in server (tests/wordpress_server.py); stopped at teardown.

        server = wordpress_server(wp, object_cache=True, mu_plugins=[COMPANION_PHP])
        server.url, server.probe("get_user", id=1), server.hooks(), server.request("GET", "/wp-login.php")

    `site` is a WordPressSite (the `wp` / `new_wp` fixtures); its siteurl and home become the server's URL.
    """
    servers: list[WordPressServer] = []

    def start(site: WordPressSite, *, object_cache: bool = False, mu_plugins=(), workers: int = 4) -> WordPressServer:
        database = DatabaseTarget(
            site.server["host"], int(site.server["port"]), site.server["user"], site.server["password"], site.name, site.prefix
        )
        server = serve_wordpress(
            wordpress_docroot,
            tmp_path / f"site-{len(servers)}",
            database,
            object_cache=object_cache,
            mu_plugins=mu_plugins,
            workers=workers,
        )
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
