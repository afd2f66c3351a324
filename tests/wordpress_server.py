"""A real WordPress 6.1 served over HTTP for a test database, by PHP's built-in web server.

    tree = copy_wordpress(tmp_dir)                      # once per test session (cp -a of Debian's package)
    server = serve_wordpress(tree, site_dir, database=DatabaseTarget(...), object_cache=True,
                             mu_plugins=[COMPANION_PHP])
    server.url                                          # http://127.0.0.1:PORT (the site's home and siteurl)
    server.probe("get_user", id=1)                      # the test probe's answer, through WordPress's own caches
    server.stop()

What it does:
- ``copy_wordpress`` copies /usr/share/wordpress with ``cp -a`` (Debian's tree holds symlinks; the relative
  ones that point outside the tree are re-pointed at their absolute targets) and replaces Debian's
  wp-config.php (which needs /etc/wordpress/config-HOST.php) by a small one that loads the per-site
  configuration named by the environment variable ``WPSCIM_WP_SITE_CONFIG``. One copy serves every site.
- ``serve_wordpress`` writes that per-site configuration (DB constants for the test database, fixed test
  keys and salts, ``WP_CONTENT_DIR`` = the site's own content dir with ``mu-plugins/``, optionally the Redis
  Object Cache drop-in with ``WP_REDIS_*`` and a prefix of its own, ``DISABLE_WP_CRON``, external HTTP
  blocked), installs the mu-plugins (always the test probe ``tests/wordpress/wpscim-test-probe.php``, guarded
  by a random secret), sets the ``siteurl`` and ``home`` options to ``http://127.0.0.1:PORT``, runs
  ``php -S 127.0.0.1:PORT -t TREE`` with several workers (concurrent requests are real), and waits until
  WordPress answers. Logins through wp-login.php work on that URL (cookie path /, no domain, plain HTTP).
- The Redis drop-in is third-party (GPL) and never part of this repository: it is read from
  ``<repo>/../shared/vendor/redis-cache/object-cache.php`` or ``$WPSCIM_SHARED_DIR/vendor/redis-cache/``.
  A missing drop-in, php-redis or Redis server is an error (tests fail, never skip).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pymysql

REPO = Path(__file__).resolve().parent.parent
WORDPRESS_SOURCE = Path("/usr/share/wordpress")
PROBE_PHP = Path(__file__).resolve().parent / "wordpress" / "wpscim-test-probe.php"
COMPANION_PHP = REPO / "companion" / "wpscim-companion.php"
SITE_CONFIG_ENV = "WPSCIM_WP_SITE_CONFIG"

# Fixed test keys and salts (auth cookies, nonces): every site of a test run signs cookies the same way.
SALTS = {
    name: f"wpscim-test-{name.lower().replace('_', '-')}-0123456789abcdef0123456789abcdef"
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
}

_DOCROOT_CONFIG = """<?php
/**
 * wp-config.php of a test copy of WordPress (written by tests/wordpress_server.py).
 * Every site served from this copy has its own configuration file, named by the
 * environment of the php -S process that serves it.
 */
$wpscim_site_config = getenv( '%(env)s' );
if ( ! $wpscim_site_config || ! is_file( $wpscim_site_config ) ) {
	header( 'HTTP/1.1 500 Internal Server Error' );
	echo 'wpscim tests: %(env)s does not name a site configuration';
	exit( 1 );
}
require $wpscim_site_config;
require_once ABSPATH . 'wp-settings.php';
""" % {"env": SITE_CONFIG_ENV}  # noqa: UP031 - PHP's braces would all need doubling for format()


class WordPressServerError(RuntimeError):
    """The server could not be set up or did not answer; carries the end of its log."""


def shared_dir() -> Path:
    """The project's shared/ folder: $WPSCIM_SHARED_DIR, else <repo>/../shared."""
    override = os.environ.get("WPSCIM_SHARED_DIR")
    return Path(override) if override else REPO.parent / "shared"


def redis_drop_in(shared: Path | None = None) -> Path:
    """The Redis Object Cache drop-in (third-party, GPL); FileNotFoundError if it is not there."""
    path = (shared or shared_dir()) / "vendor" / "redis-cache" / "object-cache.php"
    if not path.is_file():
        raise FileNotFoundError(
            f"the Redis Object Cache drop-in is missing: {path} (set WPSCIM_SHARED_DIR to the folder holding "
            "vendor/redis-cache/object-cache.php)"
        )
    return path


def copy_wordpress(dest: Path, source: Path = WORDPRESS_SOURCE) -> Path:
    """Copies Debian's WordPress to dest/wordpress with its own wp-config.php; returns the docroot."""
    if not (source / "wp-settings.php").is_file():
        raise WordPressServerError(f"no WordPress at {source}: apt-get install wordpress")
    docroot = Path(dest) / "wordpress"
    subprocess.run(["cp", "-a", str(source), str(docroot)], check=True)
    # Debian links libraries it ships elsewhere (getID3, underscore, cropper) with relative links that
    # would dangle in the copy: point them at what they resolve to in the original tree.
    for link in [p for p in docroot.rglob("*") if p.is_symlink()]:
        target = os.readlink(link)
        if os.path.isabs(target):
            continue
        original = source / link.relative_to(docroot)
        resolved = Path(os.path.realpath(original))
        if source.resolve() not in resolved.parents:
            link.unlink()
            link.symlink_to(resolved)
    (docroot / "wp-config.php").write_text(_DOCROOT_CONFIG)
    return docroot


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _php_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class DatabaseTarget:
    host: str
    port: int
    user: str
    password: str
    name: str
    prefix: str = "wp_"

    def connect(self):
        return pymysql.connect(
            host=self.host, port=self.port, user=self.user, password=self.password, database=self.name, autocommit=True, charset="utf8mb4"
        )


@dataclass(frozen=True)
class RedisTarget:
    host: str = "127.0.0.1"
    port: int = 6379
    database: int = 0


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise AssertionError(f"not JSON (HTTP {self.status}): {self.body[:2000]!r}") from exc

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class WordPressServer:
    """One running WordPress site; ``url`` is its home and siteurl."""

    url: str
    docroot: Path
    site_dir: Path
    database: DatabaseTarget
    process: subprocess.Popen
    probe_secret: str
    redis_prefix: str | None
    log_path: Path
    error_log_path: Path
    redis: RedisTarget | None = None
    command: list = field(default_factory=list, repr=False)  # how it was started, for restart()
    env: dict = field(default_factory=dict, repr=False)
    _stopped: bool = field(default=False, repr=False)

    @staticmethod
    def _signal_group(group: int, signum: int) -> None:
        try:
            os.killpg(group, signum)
        except ProcessLookupError:
            pass

    @property
    def object_cache(self) -> bool:
        """Whether this site runs the Redis Object Cache drop-in."""
        return self.redis_prefix is not None

    @property
    def probe_log(self) -> Path:
        return self.site_dir / "probe-hooks.jsonl"

    def request(
        self,
        method: str,
        path: str = "/",
        *,
        params: dict | None = None,
        data: bytes | None = None,
        headers: dict | None = None,
        timeout: float = 60.0,
        follow_redirects: bool = False,
    ) -> Response:
        """One HTTP request to the site; answers of any status are returned, not raised."""
        url = self.url + (path if path.startswith("/") else "/" + path)
        if params:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(params)
        request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        opener = urllib.request.build_opener() if follow_redirects else urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=timeout) as answer:
                return Response(answer.status, dict(answer.headers), answer.read())
        except urllib.error.HTTPError as answer:
            return Response(answer.code, dict(answer.headers), answer.read())

    def probe(self, op: str, **params) -> dict:
        """Asks the test probe (tests/wordpress/wpscim-test-probe.php) inside the running WordPress."""
        answer = self.request(
            "POST",
            "/",
            params={"wpscim-probe": op, "wpscim-probe-secret": self.probe_secret},
            data=urllib.parse.urlencode({k: _form_value(v) for k, v in params.items()}).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        body = answer.json() if answer.body[:1] == b"{" else None
        if answer.status != 200 or not body or not body.get("ok"):
            raise WordPressServerError(
                f"probe {op} answered HTTP {answer.status}: {answer.text[:3000]}\n--- PHP errors:\n{self.error_log()[-3000:]}"
            )
        return body["result"]

    def login(self, user_login: str, password: str) -> urllib.request.OpenerDirector:
        """Logs in through wp-login.php as a browser would (test cookie, POST, redirect to wp-admin/);
        returns an opener that carries the session's cookies. Raises if WordPress did not log the user in."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(self.url + "/wp-login.php", timeout=60).read()  # sets wordpress_test_cookie
        form = urllib.parse.urlencode(
            {"log": user_login, "pwd": password, "wp-submit": "Log In", "redirect_to": self.url + "/wp-admin/", "testcookie": "1"}
        ).encode()
        with opener.open(self.url + "/wp-login.php", form, timeout=60) as answer:
            answer.read()
            landed = answer.url
        if not any(cookie.name.startswith("wordpress_logged_in_") for cookie in jar):
            raise WordPressServerError(f"wp-login.php did not log {user_login!r} in (ended at {landed})")
        return opener

    def hooks(self) -> list[dict]:
        """Every hook the probe recorded since the last reset, in the order they fired."""
        return self.probe("hooks")["hooks"]

    def reset_hooks(self) -> None:
        self.probe("reset")

    def error_log(self) -> str:
        """What PHP logged (error_log(), warnings) while serving this site."""
        return self.error_log_path.read_text(errors="replace") if self.error_log_path.exists() else ""

    def server_log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def pause(self) -> None:
        """Stop serving (WordPress is down) without clearing its cache; restart() brings it back at the same URL."""
        self._signal_group(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self._signal_group(self.process.pid, signal.SIGKILL)

    def restart(self, timeout: float = 30.0) -> None:
        with self.log_path.open("ab") as output:
            self.process = subprocess.Popen(
                self.command,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=str(self.site_dir),
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.probe("info")
                return
            except (OSError, WordPressServerError):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        # php -S forks its workers (PHP_CLI_SERVER_WORKERS); they outlive a master stopped alone, so the
        # whole process group the server was started in is stopped.
        group = self.process.pid
        self._signal_group(group, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._signal_group(group, signal.SIGKILL)
            self.process.wait(timeout=10)
        # Workers that did not end with the master are killed; those that did are zombies until init
        # reaps them, which the signal does not disturb (not waited for: that takes a second or more here).
        self._signal_group(group, signal.SIGKILL)
        if self.redis_prefix and self.redis:
            try:
                _redis_delete_prefix(self.redis, self.redis_prefix)
            except OSError:
                pass  # the keys expire on their own (WP_REDIS_MAXTTL)


def _form_value(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value)
    return str(value)


def _site_config(
    *,
    docroot: Path,
    content_dir: Path,
    database: DatabaseTarget,
    probe_secret: str,
    probe_log: Path,
    redis: RedisTarget | None,
    redis_prefix: str | None,
) -> str:
    lines = [
        "<?php",
        "// One test site's wp-config.php (written by tests/wordpress_server.py; loaded by the docroot's wp-config.php).",
        f"define( 'DB_NAME', {_php_string(database.name)} );",
        f"define( 'DB_USER', {_php_string(database.user)} );",
        f"define( 'DB_PASSWORD', {_php_string(database.password)} );",
        f"define( 'DB_HOST', {_php_string(f'{database.host}:{database.port}')} );",
        "define( 'DB_CHARSET', 'utf8mb4' );",
        "define( 'DB_COLLATE', '' );",
        *[f"define( '{name}', {_php_string(value)} );" for name, value in SALTS.items()],
        f"$table_prefix = {_php_string(database.prefix)};",
        f"defined( 'ABSPATH' ) || define( 'ABSPATH', {_php_string(str(docroot) + '/')} );",
        f"define( 'WP_CONTENT_DIR', {_php_string(str(content_dir))} );",
        "define( 'DISABLE_WP_CRON', true );",
        "define( 'WP_HTTP_BLOCK_EXTERNAL', true );",
        "define( 'AUTOMATIC_UPDATER_DISABLED', true );",
        "define( 'WP_AUTO_UPDATE_CORE', false );",
        "define( 'WP_DEBUG', false );",
        "define( 'WP_DISABLE_FATAL_ERROR_HANDLER', true );",
        f"define( 'WPSCIM_PROBE_SECRET', {_php_string(probe_secret)} );",
        f"define( 'WPSCIM_PROBE_LOG', {_php_string(str(probe_log))} );",
    ]
    if redis is not None:
        lines += [
            f"define( 'WP_REDIS_HOST', {_php_string(redis.host)} );",
            f"define( 'WP_REDIS_PORT', {int(redis.port)} );",
            f"define( 'WP_REDIS_DATABASE', {int(redis.database)} );",
            f"define( 'WP_REDIS_PREFIX', {_php_string(redis_prefix or '')} );",
            "define( 'WP_REDIS_MAXTTL', 3600 ); // leftovers of a crashed run expire",
            "define( 'WP_REDIS_TIMEOUT', 2 );",
            "define( 'WP_REDIS_READ_TIMEOUT', 2 );",
        ]
    return "\n".join(lines) + "\n"


def _set_site_url(database: DatabaseTarget, url: str) -> None:
    with database.connect() as conn, conn.cursor() as cur:
        cur.execute(f"UPDATE `{database.prefix}options` SET option_value = %s WHERE option_name IN ('siteurl', 'home')", (url,))


def _redis_command(sock: socket.socket, reader, *parts) -> object:
    payload = f"*{len(parts)}\r\n".encode()
    for part in parts:
        data = part if isinstance(part, bytes) else str(part).encode()
        payload += b"$%d\r\n%s\r\n" % (len(data), data)
    sock.sendall(payload)
    return _redis_reply(reader)


def _redis_reply(reader):
    line = reader.readline()
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise OSError(f"redis: {rest.decode()}")
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        if size < 0:
            return None
        data = reader.read(size + 2)[:-2]
        return data
    if kind == b"*":
        return [_redis_reply(reader) for _ in range(int(rest))]
    raise OSError(f"redis: unexpected reply {line!r}")


def redis_ping(redis: RedisTarget) -> bool:
    try:
        with socket.create_connection((redis.host, redis.port), timeout=2) as sock:
            return _redis_command(sock, sock.makefile("rb"), "PING") == "PONG"
    except OSError:
        return False


def redis_keys(redis: RedisTarget, prefix: str) -> list[bytes]:
    """The keys under prefix (for tests that look at what the drop-in stored)."""
    with socket.create_connection((redis.host, redis.port), timeout=5) as sock:
        reader = sock.makefile("rb")
        _redis_command(sock, reader, "SELECT", redis.database)
        keys, cursor = [], b"0"
        while True:
            cursor, batch = _redis_command(sock, reader, "SCAN", cursor, "MATCH", prefix + "*", "COUNT", 1000)
            keys += batch
            if cursor == b"0":
                return keys


def _redis_delete_prefix(redis: RedisTarget, prefix: str) -> None:
    keys = redis_keys(redis, prefix)
    with socket.create_connection((redis.host, redis.port), timeout=5) as sock:
        reader = sock.makefile("rb")
        _redis_command(sock, reader, "SELECT", redis.database)
        for start in range(0, len(keys), 500):
            _redis_command(sock, reader, "DEL", *keys[start : start + 500])


def serve_wordpress(
    docroot: Path,
    site_dir: Path,
    database: DatabaseTarget,
    *,
    object_cache: bool = False,
    redis: RedisTarget = RedisTarget(),
    mu_plugins=(),
    workers: int = 4,
    timeout: float = 30.0,
) -> WordPressServer:
    """Serves the WordPress installed in `database` from `docroot` (see copy_wordpress) until .stop().

    object_cache: install the Redis Object Cache drop-in (php-redis and the Redis server must be there).
    mu_plugins: PHP files copied into the site's mu-plugins/ (the test probe always is).
    workers: php -S worker processes (PHP_CLI_SERVER_WORKERS), so requests run concurrently.
    """
    site_dir = Path(site_dir)
    content = site_dir / "wp-content"
    (content / "mu-plugins").mkdir(parents=True, exist_ok=True)
    (content / "plugins").mkdir(exist_ok=True)
    for shared in ("themes", "languages"):  # read-only, from the copy
        if not (content / shared).exists():
            (content / shared).symlink_to(docroot / "wp-content" / shared)
    if not PROBE_PHP.is_file():
        raise FileNotFoundError(f"the test probe is missing: {PROBE_PHP}")
    for plugin in (PROBE_PHP, *mu_plugins):
        plugin = Path(plugin)
        if not plugin.is_file():
            raise FileNotFoundError(f"mu-plugin not found: {plugin}")
        shutil.copyfile(plugin, content / "mu-plugins" / plugin.name)
    redis_prefix = None
    if object_cache:
        drop_in = redis_drop_in()
        if not redis_ping(redis):
            raise WordPressServerError(f"no Redis server answers at {redis.host}:{redis.port}")
        shutil.copyfile(drop_in, content / "object-cache.php")
        redis_prefix = f"wpscim-test-{secrets.token_hex(6)}:"
    probe_secret = secrets.token_hex(16)
    probe_log = site_dir / "probe-hooks.jsonl"
    config = site_dir / "wp-config.php"
    config.write_text(
        _site_config(
            docroot=docroot,
            content_dir=content,
            database=database,
            probe_secret=probe_secret,
            probe_log=probe_log,
            redis=redis if object_cache else None,
            redis_prefix=redis_prefix,
        )
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    _set_site_url(database, url)
    log_path = site_dir / "php-server.log"
    error_log_path = site_dir / "php-errors.log"
    env = dict(os.environ, **{SITE_CONFIG_ENV: str(config), "PHP_CLI_SERVER_WORKERS": str(workers)})
    command = [
        "php",
        "-S",
        f"127.0.0.1:{port}",
        "-t",
        str(docroot),
        "-d",
        "display_errors=0",
        "-d",
        "log_errors=1",
        "-d",
        f"error_log={error_log_path}",
        "-d",
        "opcache.enable_cli=1",
        "-d",
        "memory_limit=256M",
    ]
    with log_path.open("wb") as output:  # the child keeps its own descriptor
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=str(site_dir), start_new_session=True
        )
    server = WordPressServer(
        url=url,
        docroot=docroot,
        site_dir=site_dir,
        database=database,
        process=process,
        probe_secret=probe_secret,
        redis_prefix=redis_prefix,
        log_path=log_path,
        error_log_path=error_log_path,
        redis=redis if object_cache else None,
        command=command,
        env=env,
    )
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise WordPressServerError(f"php -S exited with {process.returncode}:\n{server.server_log()[-3000:]}")
        try:
            info = server.probe("info")
            break
        except (OSError, WordPressServerError) as exc:
            if time.monotonic() > deadline:
                server.stop()
                raise WordPressServerError(
                    f"WordPress did not answer at {url} within {timeout:.0f} s: {exc}\n--- server log:\n{server.server_log()[-3000:]}"
                ) from exc
            time.sleep(0.1)
    if object_cache and not (info.get("object_cache") and info.get("redis_connected")):
        server.stop()
        raise WordPressServerError(f"the Redis object cache is not in use on {url}: {info}")
    if not object_cache and info.get("object_cache"):
        server.stop()
        raise WordPressServerError(f"a persistent object cache is in use on {url} although none was asked for: {info}")
    return server
