"""A real WordPress 6.1 for the bench's seeded database, served by PHP's built-in server, with the
companion plugin (companion/wpscim-companion.php) as its only must-use plugin (the companion row:
bench/scenarios/changelog.py).

    wp = BenchWordPress.start(address, OUT / "wordpress", site_dir, log)
    wp.url, wp.pids(), wp.deliveries(), wp.stop()

- The copy of Debian's WordPress (/usr/share/wordpress) is made by the test suite's `copy_wordpress()`
  (tests/wordpress_server.py, imported from its file: the bench does not depend on the tests otherwise),
  once, into bench/out/wordpress/ and reused by later runs. Its wp-config.php loads the configuration
  named by WPSCIM_WP_SITE_CONFIG, which this module writes per run (DB constants of `wpscim_bench_<N>`,
  salts, WP_CONTENT_DIR with mu-plugins/, no cron, no outgoing HTTP). Unlike the tests' server it
  installs no test probe: the probe writes a line per hook fired, which a delivery would pay for.
- WordPress runs on the database bench/seed.py made with wpscim's `init_schema` (WordPress 6.1's
  tables and the options a real install writes for users and roles); what else it needs to load
  (`SITE_OPTIONS`) is added by `prepare_site()`, which also points `siteurl` and `home` at the server.
- `php -S` runs with `WORKERS` worker processes; `pids()` lists them for CPU accounting.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pymysql

from .wpscim_api import DatabaseAddress

ROOT = Path(__file__).resolve().parent.parent
COMPANION_PHP = ROOT / "companion" / "wpscim-companion.php"
WORDPRESS_SOURCE = Path("/usr/share/wordpress")
WORKERS = 2  # wpscim asks for one delivery at a time per process; a second worker answers a status call meanwhile
SALT = "wpscim-bench-salt-0123456789abcdef0123456789abcdef"

INSTALL_DATABASE = "wpscim_bench_wpinstall"  # a scratch database WordPress installs itself into, once
OPTIONS_FILE = "install-options.json"  # in bench/out/wordpress/: the options that install wrote


class WordPressUnavailable(RuntimeError):
    """PHP or WordPress is missing, or WordPress did not answer: the row is reported as n/a."""


def _tests_module(name: str):
    """tests/<name>.py, loaded from its file (tests/ is no package the bench imports)."""
    qualified = f"wpscim_tests_{name}"
    if qualified in sys.modules:
        return sys.modules[qualified]
    spec = importlib.util.spec_from_file_location(qualified, ROOT / "tests" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[qualified] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def docroot(out: Path) -> Path:
    """The bench's copy of WordPress (made once; `copy_wordpress()` of the tests)."""
    target = out / "wordpress" / "wordpress"
    if (target / "wp-settings.php").is_file() and (target / "wp-config.php").is_file():
        return target
    if not (WORDPRESS_SOURCE / "wp-settings.php").is_file():
        raise WordPressUnavailable(f"no WordPress at {WORDPRESS_SOURCE} (apt-get install wordpress)")
    shutil.rmtree(out / "wordpress", ignore_errors=True)
    (out / "wordpress").mkdir(parents=True)
    return _tests_module("wordpress_server").copy_wordpress(out / "wordpress", WORDPRESS_SOURCE)


def _php(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def install_options(out: Path, address: DatabaseAddress) -> list[tuple[str, str, str]]:
    """The options a fresh install of WordPress 6.1 writes (wp_install() run by the tests' oracle,
    tests/wordpress_oracle.py, into a scratch database, once; kept in bench/out/wordpress/), without
    transients. bench/seed.py's database has only those wpscim's init_schema writes (what users and
    roles need): WordPress loads on it, but asks for each of some thirty missing options it reads on
    every load with a query of its own (43 queries per companion delivery instead of 13), so a
    delivery would cost more than on a real site."""
    cached = out / "wordpress" / OPTIONS_FILE
    if cached.is_file():
        return [tuple(row) for row in json.loads(cached.read_text())]
    server = address.connect_args()
    server.pop("database", None)
    server["autocommit"] = True
    with pymysql.connect(**server) as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{INSTALL_DATABASE}`")
        cur.execute(f"CREATE DATABASE `{INSTALL_DATABASE}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        try:
            oracle = _tests_module("wordpress_oracle").WordPressOracle(
                address.host, address.port, address.user, address.password, INSTALL_DATABASE, abspath=str(WORDPRESS_SOURCE)
            )
            oracle.install(admin_login="admin", admin_email="admin@example.com", admin_password=secrets.token_hex(16), title="wpscim bench")
            cur.execute(
                f"SELECT option_name, option_value, autoload FROM `{INSTALL_DATABASE}`.wp_options "
                "WHERE option_name NOT LIKE '\\_%%transient\\_%%' ORDER BY option_id"
            )
            rows = [tuple(row) for row in cur.fetchall()]
        except Exception as exc:  # php or WordPress missing, or the install failed
            raise WordPressUnavailable(f"could not install WordPress into a scratch database: {exc}") from exc
        finally:
            cur.execute(f"DROP DATABASE IF EXISTS `{INSTALL_DATABASE}`")
    cached.write_text(json.dumps(rows))
    return rows


def prepare_site(out: Path, address: DatabaseAddress, url: str) -> int:
    """Add the options a fresh install writes (install_options) that the seeded database lacks, and
    point siteurl and home at `url`. Returns how many options were added."""
    options = install_options(out, address)
    args = address.connect_args()
    args["autocommit"] = True
    with pymysql.connect(**args) as conn, conn.cursor() as cur:
        added = cur.executemany("INSERT IGNORE INTO wp_options (option_name, option_value, autoload) VALUES (%s, %s, %s)", options)
        cur.execute("UPDATE wp_options SET option_value = %s WHERE option_name IN ('siteurl', 'home')", (url,))
    return added


class BenchWordPress:
    def __init__(self, url: str, process: subprocess.Popen, site_dir: Path):
        self.url = url
        self.process = process
        self.site_dir = site_dir
        self.log_path = site_dir / "php-server.log"
        self.error_log_path = site_dir / "php-errors.log"

    @classmethod
    def start(cls, address: DatabaseAddress, out: Path, site_dir: Path, port: int, timeout: float = 30.0) -> BenchWordPress:
        if shutil.which("php") is None:
            raise WordPressUnavailable("no php on PATH (apt-get install php-cli php-mysql)")
        root = docroot(out)
        shutil.rmtree(site_dir, ignore_errors=True)
        content = site_dir / "wp-content"
        (content / "mu-plugins").mkdir(parents=True)
        (content / "plugins").mkdir()
        for shared in ("themes", "languages"):
            (content / shared).symlink_to(root / "wp-content" / shared)
        shutil.copyfile(COMPANION_PHP, content / "mu-plugins" / COMPANION_PHP.name)
        host = "localhost" if address.unix_socket else f"{address.host}:{address.port}"
        if address.unix_socket:
            host += f":{address.unix_socket}"
        config = site_dir / "wp-config.php"
        config.write_text(
            "\n".join(
                [
                    "<?php",
                    "// The bench's WordPress (bench/wordpress.py), loaded by the copy's wp-config.php.",
                    f"define( 'DB_NAME', {_php(address.database)} );",
                    f"define( 'DB_USER', {_php(address.user)} );",
                    f"define( 'DB_PASSWORD', {_php(address.password or '')} );",
                    f"define( 'DB_HOST', {_php(host)} );",
                    "define( 'DB_CHARSET', 'utf8mb4' );",
                    "define( 'DB_COLLATE', '' );",
                    *[
                        f"define( '{name}', {_php(SALT + name)} );"
                        for name in (
                            "AUTH_KEY",
                            "SECURE_AUTH_KEY",
                            "LOGGED_IN_KEY",
                            "NONCE_KEY",
                            "AUTH_SALT",
                            "SECURE_AUTH_SALT",
                            "LOGGED_IN_SALT",
                            "NONCE_SALT",
                        )
                    ],
                    "$table_prefix = 'wp_';",
                    f"defined( 'ABSPATH' ) || define( 'ABSPATH', {_php(str(root) + '/')} );",
                    f"define( 'WP_CONTENT_DIR', {_php(str(content))} );",
                    "define( 'DISABLE_WP_CRON', true );",
                    "define( 'WP_HTTP_BLOCK_EXTERNAL', true );",
                    "define( 'AUTOMATIC_UPDATER_DISABLED', true );",
                    "define( 'WP_AUTO_UPDATE_CORE', false );",
                    "define( 'WP_DEBUG', false );",
                    "",
                ]
            )
        )
        url = f"http://127.0.0.1:{port}"
        added = prepare_site(out, address, url)
        error_log = site_dir / "php-errors.log"
        env = dict(os.environ, WPSCIM_WP_SITE_CONFIG=str(config), PHP_CLI_SERVER_WORKERS=str(WORKERS))
        command = [
            "php",
            "-S",
            f"127.0.0.1:{port}",
            "-t",
            str(root),
            "-d",
            "display_errors=0",
            "-d",
            "log_errors=1",
            "-d",
            f"error_log={error_log}",
            "-d",
            "opcache.enable_cli=1",
            "-d",
            "memory_limit=256M",
        ]
        with (site_dir / "php-server.log").open("wb") as output:
            process = subprocess.Popen(
                command,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=str(site_dir),
                start_new_session=True,
            )
        wp = cls(url, process, site_dir)
        wp.options_added = added
        deadline = time.monotonic() + timeout
        while True:  # an unsigned status call: the companion answers 403 JSON once WordPress has loaded
            if process.poll() is not None:
                raise WordPressUnavailable(f"php -S exited with {process.returncode}: {wp.log_tail()}")
            try:
                status, body = wp.post("/?wpscim-companion=status")
                if body.startswith(b"{") and b'"ok"' in body:
                    break
                raise WordPressUnavailable(f"WordPress answered HTTP {status} without the companion: {body[:300]!r}")
            except OSError:
                if time.monotonic() > deadline:
                    wp.stop()
                    raise WordPressUnavailable(f"WordPress did not answer at {url} within {timeout:.0f} s: {wp.log_tail()}") from None
                time.sleep(0.1)
        return wp

    def post(self, path: str) -> tuple[int, bytes]:
        return self._request("POST", path, b"")

    def get(self, path: str) -> tuple[int, bytes]:
        return self._request("GET", path, None)

    def _request(self, method: str, path: str, data: bytes | None) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url + path, data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as answer:
            return answer.code, answer.read()

    def pids(self) -> list[int]:
        """php -S and its workers (one session)."""
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as stat:
                        fields = stat.read().rsplit(")", 1)[1].split()
                    if int(fields[3]) == self.process.pid:  # the session id
                        found.append(int(entry))
                except (OSError, IndexError, ValueError):
                    continue
        return found

    def deliveries(self) -> int:
        """Deliveries asked of the companion so far (php -S logs every request)."""
        try:
            return self.log_path.read_text(errors="replace").count("wpscim-companion=deliver")
        except OSError:
            return 0

    def errors(self) -> str:
        return self.error_log_path.read_text(errors="replace") if self.error_log_path.exists() else ""

    def log_tail(self, size: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:] + self.errors()[-size:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None or True:  # php -S's workers outlive a master stopped alone: the whole group
            for signum in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.process.pid, signum)
                except ProcessLookupError:
                    break
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    continue
