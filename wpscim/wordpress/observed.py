"""The attribute paths identity providers actually sent (names only, never values), kept in the
option `wpscim_observed` so `wpscim mapping observed` can show where each one lands."""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timezone

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
                today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
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
