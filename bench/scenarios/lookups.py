"""Lookups of one user by filter, at --clients and at --high-clients concurrent clients.

| row | wpscim | raw-SQL reference |
| --- | --- | --- |
| lookup userName | GET /Users?filter=userName eq "…" | SELECT the users row by user_login + SELECT its usermeta |
| lookup externalId | GET /Users?filter=externalId eq "…" | SELECT users JOIN usermeta on wpscim_externalId + SELECT its usermeta |

Each client picks a random seeded user; every 50th wpscim answer is checked (one result, the right id).
"""

from __future__ import annotations

import json
from urllib.parse import quote

from .. import seed as seeding
from ..runner import Bench, BenchError, Worker


def lookups(bench: Bench) -> None:
    """Rows lookup_username and lookup_externalid (--clients, 4)."""
    _lookups(bench, bench.args.clients)


def lookups_high(bench: Bench) -> None:
    """Rows lookup_username_high and lookup_externalid_high (--high-clients, 16: the p99 target)."""
    _lookups(bench, bench.args.high_clients, suffix="_high", title_suffix=f" ({bench.args.high_clients} clients)")


def http_lookup(bench: Bench, attr: str):
    """GET /Users?filter=<attr> eq "…" of a random seeded user (attr userName or externalId); also what
    the rows comparing two wpscim servers send (changelog.py, bench/fastpath.py)."""
    n, value_of = bench.users, {"userName": seeding.login, "externalId": seeding.external_id}[attr]

    def op(w: Worker, seq: int) -> None:
        i = w.rng.randint(1, n)
        payload = w.client.call("GET", "/Users?filter=" + quote(f'{attr} eq "{value_of(i)}"', safe=""))
        if seq % 50 == 0:
            doc = json.loads(payload)
            if doc["totalResults"] != 1 or doc["Resources"][0]["id"] != str(i):
                raise BenchError(f"{attr} lookup of user {i} returned {payload[:200]!r}")

    return op


def _lookups(bench: Bench, clients: int, suffix: str = "", title_suffix: str = "") -> None:
    n = bench.users

    def pick(w: Worker) -> int:
        return w.rng.randint(1, n)

    # -- raw SQL --

    def sql_user_name(w: Worker, seq: int) -> None:
        i = pick(w)
        with w.client.transaction() as cur:
            cur.execute("SELECT * FROM wp_users WHERE user_login = %s", (seeding.login(i),))
            row = cur.fetchone()
            cur.execute("SELECT user_id, meta_key, meta_value FROM wp_usermeta WHERE user_id = %s ORDER BY umeta_id", (row[0],))
            cur.fetchall()

    def sql_external_id(w: Worker, seq: int) -> None:
        i = pick(w)
        with w.client.transaction() as cur:
            cur.execute(
                "SELECT u.* FROM wp_users u JOIN wp_usermeta m ON m.user_id = u.ID "
                "WHERE m.meta_key = 'wpscim_externalId' AND m.meta_value = %s",
                (seeding.external_id(i),),
            )
            row = cur.fetchone()
            cur.execute("SELECT user_id, meta_key, meta_value FROM wp_usermeta WHERE user_id = %s ORDER BY umeta_id", (row[0],))
            cur.fetchall()

    bench.compare(
        f"lookup_username{suffix}", "lookup by userName eq" + title_suffix, clients, http_lookup(bench, "userName"), sql_user_name
    )
    bench.compare(
        f"lookup_externalid{suffix}", "lookup by externalId eq" + title_suffix, clients, http_lookup(bench, "externalId"), sql_external_id
    )
