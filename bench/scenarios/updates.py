"""Changes to existing users: deactivation (PATCH active=false) and PUT.

| row | wpscim | raw-SQL reference |
| --- | --- | --- |
| PATCH deactivate | PATCH /Users/{id} replace active=false | lock row, read usermeta, set the hash aside, replace it, end sessions, park app passwords, touch lastModified; the change event (events.py) |
| PUT update | PUT /Users/{id} (new names and displayName) | lock row, read usermeta, UPDATE display_name, first/last_name, lastModified; the change event |

Each works on its own range of seeded users (Bench: deactivate_first/size, put_first/size). A user
is deactivated once, so deactivation is a consumable resource: half the range per side, spread over
the warm-up and the rounds. PUT cycles through its range.
"""

from __future__ import annotations

from datetime import UTC, datetime

from .. import seed as seeding
from ..runner import Bench, Worker
from ..wpscim_api import unusable_hash
from . import events
from .scim import PATCH_SCHEMA, user_body


def deactivate(bench: Bench) -> None:
    """Row deactivate."""
    first, size = bench.deactivate_first, bench.deactivate_size
    unusable = unusable_hash(bench.db_version)
    actor, levels = bench.actor, bench.levels

    def http_op(w: Worker, seq: int) -> None:
        uid = first + seq
        w.client.call("PATCH", f"/Users/{uid}", {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "value": {"active": False}}]})

    def sql_op(w: Worker, seq: int) -> None:
        uid = first + size + seq
        with w.client.transaction() as cur:
            cur.execute(f"SELECT {events.LOCKED_COLUMNS} FROM wp_users WHERE ID = %s FOR UPDATE", (uid,))
            row = cur.fetchone()
            real_hash = row[1]
            cur.execute("SELECT meta_key, meta_value FROM wp_usermeta WHERE user_id = %s ORDER BY umeta_id", (uid,))
            meta = events.meta_dict(cur.fetchall())
            shot = events.snapshot(
                uid, dict(zip(events.SNAPSHOT_COLUMNS, row[2:])), meta, events.roles_of(meta.get("wp_capabilities"), levels)
            )
            cur.execute(
                "INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES (%s, 'wpscim__suspended_pass', %s)", (uid, real_hash)
            )
            cur.execute("UPDATE wp_users SET user_pass = %s, user_activation_key = '' WHERE ID = %s", (unusable, uid))
            cur.execute("DELETE FROM wp_usermeta WHERE user_id = %s AND meta_key = 'session_tokens'", (uid,))
            cur.execute(
                "UPDATE wp_usermeta SET meta_key = 'wpscim__suspended_application_passwords' "
                "WHERE user_id = %s AND meta_key = '_application_passwords'",
                (uid,),
            )
            events.with_event(
                cur,
                "UPDATE wp_usermeta SET meta_value = %s WHERE user_id = %s AND meta_key = 'wpscim_meta.lastModified'",
                (datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), uid),
                events.params(actor, "deactivate", "User", uid, ["active"], {"before": shot, "after": shot}),
            )

    bench.compare("deactivate", "PATCH deactivate (active=false)", bench.args.clients, http_op, sql_op, cap_per_side=size)


def put(bench: Bench) -> None:
    """Row put."""
    first, size = bench.put_first, bench.put_size
    actor, levels = bench.actor, bench.levels

    def http_op(w: Worker, seq: int) -> None:
        i = first + seq % size
        body = user_body(seeding.login(i), seeding.email(i), f"Put{seq}", f"Family{i}", seeding.external_id(i))
        w.client.call("PUT", f"/Users/{i}", body)

    def sql_op(w: Worker, seq: int) -> None:
        i = first + seq % size
        with w.client.transaction() as cur:
            cur.execute("SELECT * FROM wp_users WHERE ID = %s FOR UPDATE", (i,))
            row = dict(zip([d[0] for d in cur.description], cur.fetchone()))
            cur.execute("SELECT meta_key, meta_value FROM wp_usermeta WHERE user_id = %s ORDER BY umeta_id", (i,))
            meta = events.meta_dict(cur.fetchall())
            display, names = f"Put{seq} Family{i}", {"first_name": f"Put{seq}", "last_name": f"Family{i}x"}
            roles = events.roles_of(meta.get("wp_capabilities"), levels)
            event = events.params(
                actor,
                "update",
                "User",
                i,
                ["name", "nickName", "roles"],
                {
                    "before": events.snapshot(i, row, meta, roles),
                    "after": events.snapshot(i, {**row, "display_name": display}, {**meta, **names}, roles),
                },
            )
            cur.execute("UPDATE wp_users SET display_name = %s WHERE ID = %s", (display, i))
            for key, value in (*names.items(), ("wpscim_meta.lastModified", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))):
                sql, params = "UPDATE wp_usermeta SET meta_value = %s WHERE user_id = %s AND meta_key = %s", (value, i, key)
                if key == "wpscim_meta.lastModified":  # the last write carries the event
                    events.with_event(cur, sql, params, event)
                else:
                    cur.execute(sql, params)

    bench.compare("put", "PUT update (names, displayName)", bench.args.clients, http_op, sql_op)
