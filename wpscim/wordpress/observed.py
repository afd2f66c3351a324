"""The attribute paths identity providers actually sent (names only, never values), kept in the
option `wpscim_observed` so `wpscim mapping observed` can show where each one lands."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import Counter
from datetime import UTC, datetime

from wpscim.wordpress.db import Database
from wpscim.wordpress.site import Site

OPTION = "wpscim_observed"
# The option is rewritten whole whenever a path is new, and every path a client sends is its choice: without
# bounds one body with thousands of keys under an attribute grows it by as many paths each time.
MAX_PATHS = 500
MAX_PATH_LENGTH = 200
# A mapping routes an attribute or one sub-attribute of it (mapping_file: `name.givenName`,
# `phoneNumbers[type eq "work"].value`, `urn:…:User:organization`): deeper names are recorded as that.
MAX_DEPTH = 2
# With the option full, new paths are looked for again only this often (an administrator may empty it).
FULL_RECHECK_SECONDS = 600
log = logging.getLogger("wpscim")


def _split_urn(path: str) -> tuple[str, str]:
    """A path's schema URN (with its colon, or '') and the attribute path below it."""
    if path[:4].lower() != "urn:":
        return "", path
    # The URN ends at the last colon before any value filter (`2.0` in a URN is not a level).
    end = path.find("[")
    cut = path.rfind(":", 0, end if end >= 0 else len(path)) + 1
    return path[:cut], path[cut:]


def _attribute(path: str) -> str:
    """The attribute a path is in (its URN and first name)."""
    head, rest = _split_urn(path)
    return head + re.split(r"[.\[]", rest, maxsplit=1)[0]


def bounded(path: str) -> str | None:
    """`path` as recorded: cut to MAX_DEPTH levels below its schema URN; None if longer than MAX_PATH_LENGTH."""
    head, rest = _split_urn(path)
    depth, quoted, bracketed = 1, False, False
    for index, char in enumerate(rest):
        if char == '"' and bracketed:
            quoted = not quoted
        elif not quoted and char in "[]":
            bracketed = char == "["
        elif char == "." and not bracketed:
            depth += 1
            if depth > MAX_DEPTH:
                rest = rest[:index]
                break
    kept = head + rest
    return kept if kept and len(kept) <= MAX_PATH_LENGTH else None


def _by_priority(paths: set[str]) -> list[str]:
    """`paths` in the order they get the room left: an attribute that brings few names before one that
    brings many (an IdP's attributes before a body's thousand keys under one of them), then the shortest."""
    sizes = Counter(map(_attribute, paths))
    return sorted(paths, key=lambda p: (sizes[_attribute(p)], len(p), p))


class ObservedPaths:
    def __init__(self, db: Database, site: Site):
        self.db = db
        self.site = site
        # Paths this process knows are stored (at most MAX_PATHS): replaced, never changed, so read without the lock.
        self._known: frozenset[str] = frozenset()
        self._full_until = 0.0  # while the option is full (time.monotonic()), new paths are not looked at
        self._lock = threading.Lock()

    def record(self, paths: set[str]) -> None:
        """Store paths not seen before by this process (one small write, rarely), up to MAX_PATHS in all."""
        if paths <= self._known:  # nearly every request: nothing new, no lock taken
            return
        kept = {b for b in map(bounded, paths) if b is not None}
        if kept <= self._known or time.monotonic() < self._full_until:
            return
        with self._lock:
            new = kept - self._known
            self._known = self._known | new
        if not new:
            return
        left_out: set[str] = set()
        try:
            with self.db.transaction() as cursor:
                current = self._read(cursor, for_update=True)
                today = datetime.now(UTC).strftime("%Y-%m-%d")
                if len(current) > MAX_PATHS:  # recorded before the bound: the most recently seen stay
                    current = dict(sorted(current.items(), key=lambda item: str(item[1]), reverse=True)[:MAX_PATHS])
                added = _by_priority(new - set(current))
                room = max(0, MAX_PATHS - len(current))
                left_out = set(added[room:])
                current.update({path: today for path in (new - left_out)})
                cursor.execute(
                    f"INSERT INTO {self.site.options} (option_name, option_value, autoload) VALUES (%s, %s, 'no') "
                    "ON DUPLICATE KEY UPDATE option_value = VALUES(option_value)",
                    (OPTION, json.dumps(current, sort_keys=True)),
                )
        except Exception:  # observing must never fail a provisioning request
            log.exception("could not record observed attribute paths")
            left_out = new
        else:
            if left_out:
                self._full_until = time.monotonic() + FULL_RECHECK_SECONDS
                log.warning(
                    "option %s holds the %d attribute paths it keeps; %d new ones were not recorded", OPTION, MAX_PATHS, len(left_out)
                )
        if left_out:
            with self._lock:
                self._known = self._known - left_out

    def _read(self, cursor, for_update: bool = False) -> dict:
        cursor.execute(
            f"SELECT option_value FROM {self.site.options} WHERE option_name = %s" + (" FOR UPDATE" if for_update else ""),
            (OPTION,),
        )
        row = cursor.fetchone()
        try:
            value = json.loads(row[0]) if row else {}
        except ValueError:
            value = {}
        return value if isinstance(value, dict) else {}

    def all(self) -> dict[str, str]:
        with self.db.reading() as cursor:
            return self._read(cursor)

    def carriers(self, meta_keys: list[str]) -> dict[str, int]:
        """How many users hold a non-empty value under each usermeta key: one grouped read through the
        meta_key index. (The users columns are not counted: that would read every user's row.)"""
        keys = sorted(set(meta_keys))
        if not keys:
            return {}
        with self.db.reading() as cursor:
            cursor.execute(
                f"SELECT meta_key, COUNT(DISTINCT user_id) FROM {self.site.usermeta} WHERE meta_key IN ("
                + ", ".join(["%s"] * len(keys))
                + ") AND meta_value <> '' GROUP BY meta_key",
                keys,
            )
            counted = {str(key).lower(): count for key, count in cursor.fetchall()}
        return {key: counted.get(key.lower(), 0) for key in keys}

    def meta_keys_in_use(self, limit: int = 500) -> list[str]:
        """The distinct usermeta keys the site's users carry (read from the meta_key index), up to `limit`."""
        with self.db.reading() as cursor:
            cursor.execute(f"SELECT DISTINCT meta_key FROM {self.site.usermeta} ORDER BY meta_key LIMIT %s", (int(limit),))
            return [str(key) for (key,) in cursor.fetchall() if key is not None]
