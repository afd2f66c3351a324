"""What the admin page keeps in the site's database: the secret its session cookies and form tokens are
signed with (option `wpscim_admin_secret`, made on first use; deleting it ends every admin session),
one-time sign-in links (`wpscim admin link`), and the page's address for the companion's menu item
(option `wpscim_admin_url`).

A link is a random token; only its SHA-256 is stored, as the name of an option of its own
(`wpscim_admin_link_<sha256>`, its value the expiry in Unix seconds). Using it deletes that row: one
DELETE that only one request can win, so a link signs in once. Signing out of the session a link
started leaves a row of the same kind (`wpscim_admin_ended_<sha256 of the session's id>`) until the
session would have expired: its cookie no longer opens the page, wherever it was copied to."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time

from wpscim.wordpress.db import Database
from wpscim.wordpress.site import Site, secret_option

SECRET_OPTION = "wpscim_admin_secret"
ADMIN_URL_OPTION = "wpscim_admin_url"  # read by the companion (Users -> SCIM provisioning)
LINK_PREFIX = "wpscim_admin_link_"
ENDED_PREFIX = "wpscim_admin_ended_"
LINK_SECONDS = 600
SECRET_CACHE_SECONDS = 30.0


class AdminAccess:
    def __init__(self, db: Database, site: Site):
        self.db = db
        self.site = site
        self._secret: tuple[float, bytes] | None = None
        self._lock = threading.Lock()
        self._admin_url_written: str | None = None

    def secret(self) -> bytes:
        """The signing secret (re-read every SECRET_CACHE_SECONDS, so deleting the option ends sessions everywhere)."""
        cached = self._secret
        if cached is not None and time.monotonic() - cached[0] <= SECRET_CACHE_SECONDS:
            return cached[1]
        with self._lock:
            value = secret_option(self.db, self.site, SECRET_OPTION).encode("utf-8")
            self._secret = (time.monotonic(), value)
            return value

    # --- one-time links -----------------------------------------------------------------------

    def create_link(self, seconds: int = LINK_SECONDS) -> str:
        """A new one-time sign-in token (returned once; only its hash is stored). Expired links are removed."""
        token = secrets.token_urlsafe(32)
        self._store_until(LINK_PREFIX, token, int(time.time()) + seconds)
        return token

    def _store_until(self, prefix: str, secret: str, until: int) -> None:
        """Option `<prefix><sha256 of secret>` = `until` (Unix seconds); the prefix's expired ones removed."""
        with self.db.transaction() as tx:
            tx.execute(
                f"DELETE FROM {self.site.options} WHERE option_name LIKE %s AND CAST(option_value AS UNSIGNED) < %s",
                (prefix.replace("_", "\\_") + "%", int(time.time())),
            )
            tx.execute(
                f"INSERT IGNORE INTO {self.site.options} (option_name, option_value, autoload) VALUES (%s, %s, 'no')",
                (prefix + _digest(secret), str(until)),
            )

    def consume_link(self, token: str) -> bool:
        """True once for a live link: the row is deleted by the one request that uses it."""
        if not token or len(token) > 200:
            return False
        with self.db.transaction() as tx:
            tx.execute(
                f"DELETE FROM {self.site.options} WHERE option_name = %s AND CAST(option_value AS UNSIGNED) >= %s",
                (LINK_PREFIX + _digest(token), int(time.time())),
            )
            return tx.rowcount == 1

    def end_session(self, session_id: str, until: int) -> None:
        """The link session `session_id` is over (signed out); `until`: when it would have expired."""
        self._store_until(ENDED_PREFIX, session_id, until)

    def session_ended(self, session_id: str) -> bool:
        with self.db.reading() as session:
            session.execute(f"SELECT 1 FROM {self.site.options} WHERE option_name = %s", (ENDED_PREFIX + _digest(session_id),))
            return session.fetchone() is not None

    # --- the page's address -------------------------------------------------------------------

    def admin_url(self) -> str | None:
        with self.db.reading() as session:
            session.execute(f"SELECT option_value FROM {self.site.options} WHERE option_name = %s", (ADMIN_URL_OPTION,))
            row = session.fetchone()
        return row[0] if row and row[0] else None

    def note_admin_url(self, url: str) -> None:
        """Keep `wpscim_admin_url` at `url` (written only when it changes, once per process otherwise)."""
        if url == self._admin_url_written:
            return
        with self.db.transaction() as tx:
            tx.execute(
                f"INSERT INTO {self.site.options} (option_name, option_value, autoload) VALUES (%s, %s, 'no') "
                "ON DUPLICATE KEY UPDATE option_value = VALUES(option_value)",
                (ADMIN_URL_OPTION, url),
            )
        self._admin_url_written = url

    def administrators(self, roles) -> list[dict]:
        """The site's administrators who can log in (ID, login, display name as WordPress stores it), by ID:
        the choices for receiving a deleted user's posts. `roles`: the site's RoleStore."""
        with self.db.reading() as session:
            ids = sorted(roles.guard.able_administrators(session, roles.load(session)))[:500]
            if not ids:
                return []
            session.execute(
                f"SELECT ID, user_login, display_name FROM {self.site.users} WHERE ID IN ("
                + ", ".join(["%s"] * len(ids))
                + ") ORDER BY ID",
                ids,
            )
            return [{"id": user_id, "login": login, "display_name": name} for user_id, login, name in session.fetchall()]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
