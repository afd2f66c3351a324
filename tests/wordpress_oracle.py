"""Ask a REAL WordPress (run by the ``php`` CLI) questions about a database.

Each call starts one ``php tests/oracle/oracle.php`` process, which loads WordPress from
``abspath`` (Debian's package: /usr/share/wordpress/) against the given database, runs one
operation and answers with one JSON object.  See oracle.php for the protocol.

    oracle = WordPressOracle("127.0.0.1", 3306, "root", "", "wpscim_test_x")
    oracle.install(admin_login="admin", admin_email="a@example.com", admin_password="pw")
    uid = oracle.insert_user({"user_login": "bob", "user_email": "b@example.com", "user_pass": "pw"})["id"]
    assert oracle.authenticate("bob", "pw")["ok"]

Missing php / php-mysql / WordPress raise :class:`WordPressOracleUnavailable` (tests must fail,
not skip).  Any other failure (php crash, wp_die(), non-JSON output, PHP exception inside the
op) raises :class:`WordPressOracleError` carrying PHP's stderr.  Results that WordPress itself
reports as errors (a ``WP_Error`` from ``wp_insert_user()``, a failed login) are returned as
data, not raised.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

ORACLE_PHP = Path(__file__).resolve().parent / "oracle" / "oracle.php"

INSTALL_HINT = "install the WordPress oracle's dependencies first: `apt-get update && apt-get install -y php-cli php-mysql wordpress`"


class WordPressOracleError(RuntimeError):
    """php failed, WordPress died, or the answer was not the expected JSON."""

    def __init__(
        self,
        message: str,
        *,
        op: str | None = None,
        stderr: str = "",
        stdout: str = "",
        returncode: int | None = None,
        error: dict | None = None,
    ):
        self.op = op
        self.stderr = stderr
        self.stdout = stdout
        self.returncode = returncode
        self.error = error or {}
        text = f"WordPress oracle op {op!r}: {message}"
        if returncode is not None:
            text += f"\n--- php exit code: {returncode}"
        if stdout and not error:
            text += f"\n--- stdout:\n{stdout[-4000:]}"
        if stderr:
            text += f"\n--- php stderr:\n{stderr[-8000:]}"
        super().__init__(text)


class WordPressOracleUnavailable(WordPressOracleError):
    """php, its mysqli extension, or WordPress itself is not installed."""


class WordPressOracle:
    """A real WordPress, asked one question per ``php`` process."""

    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        password: str | None,
        database: str,
        prefix: str = "wp_",
        abspath: str = "/usr/share/wordpress/",
        *,
        php: str | None = None,
        timeout: float = 120.0,
        opcache: bool = True,
        debug: bool = False,
    ):
        self.host = host
        self.port = int(port)
        self.user = user
        self.password = password or ""
        self.database = database
        self.prefix = prefix
        self.abspath = abspath.rstrip("/") + "/"
        self.timeout = timeout
        self.debug = debug
        self.php = php or shutil.which("php")
        self.last_ms: float | None = None  # time PHP itself reported for the last call
        self._check_available()
        self._php_flags: list[str] = ["-d", "display_errors=stderr", "-d", "log_errors=0"]
        if opcache:
            # Persisting compiled scripts across processes roughly halves each call
            # (about 180 ms -> 80 ms here).  Harmless if the opcache extension is absent.
            cache = Path(tempfile.gettempdir()) / f"wpscim-oracle-opcache-{os.getuid()}"
            try:
                cache.mkdir(mode=0o700, exist_ok=True)
                self._php_flags += ["-d", "opcache.enable_cli=1", "-d", f"opcache.file_cache={cache}", "-d", "opcache.file_cache_only=1"]
            except OSError:
                pass

    # -- plumbing ---------------------------------------------------------------------------
    def _check_available(self) -> None:
        if not self.php:
            raise WordPressOracleUnavailable(f"no `php` executable on PATH; {INSTALL_HINT}")
        if not Path(self.abspath, "wp-settings.php").is_file():
            raise WordPressOracleUnavailable(f"no WordPress at {self.abspath} (wp-settings.php missing); {INSTALL_HINT}")
        if not ORACLE_PHP.is_file():
            raise WordPressOracleUnavailable(f"{ORACLE_PHP} is missing")

    def request(self, op: str, args: dict[str, Any] | None = None, *, installing: bool = False) -> dict:
        """The full request/response round trip; returns the op's result object.

        ``installing=True`` defines WP_INSTALLING (skips the "is WordPress installed" check),
        e.g. to hash a password against an empty database.
        """
        payload = {
            "db": {
                "name": self.database,
                "user": self.user,
                "password": self.password,
                "host": f"{self.host}:{self.port}",
            },
            "prefix": self.prefix,
            "abspath": self.abspath,
            "installing": installing,
            "debug": self.debug,
            "op": op,
            "args": args or {},
        }
        try:
            proc = subprocess.run(
                [self.php, *self._php_flags, str(ORACLE_PHP)],
                input=json.dumps(payload).encode(),
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError as exc:  # php vanished between __init__ and now
            raise WordPressOracleUnavailable(f"cannot run {self.php}: {exc}; {INSTALL_HINT}", op=op) from exc
        except subprocess.TimeoutExpired as exc:
            raise WordPressOracleError(
                f"php timed out after {self.timeout}s",
                op=op,
                stderr=(exc.stderr or b"").decode("utf-8", "replace"),
                stdout=(exc.stdout or b"").decode("utf-8", "replace"),
            ) from exc
        stdout = proc.stdout.decode("utf-8", "replace")
        stderr = proc.stderr.decode("utf-8", "replace")
        try:
            answer = json.loads(stdout)
        except ValueError:
            raise WordPressOracleError(
                "php did not print a JSON object", op=op, stderr=stderr, stdout=stdout, returncode=proc.returncode
            ) from None
        if not isinstance(answer, dict) or "ok" not in answer:
            raise WordPressOracleError("unexpected JSON from php", op=op, stderr=stderr, stdout=stdout, returncode=proc.returncode)
        self.last_ms = answer.get("ms")
        if not answer["ok"]:
            err = answer.get("error") or {}
            cls = WordPressOracleUnavailable if err.get("type") in ("wordpress_missing", "php_mysql_missing") else WordPressOracleError
            msg = f"{err.get('type')}: {err.get('message')}"
            if cls is WordPressOracleUnavailable:
                msg += f"; {INSTALL_HINT}"
            if err.get("trace"):
                msg += f"\n{err['trace']}"
            raise cls(msg, op=op, stderr=stderr, stdout=stdout, returncode=proc.returncode, error=err)
        if proc.returncode != 0:
            raise WordPressOracleError(
                "php exited non-zero after answering", op=op, stderr=stderr, stdout=stdout, returncode=proc.returncode
            )
        return answer["result"]

    def call(self, op: str, /, **args: Any) -> dict:
        """Run ``op`` with keyword arguments; returns the op's result dict."""
        return self.request(op, args)

    # -- convenience ------------------------------------------------------------------------
    def install(
        self,
        admin_login: str = "admin",
        admin_email: str = "admin@example.com",
        admin_password: str = "admin-password",
        title: str = "wpscim test site",
        **extra: Any,
    ) -> dict:
        """wp_install() into the (empty) database -> {db_version, user_id, ...}."""
        return self.call("install", admin_login=admin_login, admin_email=admin_email, admin_password=admin_password, title=title, **extra)

    def insert_user(self, userdata: dict[str, Any], *, slash: bool = True) -> dict:
        """wp_insert_user(userdata) -> {"id": N} or {"error": code, "message": ...}.

        Like core callers (wp_create_user(), REST API) every field but user_pass is
        wp_slash()ed first; pass slash=False to hand the array over untouched.
        """
        return self.call("insert_user", userdata=userdata, slash=slash)

    def authenticate(self, login: str, password: str) -> dict:
        """wp_authenticate() -> {"ok": bool, "error": code|None, "user_id": N|None}."""
        return self.call("authenticate", login=login, password=password)

    def get_user(self, user_id: int) -> dict:
        return self.call("get_user", id=user_id)

    def user_can(self, user_id: int, cap: str) -> bool:
        return bool(self.call("user_can", id=user_id, cap=cap)["result"])

    def user_meta_rows(self, user_id: int) -> dict:
        """{"meta": [[meta_key, meta_value], ...] in umeta_id order, "user": {column: value}|None}."""
        return self.call("user_meta_rows", id=user_id)

    def hash_password(self, password: str) -> str:
        return self.call("hash_password", password=password)["hash"]

    def check_password(self, password: str, hash: str, user_id: int | None = None) -> bool:
        args: dict[str, Any] = {"password": password, "hash": hash}
        if user_id is not None:
            args["id"] = user_id
        return bool(self.call("check_password", **args)["ok"])

    def password_verify_wp(self, password: str, hash: str) -> bool:
        """Verify a 6.8+ ``$wp$2y$...`` hash exactly as WordPress 6.8 does (no WordPress loaded)."""
        return bool(self.call("password_verify_wp", password=password, hash=hash)["ok"])

    def create_session(self, user_id: int, ttl: int = 3600) -> str:
        return self.call("create_session", id=user_id, ttl=ttl)["token"]

    def session_count(self, user_id: int) -> int:
        return int(self.call("session_count", id=user_id)["count"])

    def delete_user(self, user_id: int, reassign: int | None = None) -> bool:
        return bool(self.call("delete_user", id=user_id, reassign=reassign)["ok"])

    def roles(self) -> dict:
        """{"roles": {slug: {"name", "capabilities"}}, "default_role": ...}."""
        return self.call("roles")

    def dropdown_roles(self) -> str:
        """The <option>s wp_dropdown_roles() prints (unescaped role names, as WordPress's screens show them)."""
        return self.call("dropdown_roles")["html"]

    def option(self, name: str) -> Any:
        return self.call("option", name=name)["value"]

    def batch(self, calls: list[tuple[str, dict[str, Any]]]) -> list[dict]:
        """Run several ops in ONE php process (one WordPress load), in order -> their results.

        ``calls`` is ``[(op, args), ...]``, e.g. ``[("wp_function", {"fn": "sanitize_user",
        "input": "Zoë", "extra": [True]}), ("insert_user", {"userdata": {...}})]``.
        """
        if not calls:
            return []
        return self.call("batch", calls=[{"op": op, "args": args} for op, args in calls])["results"]

    def stored_user_field(self, field: str, value: str) -> str:
        """What wp_insert_user() writes for `field` (user_url, user_email, description, first_name,
        last_name, nickname, display_name) given `value`: its pre_user_* filter on wp_slash()ed
        input, then wp_unslash()."""
        return self.call("stored_user_field", field=field, input=value)["value"]

    def wp_function(self, fn: str, value: Any, *extra: Any) -> Any:
        """Run one whitelisted pure helper (sanitize_user, sanitize_title, sanitize_email,
        sanitize_text_field, wp_filter_kses, esc_html, maybe_serialize, is_email, wp_parse_url)."""
        return self.call("wp_function", fn=fn, input=value, extra=list(extra))["value"]
