"""Bearer tokens, stored only as SHA-256 hashes in the site's options table (`wpscim_tokens`), so every
wpscim instance sharing the database accepts the same tokens. Tokens are 256-bit random values, so a
fast hash is enough; comparison is constant-time."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from datetime import datetime, timezone

from wpscim.wordpress.db import Database
from wpscim.wordpress.errors import Unavailable
from wpscim.wordpress.site import Site

OPTION = "wpscim_tokens"
CACHE_SECONDS = 2.0  # how long a revocation may take to reach a running instance
REFRESH_WAIT_SECONDS = 1.0
log = logging.getLogger("wpscim")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    def __init__(self, db: Database, site: Site):
        self.db = db
        self.site = site
        self._cache: tuple[float, list[dict]] | None = None
        self._cache_lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._refreshing: tuple[threading.Event, float] | None = None

    def _read(self, cursor) -> list[dict]:
        cursor.execute(f"SELECT option_value FROM {self.site.options} WHERE option_name = %s LIMIT 1", (OPTION,))
        row = cursor.fetchone()
        try:
            tokens = json.loads(row[0]) if row else []
        except ValueError:
            tokens = []
        return [t for t in tokens if isinstance(t, dict) and "name" in t and "sha256" in t]

    def _write(self, cursor, tokens: list[dict]) -> None:
        value = json.dumps(tokens, separators=(",", ":"))
        cursor.execute(f"UPDATE {self.site.options} SET option_value = %s WHERE option_name = %s", (value, OPTION))
        if cursor.rowcount == 0:
            cursor.execute(f"SELECT 1 FROM {self.site.options} WHERE option_name = %s", (OPTION,))
            if cursor.fetchone() is None:
                cursor.execute(
                    f"INSERT INTO {self.site.options} (option_name, option_value, autoload) VALUES (%s, %s, 'no')",
                    (OPTION, value),
                )

    def create(self, name: str) -> str:
        name = name.strip()
        if not name:
            raise ValueError("a token needs a name")
        token = secrets.token_urlsafe(32)
        with self.db.transaction() as cursor:
            cursor.lock([f"{self.db.address.database}/{self.site.prefix}/tokens"])
            tokens = self._read(cursor)
            if any(t["name"] == name for t in tokens):
                raise ValueError(f"a token named '{name}' exists already (revoke it first)")
            created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            tokens.append({"name": name, "sha256": _digest(token), "created": created})
            self._write(cursor, tokens)
        self._cache = None
        return token

    def list(self) -> list[dict]:
        with self.db.reading() as cursor:
            return [{"name": t["name"], "created": t.get("created", "")} for t in self._read(cursor)]

    def revoke(self, name: str) -> bool:
        with self.db.transaction() as cursor:
            cursor.lock([f"{self.db.address.database}/{self.site.prefix}/tokens"])
            tokens = self._read(cursor)
            kept = [t for t in tokens if t["name"] != name]
            if len(kept) == len(tokens):
                return False
            self._write(cursor, kept)
        self._cache = None
        return True

    def _current(self) -> list[dict]:
        """The tokens, read again when CACHE_SECONDS old, on a thread of its own: requests wait for that
        read until at most REFRESH_WAIT_SECONDS after it began; until it lands, the tokens last read
        decide. So a stalled or unreachable database never holds requests at the bearer check
        (discovery and /healthz keep answering), and a revocation reaches every instance within
        seconds of the database answering."""
        cached = self._cache  # read without a lock: every request reads it
        if cached is not None and time.monotonic() - cached[0] <= CACHE_SECONDS:
            return cached[1]
        if cached is None:  # nothing to fall back on: wait for the database, or its 503
            with self._cache_lock:
                if self._cache is None:
                    with self.db.reading() as cursor:
                        self._cache = (time.monotonic(), self._read(cursor))
                return self._cache[1]
        done, started = self._refreshing_now()
        done.wait(max(0.0, started + REFRESH_WAIT_SECONDS - time.monotonic()))
        return (self._cache or cached)[1]

    def _refreshing_now(self) -> tuple[threading.Event, float]:
        """The read under way, or one started now: (set when it has ended, when it started)."""
        with self._refresh_lock:
            if self._refreshing is None:
                self._refreshing = (threading.Event(), time.monotonic())
                threading.Thread(target=self._refresh, args=(self._refreshing[0],), name="wpscim-tokens", daemon=True).start()
            return self._refreshing

    def _refresh(self, done: threading.Event) -> None:
        try:
            with self.db.reading() as cursor:
                self._cache = (time.monotonic(), self._read(cursor))
        except Unavailable:
            pass  # the database is down: the tokens last read still decide; each request's own work gets its 503
        except Exception:  # noqa: BLE001 - a thread's failure would otherwise go unseen
            log.exception("reading the bearer tokens failed")
        finally:
            with self._refresh_lock:
                self._refreshing = None
            done.set()

    def verify(self, token: str) -> str | None:
        """The name of the token, or None. Every stored hash is compared, in constant time."""
        digest = _digest(token)
        found = None
        for stored in self._current():
            if hmac.compare_digest(stored["sha256"], digest):
                found = stored["name"]
        return found
