"""The change event the raw-SQL references write, so that they keep doing the database work wpscim does.

wpscim writes one row into `wp_wpscim_events` per resource a request changed, in the request's own
transaction, in the round trip that carries its COMMIT (wpscim/wordpress/events.py, ChangeLog.insert):
created_at and cleared_at UTC_TIMESTAMP(6) (no persistent object cache, or Redis cleared by wpscim),
actor (the token's name), request_id (time-ordered hex), action, resource_type, resource_id, attributes
(the names of the attributes that changed, JSON) and detail (JSON: the user before and after, as
`user_snapshot()` builds it, or the members a group gained or lost).

The references build the same row from what they wrote or read, with the same keys and values (so the
JSON is of the same size), and send it with their transaction's last write, as one more statement in
that round trip (`with_event`): they pay for the row, not for an extra round trip, as wpscim does not.

| reference | action | detail |
| --- | --- | --- |
| create, create checked | create | {"after": snapshot} (no "ID": wpscim's is written before the ID is known) |
| PATCH deactivate | deactivate | {"before": snapshot, "after": snapshot} |
| PUT update | update | {"before": snapshot, "after": snapshot with the new names} |
| group membership | add_members / remove_members | {"slug": "editor", "users": [the 100 IDs]} |
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime

import orjson
import phpserialize

TABLE = "wp_wpscim_events"
INSERT = (
    f"INSERT INTO {TABLE} (created_at, actor, request_id, action, resource_type, resource_id, attributes, detail, cleared_at) "
    "VALUES (UTC_TIMESTAMP(6), %s, %s, %s, %s, %s, %s, %s, UTC_TIMESTAMP(6))"
)
SNAPSHOT_COLUMNS = ("user_login", "user_email", "user_nicename", "display_name", "user_url", "user_registered")
SNAPSHOT_META = ("first_name", "last_name", "nickname")
# What the locked reads of the deactivate reference select: the hash it sets aside and the snapshot's columns.
LOCKED_COLUMNS = "ID, user_pass, " + ", ".join(SNAPSHOT_COLUMNS)


def request_id() -> str:
    """As wpscim's new_request_id(): time-ordered, unique."""
    return f"{time.time_ns():016x}{secrets.token_hex(4)}"


def _json(value) -> str:
    return orjson.dumps(value).decode()


def snapshot(user_id: int | None, row: dict, meta: dict, roles: list[str]) -> dict:
    """The user as wpscim's user_snapshot() records it (the seeded and created values need no unescaping)."""
    shot: dict = {"ID": user_id} if user_id else {}
    for column in SNAPSHOT_COLUMNS:
        value = row.get(column, "")
        shot[column] = value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else ("" if value is None else str(value))
    for key in SNAPSHOT_META:
        shot[key] = meta.get(key) or ""
    shot["roles"] = list(roles)
    return shot


def roles_of(capabilities: str | None, known: dict) -> list[str]:
    """The roles a wp_capabilities value grants (of the site's roles, `known`), as wpscim reads them."""
    if not capabilities:
        return []
    caps = phpserialize.loads(capabilities.encode(), decode_strings=True)
    return [slug for slug, on in caps.items() if on and slug in known]


def meta_dict(rows) -> dict:
    """usermeta rows (meta_key, meta_value) -> the first value of each key, as wpscim keeps them."""
    meta: dict = {}
    for key, value in rows:
        meta.setdefault(key, value)
    return meta


def params(actor: str, action: str, resource_type: str, resource_id, attributes, detail: dict) -> list:
    return [actor[:100], request_id(), action, resource_type, str(resource_id), _json(list(attributes)), _json(detail)]


def with_event(cur, sql: str, sql_params, event_params: list) -> None:
    """`sql` and the event's INSERT in one round trip (the reference's connections allow several
    statements per round trip: SqlClient), both results read."""
    cur.execute(f"{sql}; {INSERT}", [*sql_params, *event_params])
    while cur.nextset():
        pass
