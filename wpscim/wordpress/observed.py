"""The attribute paths identity providers actually sent (names only, never values), kept in the
option `wpscim_observed` so `wpscim mapping observed` can show where each one lands."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime

from wpscim.wordpress.db import Database
from wpscim.wordpress.site import Site

OPTION = "wpscim_observed"
log = logging.getLogger("wpscim")


class ObservedPaths:
    def __init__(self, db: Database, site: Site):
        self.db = db
        self.site = site
        self._known: frozenset[str] = frozenset()  # replaced, never changed: read without the lock
        self._lock = threading.Lock()

    def record(self, paths: set[str]) -> None:
        """Store paths not seen before by this process (one small write, rarely)."""
        if paths <= self._known:  # nearly every request: nothing new, no lock taken
            return
        with self._lock:
            new = paths - self._known
            self._known = self._known | new
        if not new:
            return
        try:
            with self.db.transaction() as cursor:
                current = self._read(cursor, for_update=True)
                today = datetime.now(UTC).strftime("%Y-%m-%d")
                current.update({path: today for path in new})
                cursor.execute(
                    f"INSERT INTO {self.site.options} (option_name, option_value, autoload) VALUES (%s, %s, 'no') "
                    "ON DUPLICATE KEY UPDATE option_value = VALUES(option_value)",
                    (OPTION, json.dumps(current, sort_keys=True)),
                )
        except Exception:  # observing must never fail a provisioning request
            log.exception("could not record observed attribute paths")
            with self._lock:
                self._known = self._known - new

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
