"""Bearer tokens, stored only as SHA-256 hashes in the site's options table (`wpscim_tokens`), so every
wpscim instance sharing the database accepts the same tokens. Tokens are 256-bit random values, so a
fast hash is enough; comparison is constant-time."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from datetime import datetime, timezone

from wpscim.wordpress.db import Database
from wpscim.wordpress.errors import Unavailable
from wpscim.wordpress.site import Site

OPTION = "wpscim_tokens"
CACHE_SECONDS = 2.0  # how long a revocation may take to reach a running instance


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    def __init__(self, db: Database, site: Site):
        self.db = db
        self.site = site
        self._cache: tuple[float, list[dict]] | None = None
        self._cache_lock = threading.Lock()

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
        cached = self._cache  # a fresh cache is read without the lock (every request reads it)
        if cached is not None and time.monotonic() - cached[0] <= CACHE_SECONDS:
            return cached[1]
        with self._cache_lock:
            now = time.monotonic()
            if self._cache is None or now - self._cache[0] > CACHE_SECONDS:
                try:
                    with self.db.reading() as cursor:
                        self._cache = (now, self._read(cursor))
                except Unavailable:
                    if self._cache is None:
                        raise
                    # The database is down: the tokens last read still decide, so discovery and health
                    # answer, and every request that needs the database gets its own 503.
                    return self._cache[1]
            return self._cache[1]

    def verify(self, token: str) -> str | None:
        """The name of the token, or None. Every stored hash is compared, in constant time."""
        digest = _digest(token)
        found = None
        for stored in self._current():
            if hmac.compare_digest(stored["sha256"], digest):
                found = stored["name"]
        return found
