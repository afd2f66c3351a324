"""Seed a WordPress database with N subscribers shaped exactly like the rows wpscim writes.

The schema comes from wpscim's own `init_schema` (WordPress 6.1's tables, options and roles). Users
are written with large multi-row INSERTs built here: for user i,

  wp_users     ID=i, user_login=benchuser<i>, user_email=benchuser<i>@example.com,
               user_nicename=benchuser<i>, display_name="Given<i> Family<i>", a phpass-shaped hash
  wp_usermeta  the rows wp_insert_user() writes (nickname … locale, in WordPress's order), then
               wp_capabilities a:1:{s:10:"subscriber";b:1;}, wp_user_level 0, wpscim_externalId,
               wpscim_meta.lastModified and wpscim_emails, in the order a SCIM create writes them
               (16 rows per user, contiguous umeta_ids)

Every value is generated ASCII without quotes or backslashes, so the statements are formatted
directly (escaping 1.6 M values through PyMySQL would dominate seeding time). 100,000 users take
~15-30 s on a 2-core machine.

The option `wpscim_bench_seed` records the size, so `--reuse` can tell a complete seed from a
half-finished one; `reset()` undoes what a benchmark run changes (created users, suspensions,
renames, role changes, change events) so a reused database starts each run in the same state.
"""

from __future__ import annotations

import time

import pymysql

from .wpscim_api import Database, DatabaseAddress, detect, init_schema

SEED_MARKER = "wpscim_bench_seed"
SEED_VERSION = "1"
SEED_HASH = "$P$BbenchbenchbenchbenchbenchbenC"  # phpass-shaped, 34 chars; nobody's password
REGISTERED = "2024-01-02 03:04:05"
LAST_MODIFIED = "2024-01-02T03:04:05Z"
CAPS_SUBSCRIBER = 'a:1:{s:10:"subscriber";b:1;}'
BATCH_USERS = 2000


def login(i: int) -> str:
    return f"benchuser{i}"


def email(i: int) -> str:
    return f"benchuser{i}@example.com"


def external_id(i: int) -> str:
    """Okta-style 20-character ids (00u…)."""
    return f"00u{i:017x}"


def given(i: int) -> str:
    return f"Given{i}"


def family(i: int) -> str:
    return f"Family{i}"


def emails_json(i: int) -> str:
    return f'[{{"value":"{email(i)}","primary":true,"type":"work"}}]'


def meta_rows(site, i: int) -> list[tuple[str, str]]:
    """The usermeta rows of seeded user i, in the order wpscim's create writes them."""
    given_values = {"nickname": login(i), "first_name": given(i), "last_name": family(i)}
    rows = [(key, given_values.get(key, default)) for key, default in site.usermeta_defaults()]
    rows += [
        (site.capabilities_key, CAPS_SUBSCRIBER),
        (site.user_level_key, "0"),
        ("wpscim_externalId", external_id(i)),
        ("wpscim_meta.lastModified", LAST_MODIFIED),
        ("wpscim_emails", emails_json(i)),
    ]
    return rows


def server_args(address: DatabaseAddress) -> dict:
    args = address.connect_args()
    args.pop("database", None)
    args["autocommit"] = True
    return args


def connect(address: DatabaseAddress, database: str | None = None):
    args = server_args(address)
    if database:
        args["database"] = database
    return pymysql.connect(**args)


def seeded_size(address: DatabaseAddress) -> int | None:
    """The size recorded by a complete seed of `address.database`, or None."""
    with connect(address) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = 'wp_options'", (address.database,))
        if cur.fetchone() is None:
            return None
        cur.execute(f"SELECT option_value FROM `{address.database}`.wp_options WHERE option_name = %s", (SEED_MARKER,))
        row = cur.fetchone()
    if not row or not row[0].startswith(SEED_VERSION + ":"):
        return None
    return int(row[0].split(":", 1)[1])


def drop(address: DatabaseAddress) -> None:
    with connect(address) as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{address.database}`")


def seed(address: DatabaseAddress, users: int, log=print) -> float:
    """Drop and recreate `address.database`, create WordPress's schema, insert `users` subscribers.
    Returns the seconds it took."""
    started = time.perf_counter()
    drop(address)
    with connect(address) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{address.database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    db = Database(address, max_connections=1)
    try:
        init_schema(db, "wp_")
        site = detect(db, "wp_")
    finally:
        db.close()
    with connect(address, address.database) as conn, conn.cursor() as cur:
        cur.execute("SET SESSION unique_checks = 0, SESSION foreign_key_checks = 0")
        umeta_id = 0
        for first in range(1, users + 1, BATCH_USERS):
            ids = range(first, min(first + BATCH_USERS, users + 1))
            cur.execute("BEGIN")
            cur.execute(
                "INSERT INTO wp_users (ID, user_login, user_pass, user_nicename, user_email, user_url, user_registered, "
                "user_activation_key, user_status, display_name) VALUES "
                + ",".join(
                    f"({i},'{login(i)}','{SEED_HASH}','{login(i)}','{email(i)}','','{REGISTERED}','',0,'{given(i)} {family(i)}')"
                    for i in ids
                )
            )
            values = []
            for i in ids:
                for key, value in meta_rows(site, i):
                    umeta_id += 1
                    values.append(f"({umeta_id},{i},'{key}','{value}')")
            cur.execute("INSERT INTO wp_usermeta (umeta_id, user_id, meta_key, meta_value) VALUES " + ",".join(values))
            cur.execute("COMMIT")
        cur.execute(
            "INSERT INTO wp_options (option_name, option_value, autoload) VALUES (%s, %s, 'no') "
            "ON DUPLICATE KEY UPDATE option_value = VALUES(option_value)",
            (SEED_MARKER, f"{SEED_VERSION}:{users}"),
        )
        cur.execute("ANALYZE TABLE wp_users, wp_usermeta")
        cur.fetchall()
    seconds = time.perf_counter() - started
    log(f"seeded {users} users into {address.database} in {seconds:.1f} s")
    return seconds


def reset(address: DatabaseAddress, users: int, log=print) -> float:
    """Put a reused seed back in its seeded state: drop users a previous run created, undo
    suspensions, PUT renames and role changes of seeded users. Returns the seconds it took."""
    started = time.perf_counter()
    db = Database(address, max_connections=1)
    try:
        site = detect(db, "wp_")
    finally:
        db.close()
    with connect(address, address.database) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM wp_usermeta WHERE user_id > %s", (users,))
        cur.execute("DELETE FROM wp_users WHERE ID > %s", (users,))
        cur.execute("DELETE FROM wp_usermeta WHERE meta_key LIKE 'wpscim\\_\\_%%'")
        cur.execute("UPDATE wp_users SET user_pass = %s WHERE user_pass <> %s", (SEED_HASH, SEED_HASH))
        cur.execute(
            "UPDATE wp_users SET display_name = CONCAT('Given', ID, ' Family', ID) WHERE display_name <> CONCAT('Given', ID, ' Family', ID)"
        )
        for key, prefix in (("first_name", "Given"), ("last_name", "Family")):
            cur.execute(
                f"UPDATE wp_usermeta SET meta_value = CONCAT('{prefix}', user_id) "
                f"WHERE meta_key = %s AND meta_value <> CONCAT('{prefix}', user_id)",
                (key,),
            )
        cur.execute(
            "UPDATE wp_usermeta SET meta_value = %s WHERE meta_key = %s AND meta_value <> %s",
            (CAPS_SUBSCRIBER, site.capabilities_key, CAPS_SUBSCRIBER),
        )
        cur.execute("UPDATE wp_usermeta SET meta_value = '0' WHERE meta_key = %s AND meta_value <> '0'", (site.user_level_key,))
        cur.execute(
            "UPDATE wp_usermeta SET meta_value = %s WHERE meta_key = 'wpscim_meta.lastModified' AND meta_value <> %s",
            (LAST_MODIFIED, LAST_MODIFIED),
        )
        cur.execute("DELETE FROM wp_usermeta WHERE meta_key = 'session_tokens'")
        cur.execute("TRUNCATE TABLE wp_wpscim_events")  # wpscim's and the references' change events
    seconds = time.perf_counter() - started
    log(f"reset the reused seed {address.database} in {seconds:.1f} s")
    return seconds
