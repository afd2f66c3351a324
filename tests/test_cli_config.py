"""Configuration (database URL, wp-config.php), the `wpscim` command line, and --init-schema."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from click.testing import CliRunner
from conftest import database_url, free_port

from wpscim import cli
from wpscim.wordpress.db import parse_database_url
from wpscim.wordpress.site import Site, detect
from wpscim.wordpress.wpconfig import ConfigError, read_wp_config, resolve_database

WP_CONFIG = r"""<?php
/** The name of the database for WordPress */
define( 'DB_NAME', 'blog' );
define( 'DB_USER', "blog_user" );
// define( 'DB_PASSWORD', 'commented-out' );
define( 'DB_PASSWORD', 'p\'ss"w0rd' );
define( 'DB_HOST', 'db.internal:3307' );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
$table_prefix = 'blog_';
/* define( 'DB_NAME', 'old' ); */
require_once ABSPATH . 'wp-settings.php';
"""


def test_version_is_the_packages():
    from wpscim import __version__

    result = CliRunner().invoke(cli.main, ["--version"])
    assert result.exit_code == 0 and result.output == f"wpscim, version {__version__}\n", result.output
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", __version__)


def test_wp_config_is_read(tmp_path):
    path = tmp_path / "wp-config.php"
    path.write_text(WP_CONFIG)
    config = read_wp_config(path)
    assert config.address.database == "blog"
    assert config.address.user == "blog_user"
    assert config.address.password == "p'ss\"w0rd"
    assert (config.address.host, config.address.port, config.address.unix_socket) == ("db.internal", 3307, None)
    assert config.table_prefix == "blog_"


def test_wp_config_socket_host(tmp_path):
    path = tmp_path / "wp-config.php"
    path.write_text(WP_CONFIG.replace("db.internal:3307", "localhost:/run/mysqld/other.sock"))
    assert read_wp_config(path).address.unix_socket == "/run/mysqld/other.sock"


def test_wp_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        read_wp_config(tmp_path / "missing.php")
    broken = tmp_path / "broken.php"
    broken.write_text("<?php define('DB_USER', 'x');")
    with pytest.raises(ConfigError, match="DB_NAME"):
        read_wp_config(broken)


def test_database_url_wins_over_wp_config(tmp_path):
    path = tmp_path / "wp-config.php"
    path.write_text(WP_CONFIG)
    address, prefix = resolve_database("mysql://u:p%40ss@h:3310/d", str(path), None)
    assert (address.user, address.password, address.host, address.port, address.database, prefix) == ("u", "p@ss", "h", 3310, "d", "wp_")
    address, prefix = resolve_database(None, str(path), "custom_")
    assert address.database == "blog" and prefix == "custom_"
    with pytest.raises(ConfigError):
        resolve_database(None, None, None)
    with pytest.raises(ConfigError):
        resolve_database("mysql://root@127.0.0.1/", None, None)
    assert parse_database_url("mysql://root@localhost/db?unix_socket=/tmp/s.sock").unix_socket == "/tmp/s.sock"


def _serve_settings(*args: str, env: dict | None = None) -> tuple[int, dict | None, str]:
    """`wpscim serve`'s settings as its command line and environment give them (nothing is served)."""
    seen: dict = {}
    real = cli.serve.callback

    def capture(**params):
        seen.update(params)

    cli.serve.callback = capture
    try:
        result = CliRunner().invoke(
            cli.main, ["serve", *args], env={**{k: None for k in os.environ if k.startswith("WPSCIM_")}, **(env or {})}
        )
    finally:
        cli.serve.callback = real
    return result.exit_code, seen or None, result.output


def test_the_environment_is_read_as_the_command_line_is():
    code, settings, _ = _serve_settings(env={"WPSCIM_DATABASE_URL": "mysql://root@127.0.0.1/fromenv", "WPSCIM_PORT": " 9090 "})
    assert code == 0 and settings["database_url"] == "mysql://root@127.0.0.1/fromenv" and settings["port"] == 9090
    code, settings, _ = _serve_settings("--port", "9191", env={"WPSCIM_PORT": "9090"})
    assert settings["port"] == 9191  # the command line wins


@pytest.mark.parametrize(
    "value, expected",
    [("", False), ("0", False), ("false", False), ("Off", False), ("1", True), ("true", True), (" YES ", True), ("on", True)],
)
def test_switches_from_the_environment_read_words_not_presence(value, expected):
    code, settings, output = _serve_settings(env={"WPSCIM_LEAN_GROUP_PATCH": value, "WPSCIM_ALLOW_ROLE_DELETE": value})
    assert code == 0, output
    assert (settings["lean_group_patch"], settings["allow_role_delete"]) == (expected, expected)
    assert _serve_settings("--lean-group-patch")[1]["lean_group_patch"] is True


def test_a_switch_set_to_an_unknown_word_stops_with_its_name():
    code, settings, output = _serve_settings(env={"WPSCIM_ALLOW_ROLE_DELETE": "maybe"})
    assert code == 2 and settings is None
    assert "--allow-role-delete" in output and "'maybe' is not a valid boolean" in output


def test_settings_from_the_environment_and_the_command_line_are_checked():
    code, settings, _ = _serve_settings(env={"WPSCIM_PORT": " 9090 ", "WPSCIM_REASSIGN_TO": ""})
    assert (settings["port"], settings["reassign_to"], settings["threads"], settings["pool_size"]) == (9090, None, 4, None)
    for name, option, value, message in [
        ("WPSCIM_THREADS", "--threads", "four", "'four' is not a valid integer"),
        ("WPSCIM_PROCESSES", "--processes", "0", "0 is not in the range x>=1"),
        ("WPSCIM_PORT", "--port", "99999", "99999 is not in the range 1<=x<=65535"),
        ("WPSCIM_DEPROVISION", "--deprovision", "Delete", "'Delete' is not one of 'deactivate', 'delete'"),
        ("WPSCIM_SERVER", "--server", "waitress", "'waitress' is not one of"),
    ]:
        code, settings, output = _serve_settings(env={name: value})
        assert code == 2 and settings is None, (name, output)
        assert option in output and message in output, output
    for option in (["--threads", "0"], ["--processes", "-2"], ["--pool-size", "0"], ["--port", "70000"], ["--blog-id", "0"]):
        code, settings, output = _serve_settings(*option)
        assert code == 2 and settings is None and option[0] in output


def test_every_serve_setting_has_its_environment_variable_in_the_help():
    """--help is complete by construction: each option says which variable sets it."""
    text = CliRunner().invoke(cli.main, ["serve", "--help"], terminal_width=200).output
    for name in (
        "WPSCIM_DATABASE_URL",
        "WPSCIM_WP_CONFIG",
        "WPSCIM_PORT",
        "WPSCIM_DEPROVISION",
        "WPSCIM_NEVER_GRANT",
        "WPSCIM_LEAN_GROUP_PATCH",
        "WPSCIM_FAST_PATH",
    ):
        assert name in text, name


def test_usermeta_defaults_follow_the_wordpress_version():
    def keys(version):
        return [k for k, _ in Site("wp_", 1, False, version).usermeta_defaults()]

    assert "infinite_scrolling" not in keys(53496)
    assert keys(61833).index("infinite_scrolling") == keys(61833).index("syntax_highlighting") + 1
    assert dict(Site("wp_", 1, False, 53496).usermeta_defaults())["admin_color"] == "fresh"
    assert dict(Site("wp_", 1, False, 60717).usermeta_defaults())["admin_color"] == "fresh"
    assert dict(Site("wp_", 1, False, 61833).usermeta_defaults())["admin_color"] == "modern"
    assert Site("wp_", 3, True, 53496).capabilities_key == "wp_3_capabilities"


def _wpscim(*args: str, timeout: int = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wpscim", *args], capture_output=True, text=True, timeout=timeout)


def test_token_commands(mysql_server, empty_database):
    url = database_url(mysql_server, empty_database)
    missing = _wpscim("token", "create", "--name", "okta", "--database-url", url)
    assert missing.returncode != 0 and "--init-schema" in missing.stderr
    created = _wpscim("token", "create", "--name", "okta", "--database-url", url, "--init-schema")
    assert created.returncode == 0, created.stderr
    token = created.stdout.rstrip("\n").splitlines()[-1]
    assert len(token) >= 40 and " " not in token
    listed = _wpscim("token", "list", "--database-url", url)
    assert listed.stdout.split("\t")[0] == "okta" and token not in listed.stdout
    assert _wpscim("token", "create", "--name", "okta", "--database-url", url).returncode != 0
    # Names the page could not show as stored (nor revoke from it): control, invisible, bidi; over 100.
    for name, said in (("a\x1bb", "control"), ("okta\u202e", "direction-changing"), ("x" * 101, "at most 100")):
        refused = _wpscim("token", "create", "--name", name, "--database-url", url)
        assert refused.returncode != 0 and said in refused.stderr, refused.stderr
    assert _wpscim("token", "revoke", "okta", "--database-url", url).returncode == 0
    assert _wpscim("token", "list", "--database-url", url).stdout == ""
    assert _wpscim("token", "revoke", "okta", "--database-url", url).returncode != 0


def test_serve_on_an_empty_database_creates_schema_and_first_token(mysql_server, empty_database, wp):
    port = free_port()
    env = {**os.environ, "WPSCIM_DATABASE_URL": database_url(mysql_server, empty_database)}
    process = subprocess.Popen(
        [sys.executable, "-m", "wpscim", "serve", "--init-schema", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        assert "created token 'default'" in lines[0], lines
        token = lines[1].strip()
        body = None
        for _ in range(50):
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/scim/v2/Users", headers={"Authorization": f"Bearer {token}"})
                with urllib.request.urlopen(request, timeout=5) as response:
                    body = json.loads(response.read())
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        assert body is not None and body["totalResults"] == 0
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/scim/v2/Users",
            method="POST",
            data=b'{"userName": "first", "password": "First pw 1"}',
            headers={"Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 201
    finally:
        process.terminate()
        process.wait(timeout=10)
    # WordPress itself runs on the schema wpscim created, and accepts the user it provisioned.
    from wordpress_oracle import WordPressOracle

    oracle = WordPressOracle(mysql_server["host"], mysql_server["port"], mysql_server["user"], mysql_server["password"], empty_database)
    assert oracle.roles() == wp.oracle.roles()
    assert oracle.authenticate("first", "First pw 1")["ok"]


def test_a_revoked_token_stays_revoked(mysql_server, wp):
    """Tokens are made by `wpscim token create`, or once when --init-schema creates a new site: serve
    never mints one because none is left (it used to print a fresh 'default' token into the log)."""
    url = database_url(mysql_server, wp.name)
    _wpscim("token", "create", "--name", "only", "--database-url", url)
    assert _wpscim("token", "revoke", "only", "--database-url", url).returncode == 0
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "wpscim", "serve", "--database-url", url, "--port", str(port), "--init-schema"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/scim/v2/ServiceProviderConfig", timeout=2)
            except urllib.error.HTTPError as exc:
                assert exc.code == 401  # serving, and no token opens it
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        else:
            pytest.fail("wpscim serve did not answer")
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert "created token" not in output and not re.search(r"^[A-Za-z0-9_-]{40,}$", output, re.M), output
    assert _wpscim("token", "list", "--database-url", url).stdout == ""


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_a_second_serve_on_a_port_in_use_stops_with_a_message(serve, wp, server):
    """granian shares its port with SO_REUSEPORT: a second `wpscim serve` used to start silently beside
    the first, and requests alternated between two services."""
    base, _ = serve()
    port = int(base.split(":")[2].split("/")[0])
    began = time.monotonic()
    second = _wpscim("serve", "--database-url", database_url(wp.server, wp.name), "--port", str(port), "--server", server, timeout=30)
    assert second.returncode != 0 and time.monotonic() - began < 20
    assert f"cannot listen on 127.0.0.1:{port}" in second.stderr and "Address already in use" in second.stderr


def test_detect_refuses_a_database_without_wordpress(empty_database, mysql_server):
    from wpscim.wordpress.db import Database, DatabaseAddress
    from wpscim.wordpress.site import NoWordPressTables

    db = Database(
        DatabaseAddress(mysql_server["host"], mysql_server["port"], mysql_server["user"], mysql_server["password"], empty_database)
    )
    with pytest.raises(NoWordPressTables, match="--init-schema"):
        detect(db, "wp_")
    with pytest.raises(ValueError):
        detect(db, "wp_; DROP TABLE x")
    db.close()


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_serve_with_two_processes(mysql_server, wp, server):
    port = free_port()
    token = _wpscim("token", "create", "--name", "procs", "--database-url", database_url(mysql_server, wp.name)).stdout.splitlines()[-1]
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
            "--processes",
            "2",
            "--server",
            server,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        answered = 0
        deadline = time.monotonic() + 30  # two workers import wpscim each: slow on a busy 2-core machine
        while time.monotonic() < deadline:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/scim/v2/Users?count=1", headers={"Authorization": f"Bearer {token}"}
                )
                with urllib.request.urlopen(request, timeout=5) as response:
                    answered += json.loads(response.read())["totalResults"] == 1
                if answered >= 5:
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        assert answered >= 5
        workers = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
        assert len(workers) == 2
    finally:
        process.terminate()
        process.wait(timeout=10)
    time.sleep(0.5)
    assert all(not os.path.exists(f"/proc/{pid}") or "zombie" in open(f"/proc/{pid}/status").read().lower() for pid in workers)
