"""The companion plugin (companion/wpscim-companion.php, a mu-plugin): inside WordPress it delivers
the change log's pending events — cleans WordPress's caches with clean_user_cache() and friends, fires
core's user hooks (user_register, profile_update, add_user_role, …, delete_user, deleted_user) in
order, once each — and refuses suspended users at login and password reset.

wpscim wakes it with a signed POST to the site's own URL:

    POST {home}/?wpscim-companion=deliver        (or =status)
    X-Wpscim-Timestamp: <unix seconds>
    X-Wpscim-Signature: <hex HMAC-SHA256(key, timestamp + "\\n" + body)>

The key is the site option `wpscim_companion_key`, a random secret wpscim creates: both sides read it
from the database, so it works whether wpscim was given wp-config.php or only a database URL, and a
new key is made by deleting the option. A poke carries no data: the companion reads the events itself,
so a forged or replayed poke could only make it deliver what is already due.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.resources
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wpscim.wordpress.db import Database
from wpscim.wordpress.errors import StorageError
from wpscim.wordpress.site import Site, secret_option

KEY_OPTION = "wpscim_companion_key"
FILE_NAME = "wpscim-companion.php"


def plugin_source() -> str:
    """The companion as this version of wpscim ships it."""
    return (importlib.resources.files("wpscim.companion") / FILE_NAME).read_text(encoding="utf-8")


def plugin_version(source: str) -> str | None:
    for line in source.splitlines()[:30]:
        if line.strip().lstrip("*").strip().lower().startswith("version:"):
            return line.split(":", 1)[1].strip()
    return None


def install(mu_plugins: Path) -> str:
    """Install or update the companion in a site's mu-plugins folder; says what it did."""
    source = plugin_source()
    target = mu_plugins / FILE_NAME
    if target.exists() and target.read_text(encoding="utf-8", errors="replace") == source:
        return f"{target} is already this version ({plugin_version(source)})"
    existed = target.exists()
    mu_plugins.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".php.tmp")
    temporary.write_text(source, encoding="utf-8")
    temporary.replace(target)  # WordPress never loads half a file
    return f"{'updated' if existed else 'installed'} {target} (version {plugin_version(source)})"


def ensure_key(db: Database, site: Site) -> str:
    """The shared secret (option wpscim_companion_key), created on first use."""
    return secret_option(db, site, KEY_OPTION)


def home_url(db: Database, site: Site) -> str | None:
    with db.reading() as session:
        session.execute(f"SELECT option_value FROM {site.options} WHERE option_name = 'home' LIMIT 1")
        row = session.fetchone()
    return row[0] if row and row[0] else None


@dataclass
class Answer:
    status: int
    body: dict

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.body.get("ok") is True


class CompanionUnreachable(Exception):
    """WordPress did not answer, or answered without the companion (not installed, or an error page)."""


class Companion:
    def __init__(self, url: str, key: str | Callable[[], str], timeout: float = 30.0):
        """`key`: the shared secret, or what reads it (ensure_key) when first needed: wpscim starts, and
        answers, while the database cannot give it."""
        self.url = url.rstrip("/")
        self._key = key
        self.timeout = timeout

    def key(self) -> bytes:
        if callable(self._key):
            try:
                self._key = self._key()
            except StorageError as exc:
                raise CompanionUnreachable(f"the companion's key could not be read from the database: {exc.detail}") from None
        return self._key.encode("utf-8")

    def call(self, action: str, timeout: float | None = None) -> Answer:
        body = b""
        stamp = str(int(time.time()))
        signature = hmac.new(self.key(), stamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(
            f"{self.url}/?wpscim-companion={action}",
            data=body,
            method="POST",
            headers={"X-Wpscim-Timestamp": stamp, "X-Wpscim-Signature": signature, "User-Agent": "wpscim"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as answer:
                status, raw = answer.status, answer.read()
        except urllib.error.HTTPError as answer:
            status, raw = answer.code, answer.read()
        except (OSError, ValueError) as exc:
            raise CompanionUnreachable(f"{self.url} did not answer: {exc}") from None
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict) or "ok" not in parsed:
            raise CompanionUnreachable(
                f"{self.url} answered HTTP {status} without the companion (is it installed? wpscim companion install --wp-config …)"
            )
        return Answer(status, parsed)

    def status(self, timeout: float = 5.0) -> Answer:
        return self.call("status", timeout)

    def deliver(self, timeout: float | None = None) -> Answer:
        return self.call("deliver", timeout)
