"""Numbers about storage for the service's own health check and metrics (`/healthz`, `/metrics`): does
the database answer, how busy are the connection pools, how many change events wait for WordPress.
The HTTP layer reads them through these methods; their SQL stays here."""

from __future__ import annotations

import re
from pathlib import Path

from wpscim.wordpress.db import Database
from wpscim.wordpress.events import ChangeLog


class ServiceStatus:
    def __init__(self, db: Database, changes: ChangeLog):
        self.db = db
        self.changes = changes

    def ping(self) -> None:
        """Returns when the database answers a trivial query on the read pool (with its timeouts and its
        breaker, as requests would); raises Unavailable otherwise."""
        with self.db.reading() as session:
            session.execute("SELECT 1")
            session.fetchone()

    def pools(self) -> dict[str, tuple[int, int]]:
        """Connections in use and the size of each of this process's pools."""
        return {"writes": (self.db.writes.in_use, self.db.writes.size), "reads": (self.db.reads.in_use, self.db.reads.size)}

    def change_events(self) -> dict:
        """ChangeLog.status(): events in all, `undelivered` (WordPress's hooks not fired yet), `uncleared`
        (WordPress's cache not cleared yet), `oldest_undelivered` (ISO time or None)."""
        with self.db.reading() as session:
            return self.changes.status(session)


_WP_VERSION = re.compile(r"""^\s*\$wp_version\s*=\s*['"]([^'"]+)['"]\s*;""", re.M)


def installed_version(wp_config: str | None) -> str | None:
    """The WordPress release beside a wp-config.php (`wp-includes/version.php`, where WordPress keeps
    `$wp_version`), or None when there is none to read (a Debian or container layout, a URL)."""
    if not wp_config:
        return None
    root = Path(wp_config).resolve().parent
    for candidate in (root / "wp-includes" / "version.php", root.parent / "wp-includes" / "version.php"):
        try:
            found = _WP_VERSION.search(candidate.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
        if found:
            return found[1]
    return None
