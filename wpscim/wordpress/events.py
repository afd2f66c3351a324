"""The change log: one event per resource a request changed, written in the request's transaction
(before its COMMIT, in the same round trip). It is the audit trail (`wpscim events`, the admin page's
Activity) and the outbox WordPress is told from: after the commit, the listeners clear WordPress's
object cache (wpscim.wordpress.cache) and wake the companion plugin, which fires WordPress's own hooks
for the events it has not delivered yet (wpscim.wordpress.companion).

An event names the attributes that changed, never their values; its `detail` says what WordPress must
be told: the user as stored before and after (login, e-mail, nicename, names, URL, roles — never a
password or hash), the reassignment target of a delete, the members a group gained or lost.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from wpscim.scim.jsontext import dumps_text, loads
from wpscim.scim.resource import user_number
from wpscim.wordpress.metavalues import meta_text
from wpscim.wordpress.site import Site

log = logging.getLogger("wpscim")

USER_ACTIONS = ("create", "update", "deactivate", "reactivate", "delete")
GROUP_ACTIONS = ("create", "update", "delete", "add_members", "remove_members")
SNAPSHOT_COLUMNS = ("user_login", "user_email", "user_nicename", "display_name", "user_url", "user_registered")
SNAPSHOT_META = ("first_name", "last_name", "nickname")
_PURGE_BATCH = 1000
STATUS_WINDOW = 10000  # how far status() counts (see there)


@dataclass
class Event:
    action: str
    resource_type: str  # "User" or "Group"
    resource_id: str | None  # None: the user this transaction's create inserted (its ID is known after the insert)
    attributes: tuple[str, ...] = ()
    detail: dict = field(default_factory=dict)
    request_id: str = ""  # set when a Transaction records the event
    id: int | None = None  # its row's, once read back from the change log


def user_snapshot(user_id: int | None, row: dict, meta: dict, roles: list[str]) -> dict:
    """A user as WordPress stores it (names HTML-escaped, as in the tables), for the companion to
    build WordPress's own user objects from. Never the password hash."""
    snapshot: dict = {"ID": user_id} if user_id else {}
    for column in SNAPSHOT_COLUMNS:
        value = row.get(column, "")
        snapshot[column] = value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else ("" if value is None else str(value))
    for key in SNAPSHOT_META:
        snapshot[key] = meta_text(meta.get(key) or "")
    snapshot["roles"] = list(roles)
    return snapshot


def new_request_id() -> str:
    """Time-ordered (the index on request_id grows at its end) and unique."""
    return f"{time.time_ns():016x}{secrets.token_hex(4)}"


class ChangeLog:
    """The site's `{prefix}wpscim_events` table, as a Transaction's journal (wpscim.wordpress.db.Journal)."""

    def __init__(self, site: Site):
        self.site = site
        self.table = f"`{site.prefix}wpscim_events`"
        # True when nothing but wpscim itself must clear WordPress's cache for a change (no persistent
        # object cache, or one wpscim clears directly): the event is written as cleared. False when only
        # the companion can (another persistent cache): it stays pending until the companion has.
        self.cleared_on_commit = True
        self.listeners: list[Callable[[list[Event]], None]] = []
        self._columns = "(created_at, actor, request_id, action, resource_type, resource_id, attributes, detail, cleared_at)"

    # --- writing (Journal) -----------------------------------------------------------------------

    def insert(self, events: list[Event], actor: str, request_id: str) -> tuple[str, list]:
        """The statement writing `events`, for the transaction's last round trip. An event for a user
        created in this round trip (no ID yet) takes the ID the create kept in `@wpscim_user`
        (wpscim.wordpress.users.writing): a plain VALUES insert, about half of MariaDB's work for an
        INSERT … SELECT of it from the new usermeta row."""
        cleared = "UTC_TIMESTAMP(6)" if self.cleared_on_commit else "NULL"
        rows, params = [], []
        for event in events:
            resource = "@wpscim_user" if event.resource_id is None else "%s"
            rows.append(f"(UTC_TIMESTAMP(6), %s, %s, %s, %s, {resource}, %s, %s, {cleared})")
            params += [actor[:100], request_id, event.action, event.resource_type]
            if event.resource_id is not None:
                params.append(str(event.resource_id)[:191])
            params += [dumps_text(list(event.attributes)), dumps_text(event.detail)]
        return f"INSERT INTO {self.table} {self._columns} VALUES " + ", ".join(rows), params

    def committed(self, events: list[Event]) -> None:
        """After the COMMIT, before the answer: tell WordPress. The database is the truth: a listener
        that fails (cache or WordPress unreachable) leaves its work pending and never fails the request."""
        for listener in self.listeners:
            try:
                listener(events)
            except Exception:  # noqa: BLE001
                log.exception("after-commit delivery failed; the events stay pending")

    def request_committed(self, session, request_id: str) -> list[tuple[str, str]] | None:
        """(resource_type, resource_id) of the events request `request_id` wrote, or None if it wrote none."""
        session.execute(f"SELECT resource_type, resource_id FROM {self.table} WHERE request_id = %s ORDER BY id", (request_id,))
        rows = [(kind, str(resource)) for kind, resource in session.fetchall()]
        return rows or None

    def mark_cleared(self, tx, events: list[Event], cleared: bool) -> None:
        """Record that WordPress's caches are (or are not yet) clean for the requests of `events`."""
        ids = sorted({event.id for event in events if event.id})
        requests = sorted({event.request_id for event in events if event.request_id and not event.id})
        where = []
        if ids:
            where.append("id IN (" + ", ".join(["%s"] * len(ids)) + ")")
        if requests:
            where.append("request_id IN (" + ", ".join(["%s"] * len(requests)) + ")")
        if where:
            tx.execute(
                f"UPDATE {self.table} SET cleared_at = {'UTC_TIMESTAMP(6)' if cleared else 'NULL'} WHERE " + " OR ".join(where),
                ids + requests,
            )

    def recent_events(self, session, minutes: int, limit: int = 5000) -> list[Event]:
        """The events of the last `minutes` minutes (at most `limit`, newest first, found through the
        primary key: ids grow with time)."""
        session.execute(
            f"SELECT id, action, resource_type, resource_id, detail, request_id FROM (SELECT * FROM {self.table} ORDER BY id DESC "
            f"LIMIT {int(limit)}) recent WHERE created_at >= UTC_TIMESTAMP(6) - INTERVAL %s MINUTE",
            (int(minutes),),
        )
        return self._events(session.fetchall())

    def uncleared_events(self, session) -> list[Event]:
        """The events whose caches are not known clean, among the newest STATUS_WINDOW (what status()
        counts): left by a process that could not reach the cache and stopped before it could again."""
        session.execute(
            f"SELECT id FROM (SELECT id, cleared_at FROM {self.table} ORDER BY id DESC LIMIT {STATUS_WINDOW}) recent "
            "WHERE cleared_at IS NULL"
        )
        ids = [row[0] for row in session.fetchall()]
        if not ids:
            return []
        session.execute(
            f"SELECT id, action, resource_type, resource_id, detail, request_id FROM {self.table} WHERE id IN ("
            + ", ".join(["%s"] * len(ids))
            + ") ORDER BY id",
            ids,
        )
        return self._events(session.fetchall())

    @staticmethod
    def _events(rows) -> list[Event]:
        events = []
        for event_id, action, kind, resource, detail, request_id in rows:
            try:
                told = loads(detail or "{}")
            except ValueError:
                told = {}
            events.append(Event(action, kind, str(resource), (), told, request_id, event_id))
        return events

    # --- reading ---------------------------------------------------------------------------------

    def history(
        self,
        session,
        *,
        user: str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: int | None = None,
        limit: int = 100,
        oldest_first: bool = False,
    ) -> list[dict]:
        """Events, newest first (or oldest first), filtered. `user` also finds the group events that
        added or removed that user."""
        where, params = [], []
        if user is not None:
            where.append(
                "((resource_type = 'User' AND resource_id = %s) OR (resource_type = 'Group' "
                "AND action IN ('add_members', 'remove_members') AND JSON_CONTAINS(detail, %s, '$.users')))"
            )
            number = user_number(user)  # MySQL's collation takes '٣' for '3': only ASCII digits name a user
            params += [str(number) if number is not None else "", str(number) if number is not None else '"none"']
        if resource_type is not None:
            where.append("resource_type = %s")
            params.append(resource_type)
        if resource_id is not None:
            where.append("resource_id = %s")
            params.append(resource_id)
        if action is not None:
            where.append("action = %s")
            params.append(action)
        if since is not None:
            where.append("created_at >= %s")
            params.append(since.strftime("%Y-%m-%d %H:%M:%S.%f"))
        if until is not None:
            where.append("created_at < %s")
            params.append(until.strftime("%Y-%m-%d %H:%M:%S.%f"))
        if before_id is not None:
            where.append("id > %s" if oldest_first else "id < %s")
            params.append(before_id)
        session.execute(
            f"SELECT id, created_at, actor, request_id, action, resource_type, resource_id, attributes, detail, cleared_at, "
            f"delivered_at FROM {self.table}{' WHERE ' + ' AND '.join(where) if where else ''} "
            f"ORDER BY id {'ASC' if oldest_first else 'DESC'} LIMIT {int(limit)}",
            params,
        )
        return [_event_dict(row) for row in session.fetchall()]

    def status(self, session) -> dict:
        """How many events there are, and how many wait for their cache clearing or their hooks. Cheap
        on a table of millions (metrics ask every few seconds): the total from the ends of the primary
        key (ids grow by one; retention deletes the oldest), uncleared events among the newest
        STATUS_WINDOW (caches are cleared within seconds, or Redis has been down that long), and the
        undelivered counted through their index up to STATUS_WINDOW."""
        session.execute(f"SELECT MAX(id) - MIN(id) + 1 FROM {self.table}")
        total = session.fetchone()[0]
        session.execute(
            f"SELECT COUNT(*) FROM (SELECT cleared_at FROM {self.table} ORDER BY id DESC LIMIT {STATUS_WINDOW}) "
            "recent WHERE cleared_at IS NULL"
        )
        uncleared = session.fetchone()[0]
        session.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM {self.table} WHERE delivered_at IS NULL LIMIT {STATUS_WINDOW}) pending")
        undelivered = session.fetchone()[0]
        session.execute(f"SELECT MIN(id) FROM {self.table} WHERE delivered_at IS NULL")
        oldest_id = session.fetchone()[0]
        oldest = None
        if oldest_id is not None:
            session.execute(f"SELECT created_at FROM {self.table} WHERE id = %s", (oldest_id,))
            oldest = session.fetchone()[0]
        return {
            "events": int(total or 0),
            "uncleared": int(uncleared or 0),
            "undelivered": int(undelivered or 0),
            "undelivered_capped": int(undelivered or 0) >= STATUS_WINDOW,
            "oldest_undelivered": _iso(oldest) if oldest else None,
        }

    def exists(self, session) -> bool:
        session.execute(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
            (f"{self.site.prefix}wpscim_events",),
        )
        return session.fetchone()[0] > 0

    # --- retention -------------------------------------------------------------------------------

    def purge(self, db, days: int) -> int:
        """Delete events older than `days` days, oldest first, in small transactions (walking the primary
        key: ids grow with time). Returns how many were deleted."""
        deleted = 0
        while True:
            with db.transaction() as tx:
                tx.execute(
                    f"SELECT id, created_at < UTC_TIMESTAMP(6) - INTERVAL %s DAY FROM {self.table} ORDER BY id LIMIT {_PURGE_BATCH}",
                    (int(days),),
                )
                rows = tx.fetchall()
                old = [event_id for event_id, expired in rows if expired]
                if old:
                    tx.execute(f"DELETE FROM {self.table} WHERE id <= %s", (max(old),))
                    deleted += tx.rowcount
            if len(old) < _PURGE_BATCH:
                return deleted


def _iso(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if isinstance(value, datetime) else str(value)


def _event_dict(row) -> dict:
    event_id, created, actor, request_id, action, kind, resource, attributes, detail, cleared, delivered = row
    try:
        names = loads(attributes or "[]")
    except ValueError:
        names = []
    try:
        told = loads(detail or "{}")
    except ValueError:
        told = {}
    return {
        "id": event_id,
        "time": _iso(created),
        "actor": actor,
        "action": action,
        "resource_type": kind,
        "resource_id": str(resource),
        "attributes": names,
        "request_id": request_id,
        "detail": told,
        "cleared": _iso(cleared) if cleared else None,
        "delivered": _iso(delivered) if delivered else None,
    }
