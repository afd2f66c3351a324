"""Bearer tokens, stored only as SHA-256 hashes in the site's options table (`wpscim_tokens`), so every
wpscim instance sharing the database accepts the same tokens. Tokens are 256-bit random values, so a
fast hash is enough; comparison is constant-time.

When a token was last used is kept apart (option `wpscim_tokens_used`: a JSON object from an id — the
first characters of the token's stored hash — to a UTC time), written by each process at most once a
minute per token, in one statement (JSON_SET) that needs no lock and never touches the tokens."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
import unicodedata
from datetime import UTC, datetime

from wpscim.wordpress.db import Database
from wpscim.wordpress.errors import Unavailable
from wpscim.wordpress.site import Site

OPTION = "wpscim_tokens"
USED_OPTION = "wpscim_tokens_used"
CACHE_SECONDS = 2.0  # how long a revocation may take to reach a running instance
REFRESH_WAIT_SECONDS = 1.0
USED_EVERY_SECONDS = 60.0  # "last used" is written at most this often per token and process
log = logging.getLogger("wpscim")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _use_key(digest: str) -> str:
    """Where a token's last use is noted: an id from its stored hash (never the token)."""
    return "t" + digest[:20]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


NAME_LENGTH = 100  # what the change log keeps of the actor
_UNSHOWN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


class TokenStore:
    def __init__(self, db: Database, site: Site):
        self.db = db
        self.site = site
        self._cache: tuple[float, list[dict]] | None = None
        self._cache_lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._refreshing: tuple[threading.Event, float] | None = None
        self._noted: dict[str, float] = {}  # stored hash -> when this process last wrote its use (monotonic)
        self._noted_lock = threading.Lock()

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
        if len(name) > NAME_LENGTH:
            raise ValueError(f"a token's name has at most {NAME_LENGTH} characters")
        if any(unicodedata.category(c) in _UNSHOWN for c in name):
            # A name the page cannot show as it is stored cannot be revoked from it either.
            raise ValueError("a token's name may not hold control, invisible or direction-changing characters")
        token = secrets.token_urlsafe(32)
        with self.db.transaction() as cursor:
            cursor.lock([f"{self.db.address.database}/{self.site.prefix}/tokens"])
            tokens = self._read(cursor)
            if any(t["name"] == name for t in tokens):
                raise ValueError(f"a token named '{name}' exists already (revoke it first)")
            created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            tokens.append({"name": name, "sha256": _digest(token), "created": created})
            self._write(cursor, tokens)
        self._cache = None
        return token

    def list(self) -> list[dict]:
        """Each token's name, creation time and last use ('' when never noted)."""
        with self.db.reading() as cursor:
            tokens = self._read(cursor)
            cursor.execute(f"SELECT option_value FROM {self.site.options} WHERE option_name = %s LIMIT 1", (USED_OPTION,))
            row = cursor.fetchone()
        try:
            used = json.loads(row[0]) if row else {}
        except ValueError:
            used = {}
        used = used if isinstance(used, dict) else {}
        return [
            {"name": t["name"], "created": t.get("created", ""), "last_used": str(used.get(_use_key(t["sha256"])) or "")} for t in tokens
        ]

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
        if found is not None:
            self._note_use(digest)
        return found

    def _note_use(self, digest: str) -> None:
        """Write the token's last use, unless this process did so less than USED_EVERY_SECONDS ago."""
        now = time.monotonic()
        last = self._noted.get(digest)
        if last is not None and now - last < USED_EVERY_SECONDS:
            return
        with self._noted_lock:
            last = self._noted.get(digest)
            if last is not None and now - last < USED_EVERY_SECONDS:
                return
            self._noted[digest] = now
        # On a thread of its own: the request never waits for this write (nor for a database that is down).
        threading.Thread(target=self._write_use, args=(_use_key(digest), _now()), name="wpscim-token-use", daemon=True).start()

    def _write_use(self, key: str, when: str) -> None:
        try:
            with self.db.transaction() as cursor:
                cursor.execute(
                    f"INSERT INTO {self.site.options} (option_name, option_value, autoload) VALUES (%s, %s, 'no') "
                    "ON DUPLICATE KEY UPDATE option_value = IF(JSON_VALID(option_value), JSON_SET(option_value, %s, %s), "
                    "VALUES(option_value))",
                    (USED_OPTION, json.dumps({key: when}), f"$.{key}", when),
                )
        except Exception:  # noqa: BLE001 - noting a use must never refuse a request
            log.warning("could not note when a token was last used", exc_info=True)
