"""Creates: POST /Users with and without a password, and the password hash alone.

| row | wpscim | raw-SQL reference |
| --- | --- | --- |
| create | POST /Users (Okta-shaped body, with/without password) | INSERT users row + its 16 usermeta rows + the change event (events.py), one transaction (+ the same password hash function, client-side) |
| create, checked (info) | the same | the same, after taking two named locks (as wpscim takes two for such a create) and asking whether the login, email, nicename or userName is taken, as wpscim must (WordPress has no unique index); locks released after COMMIT |
| password hashing | — | the hash alone (what a create with password pays on top) |

Every create makes a new user (names from the run's id, the side and the request number), so the rows
grow the tables; a --reuse reset deletes them. `http_create()` is also what the rows comparing two
wpscim servers send (changelog.py, bench/fastpath.py).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

from .. import seed as seeding
from ..runner import Bench, BenchError, Result, Row, Sequence, Worker, log, run_phase
from ..wpscim_api import hash_password, uses_wp_bcrypt
from . import events
from .scim import user_body

PASSWORD = "Correct-Horse-7"

# The usermeta wp_insert_user() writes with the site's defaults, in its order (before wpscim's own rows).
SITE_DEFAULTS = [
    ("nickname", ""),
    ("first_name", ""),
    ("last_name", ""),
    ("description", ""),
    ("rich_editing", "true"),
    ("syntax_highlighting", "true"),
    ("comment_shortcuts", "false"),
    ("admin_color", "fresh"),
    ("use_ssl", "0"),
    ("show_admin_bar_front", "true"),
    ("locale", ""),
]


def new_name(run_id: str, side: str, seq: int, pw: bool = False) -> str:
    return f"new-{run_id}-{side}{'p' if pw else ''}{seq}@example.com"


def http_create(bench: Bench, side: str = "w", pw: bool = False):
    """POST /Users of a new user per request; `side` keeps the names of the sides of one run apart."""
    run_id = bench.run_id

    def op(w: Worker, seq: int) -> None:
        name = new_name(run_id, side, seq, pw)
        body = user_body(name, name, "New", f"User{seq}", f"00x{run_id}{side}{seq}", PASSWORD if pw else None)
        w.client.call("POST", "/Users", body, expect=(201,))

    return op


def creates(bench: Bench) -> None:
    """Rows create, create_checked, create_password and hash."""
    run_id, db_version, actor = bench.run_id, bench.db_version, bench.actor
    roles = ["subscriber"]  # the seeded site's default role
    attributes = ("active", "displayName", "emails", "externalId", "name", "userName")  # of user_body(), as wpscim names them

    # -- raw SQL --

    def sql_create(pw: bool, checked: bool = False):
        def op(w: Worker, seq: int) -> None:
            name = new_name(run_id, "c" if checked else "r", seq, pw)
            user_pass = hash_password(PASSWORD, db_version) if pw else seeding.SEED_HASH
            now = datetime.now(UTC)
            given = {"nickname": name, "first_name": "New", "last_name": f"User{seq}"}
            meta = [(k, given.get(k, v)) for k, v in SITE_DEFAULTS] + [
                ("wp_capabilities", seeding.CAPS_SUBSCRIBER),
                ("wp_user_level", "0"),
                ("wpscim_externalId", f"00x{run_id}r{seq}"),
                ("wpscim_meta.lastModified", now.strftime("%Y-%m-%dT%H:%M:%SZ")),
                ("wpscim_emails", json.dumps([{"primary": True, "value": name, "type": "work"}], separators=(",", ":"))),
            ]
            nicename = name.replace("@", "").replace(".", "-")[:50]
            with w.client.transaction() as cur:
                if checked:  # what wp_insert_user() asks (login, email, nicename) and wpscim adds, under named locks
                    cur.execute("SELECT GET_LOCK(%s, 10) + GET_LOCK(%s, 10)", (f"bench:{name}", f"bench:email:{name}"))
                    cur.execute(
                        "SELECT 1 FROM wp_users WHERE user_login = %s UNION ALL SELECT 1 FROM wp_usermeta WHERE "
                        "meta_key = 'wpscim_userName' AND meta_value = %s UNION ALL SELECT 1 FROM wp_users WHERE "
                        "user_email = %s UNION ALL SELECT 1 FROM wp_users WHERE user_nicename = %s",
                        (name, name, name, nicename),
                    )
                    if cur.fetchall():
                        raise BenchError(f"{name} is taken")
                row = {
                    "user_login": name,
                    "user_email": name,
                    "user_nicename": nicename,
                    "display_name": f"New User{seq}",
                    "user_url": "",
                    "user_registered": now.strftime("%Y-%m-%d %H:%M:%S"),
                }
                cur.execute(
                    "INSERT INTO wp_users (user_login, user_pass, user_nicename, user_email, user_url, user_registered, "
                    "user_activation_key, display_name) VALUES (%s, %s, %s, %s, '', %s, '', %s)",
                    (name, user_pass, nicename, name, row["user_registered"], row["display_name"]),
                )
                uid = cur.lastrowid
                event = events.params(
                    actor,
                    "create",
                    "User",
                    uid,
                    sorted((*attributes, *(("password",) if pw else ()))),
                    {"after": events.snapshot(None, row, given, roles)},
                )
                events.with_event(
                    cur,
                    "INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES " + ", ".join(["(%s, %s, %s)"] * len(meta)),
                    [v for k, value in meta for v in (uid, k, value)],
                    event,
                )
            if checked:
                with w.client.conn.cursor() as cur:
                    cur.execute("DO RELEASE_ALL_LOCKS()")

        return op

    clients = bench.args.clients
    bench.compare("create", "create (no password)", clients, http_create(bench), sql_create(False))
    bench.compare(
        "create_checked",
        "create (no password) vs raw SQL that also checks uniqueness",
        clients,
        http_create(bench, side="v"),
        sql_create(False, checked=True),
    )
    bench.compare("create_password", "create (with password)", clients, http_create(bench, pw=True), sql_create(True))

    # -- the hash alone, in client threads --

    log(f"password hashing alone ({clients} threads)")
    workers = [Worker(i, None, random.Random(i)) for i in range(clients)]
    hashing = Result()
    seq = Sequence()
    for _ in range(bench.args.rounds):
        hashing.add(run_phase(workers, lambda w, n: hash_password(PASSWORD, db_version), bench.args.seconds, seq, None))
    scheme = "bcrypt $wp$" if uses_wp_bcrypt(db_version) else "phpass $P$"
    bench.result.rows["hash"] = Row("hash", f"password hash alone ({scheme}, in client threads)", clients, None, hashing, unit="hashes/s")
