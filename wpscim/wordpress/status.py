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


def report(status: ServiceStatus, site, installation=None, wp_config: str | None = None) -> list[tuple[str, str, bool | None]]:
    """What the admin page's Health shows: (what, how it is, good / bad / None for neither), each read as
    it is now. A part that cannot be read says so instead of failing the rest."""
    from wpscim import __version__
    from wpscim.wordpress.companion import Companion, CompanionUnreachable, ensure_key
    from wpscim.wordpress.errors import StorageError
    from wpscim.wordpress.site import lookup_index

    facts: list[tuple[str, str, bool | None]] = []
    try:
        with status.db.reading() as session:
            session.execute("SELECT VERSION()")
            version = session.fetchone()[0]
        facts.append(("Database", f"answers: {version} at {status.db.address.without_password()}", True))
    except StorageError as exc:
        facts.append(("Database", f"does not answer: {exc.detail}", False))
        facts.append(("wpscim", __version__, None))
        return facts
    release = installed_version(wp_config)
    facts.append(
        (
            "WordPress",
            f"{'release ' + release + ', ' if release else ''}db_version {site.db_version}, table prefix "
            f"{site.base_prefix}{', multisite (site ' + str(site.blog_id) + ')' if site.multisite else ''}",
            None,
        )
    )
    cache = installation.object_cache if installation is not None else "none"
    facts.append(
        (
            "Object cache",
            {
                "redis": "the Redis Object Cache drop-in, cleared by wpscim",
                "other": "a persistent object cache only WordPress can clear (the companion does)",
                "none": "none persistent (nothing to clear)",
            }[cache],
            None,
        )
    )
    if installation is None or installation.url is None:
        facts.append(("Companion", "the site's URL is not known (--wp-url or WP_HOME): no hooks are fired", False))
    else:
        try:
            answer = Companion(installation.url, ensure_key(status.db, site)).status(timeout=3.0)
            facts.append(
                (
                    "Companion",
                    f"answering at {installation.url} (version {answer.body.get('companion')})"
                    if answer.ok
                    else f"at {installation.url} it answered HTTP {answer.status}: {answer.body.get('error')}",
                    answer.ok,
                )
            )
        except CompanionUnreachable as exc:
            facts.append(("Companion", f"not answering: {exc}", False))
    try:
        events = status.change_events()
        facts.append(
            (
                "Change log",
                f"{events['events']} events; {events['undelivered']} waiting for WordPress's hooks"
                + (f" (the oldest since {events['oldest_undelivered']})" if events["undelivered"] else "")
                + f"; {events['uncleared']} whose caches are not known clean",
                not events["undelivered"] and not events["uncleared"],
            )
        )
    except StorageError as exc:
        facts.append(("Change log", f"cannot be read: {exc.detail}", False))
    try:
        facts.append(("Lookup index", lookup_index(status.db, site, "status"), None))
    except StorageError as exc:
        facts.append(("Lookup index", f"cannot be read: {exc.detail}", None))
    facts.append(("wpscim", __version__, None))
    return facts
