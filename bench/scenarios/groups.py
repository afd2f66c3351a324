"""Groups (WordPress roles): the list, one large group streamed, and membership changes.

| row | wpscim | raw-SQL reference |
| --- | --- | --- |
| groups list | GET /Groups?excludedAttributes=members | SELECT the roles options |
| group stream | GET /Groups/subscriber (every seeded user is a member) | the member query, streamed (unbuffered cursor) |
| group membership | PATCH /Groups/editor add 100 members, then remove the same 100 | lock the 100 users, read their wp_capabilities/wp_user_level, upsert both (200 rows); the change event (events.py) |

Membership works on the first seeded users, 100 per client (Bench.member_first); each client adds
its 100 and removes them on the next request, and leaves them as they were after each phase.
"""

from __future__ import annotations

import json
import time

import phpserialize
import pymysql

from ..runner import PAGE, Bench, BenchError, Result, Row, Worker, log, phase_order
from . import events
from .scim import PATCH_SCHEMA

GROUP = "editor"  # the role the membership scenario grants and takes away


def groups_list(bench: Bench) -> None:
    """Row groups_list."""

    def http_op(w: Worker, seq: int) -> None:
        w.client.call("GET", "/Groups?excludedAttributes=members")

    def sql_op(w: Worker, seq: int) -> None:
        with w.client.transaction() as cur:
            cur.execute(
                "SELECT option_name, option_value FROM wp_options WHERE option_name IN ('wp_user_roles', 'default_role', 'wpscim_groups')"
            )
            cur.fetchall()

    bench.compare("groups_list", "GET /Groups?excludedAttributes=members", bench.args.clients, http_op, sql_op)


def group_stream(bench: Bench) -> None:
    """Row group_stream: the subscriber group, every seeded user a member, read whole by one client."""
    log("GET /Groups/subscriber streamed (1 client)")
    bench.server.reset_peak()
    expected = bench.users
    members_sql = (
        "SELECT u.ID, COALESCE(n.meta_value, u.user_login) FROM wp_usermeta m JOIN wp_users u ON u.ID = m.user_id "
        "LEFT JOIN wp_usermeta n ON n.user_id = u.ID AND n.meta_key = 'wpscim_userName' "
        "WHERE m.meta_key = 'wp_capabilities' AND m.meta_value LIKE %s ORDER BY u.ID"
    )
    wp, raw = Result(), Result()
    http, sql = bench.http_client(), bench.sql_client()
    try:
        with bench.profiled("group_stream"):
            for r in range(bench.args.stream_repeats):
                for name in phase_order(r):
                    t = time.perf_counter()
                    if name == "wpscim":
                        try:
                            size, body = http.stream("/Groups/subscriber")
                            took = time.perf_counter() - t
                            if r == 0:
                                members = len(json.loads(body).get("members", []))
                                if members != expected:
                                    raise BenchError(f"streamed {members} members, expected {expected}")
                            wp.latencies.append(took)
                            wp.elapsed += took
                            wp.extra["bytes"] = size
                        except Exception as exc:
                            wp.errors += 1
                            wp.first_error = wp.first_error or f"{type(exc).__name__}: {exc}"[:300]
                    else:
                        with sql.transaction(pymysql.cursors.SSCursor) as cur:
                            cur.execute(members_sql, ("%" + 's:10:"subscriber";b:1;' + "%",))
                            count = 0
                            while rows := cur.fetchmany(1000):
                                count += len(rows)
                        took = time.perf_counter() - t
                        raw.latencies.append(took)
                        raw.elapsed += took
    finally:
        http.close()
        sql.close()
    bench.result.rows["group_stream"] = Row(
        "group_stream",
        f"GET /Groups/subscriber, streamed ({expected:,} members)",
        1,
        wp,
        raw,
        bench.server.status()["VmHWM"],
        unit="streams/s",
    )


def membership(bench: Bench) -> None:
    """Row membership: each request adds or removes 100 members of GROUP."""
    levels = bench.levels

    def batch(w: Worker) -> list[int]:
        start = bench.member_first + w.idx * PAGE
        return list(range(start, start + PAGE))

    # -- wpscim --

    def http_op(w: Worker, seq: int) -> None:
        add = not w.state.get("added")
        value = [{"value": str(i)} for i in batch(w)]
        w.client.call(
            "PATCH",
            f"/Groups/{GROUP}",
            {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "add" if add else "remove", "path": "members", "value": value}]},
            expect=(200, 204),
        )
        w.state["added"] = add

    # -- raw SQL --

    def sql_op(w: Worker, seq: int) -> None:
        add = not w.state.get("added")
        ids = batch(w)
        marks = ",".join(["%s"] * len(ids))
        with w.client.transaction() as cur:
            cur.execute(f"SELECT ID FROM wp_users WHERE ID IN ({marks}) ORDER BY ID FOR UPDATE", ids)
            cur.fetchall()
            cur.execute(
                f"SELECT umeta_id, user_id, meta_key, meta_value FROM wp_usermeta WHERE user_id IN ({marks}) "
                "AND meta_key IN ('wp_capabilities', 'wp_user_level') ORDER BY umeta_id",
                ids,
            )
            rows = cur.fetchall()
            caps_of = {uid: value for _, uid, key, value in rows if key == "wp_capabilities"}
            new_caps, upserts = {}, []
            for uid, value in caps_of.items():
                caps = phpserialize.loads(value.encode(), decode_strings=True)
                if add:
                    caps[GROUP] = True
                else:
                    caps.pop(GROUP, None)
                new_caps[uid] = caps
            for umeta_id, uid, key, _ in rows:
                caps = new_caps[uid]
                if key == "wp_capabilities":
                    upserts.append((umeta_id, uid, key, phpserialize.dumps(caps).decode()))
                else:
                    upserts.append((umeta_id, uid, key, str(max([levels.get(r, 0) for r, on in caps.items() if on] or [0]))))
            events.with_event(
                cur,
                "INSERT INTO wp_usermeta (umeta_id, user_id, meta_key, meta_value) VALUES "
                + ",".join(["(%s, %s, %s, %s)"] * len(upserts))
                + " ON DUPLICATE KEY UPDATE meta_value = VALUES(meta_value)",
                [v for row in upserts for v in row],
                events.params(
                    bench.actor,
                    "add_members" if add else "remove_members",
                    "Group",
                    GROUP,
                    ["members"],
                    {"slug": GROUP, "users": sorted(caps_of)},
                ),
            )
        w.state["added"] = add

    def undo(op):
        def finish(w: Worker) -> None:
            if w.state.get("added"):
                op(w, -1)  # leave every member as it was (not measured)

        return finish

    bench.compare(
        "membership",
        f"group PATCH add/remove 100 members (/Groups/{GROUP})",
        bench.args.clients,
        http_op,
        sql_op,
        http_finish=undo(http_op),
        sql_finish=undo(sql_op),
    )
