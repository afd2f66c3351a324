"""The WordPress oracle itself works: a real WordPress 6.1 answers through php.

Needs MariaDB/MySQL at WPSCIM_TEST_DATABASE_URL (default mysql://root@127.0.0.1:3306/) and
php-cli, php-mysql and Debian's wordpress package.  Nothing here skips: a missing piece fails.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pymysql
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wordpress_oracle import WordPressOracle, WordPressOracleError  # noqa: E402

pytestmark = pytest.mark.oracle


def _server() -> dict:
    url = urlparse(os.environ.get("WPSCIM_TEST_DATABASE_URL", "mysql://root@127.0.0.1:3306/"))
    return {
        "host": url.hostname or "127.0.0.1",
        "port": url.port or 3306,
        "user": unquote(url.username or "root"),
        "password": unquote(url.password or ""),
    }


@pytest.fixture
def fresh_db():
    """A new, empty database on the test server; dropped afterwards. Yields (server, name)."""
    server = _server()
    name = f"wpscim_test_oracle_{secrets.token_hex(4)}"
    conn = pymysql.connect(**server, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci")
        yield server, name
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


@pytest.fixture
def oracle(fresh_db):
    server, name = fresh_db
    return WordPressOracle(server["host"], server["port"], server["user"], server["password"], name)


@pytest.fixture
def installed(oracle):
    info = oracle.install(admin_login="admin", admin_email="admin@example.com", admin_password="admin-pw", title="Oracle test")
    return oracle, info


def test_install_into_fresh_database(installed, fresh_db):
    oracle, info = installed
    assert info["db_version"] == 53496
    assert info["user_id"] == 1
    assert oracle.option("db_version") == "53496"
    assert oracle.option("default_role") == "subscriber"
    assert oracle.option("siteurl") == "http://localhost"
    roles = oracle.roles()
    assert roles["default_role"] == "subscriber"
    assert set(roles["roles"]) == {"administrator", "editor", "author", "contributor", "subscriber"}
    admin = oracle.get_user(1)
    assert admin["exists"] and admin["roles"] == ["administrator"] and admin["user_level"] == 10
    assert oracle.user_can(1, "manage_options")
    # WordPress really wrote the tables into the database we gave it.
    server, name = fresh_db
    conn = pymysql.connect(**server, database=name)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT user_login FROM wp_users")
            assert cur.fetchall() == (("admin",),)
    finally:
        conn.close()


def test_insert_user_and_authenticate(installed):
    oracle, _ = installed
    r = oracle.insert_user(
        {"user_login": "bob", "user_email": "bob@example.com", "user_pass": "correct horse", "first_name": "Bob", "role": "editor"}
    )
    uid = r["id"]
    assert uid > 1

    ok = oracle.authenticate("bob", "correct horse")
    assert ok == {"ok": True, "error": None, "user_id": uid, "user_pass": ok["user_pass"]}
    assert oracle.authenticate("bob@example.com", "correct horse")["user_id"] == uid
    bad = oracle.authenticate("bob", "wrong horse")
    assert bad["ok"] is False and bad["error"] == "incorrect_password" and bad["user_id"] is None
    assert oracle.authenticate("nobody", "x")["error"] == "invalid_username"

    user = oracle.get_user(uid)
    assert (user["user_login"], user["display_name"], user["roles"], user["user_level"]) == ("bob", "Bob", ["editor"], 7)
    assert oracle.user_can(uid, "edit_others_posts") and not oracle.user_can(uid, "manage_options")

    rows = oracle.user_meta_rows(uid)
    keys = [k for k, _ in rows["meta"]]
    assert keys == [
        "nickname",
        "first_name",
        "last_name",
        "description",
        "rich_editing",
        "syntax_highlighting",
        "comment_shortcuts",
        "admin_color",
        "use_ssl",
        "show_admin_bar_front",
        "locale",
        "wp_capabilities",
        "wp_user_level",
    ]
    assert dict(rows["meta"])["wp_capabilities"] == 'a:1:{s:6:"editor";b:1;}'
    assert rows["user"]["user_login"] == "bob" and rows["user"]["user_status"] == "0"

    dup = oracle.insert_user({"user_login": "BOB", "user_email": "x@example.com", "user_pass": "p"})
    assert dup["error"] == "existing_user_login"

    assert oracle.delete_user(uid, reassign=1)
    assert oracle.get_user(uid)["exists"] is False
    assert oracle.user_meta_rows(uid) == {"meta": [], "user": None}


def test_passwords(installed):
    oracle, _ = installed
    h = oracle.hash_password("s3cret")
    assert re.fullmatch(r"\$P\$B[./0-9A-Za-z]{30}", h)  # phpass portable on 6.1: salt 8 + hash 22
    assert oracle.check_password("s3cret", h)
    assert not oracle.check_password("S3cret", h)
    # A 6.8+ hash: '$wp' + bcrypt(base64(hmac-sha384(trim(pw), 'wp-sha384'))).
    import base64
    import hashlib
    import hmac

    import bcrypt

    pre = base64.b64encode(hmac.new(b"wp-sha384", b"s3cret", hashlib.sha384).digest())
    wp68 = "$wp" + bcrypt.hashpw(pre, bcrypt.gensalt(10)).decode().replace("$2b$", "$2y$", 1)
    assert oracle.password_verify_wp(" s3cret ", wp68)  # 6.8 trims the password
    assert not oracle.password_verify_wp("other", wp68)
    assert not oracle.check_password("s3cret", wp68)  # 6.1 cannot verify $wp$ hashes


def test_sessions(installed):
    oracle, _ = installed
    assert oracle.session_count(1) == 0
    token = oracle.create_session(1)
    assert len(token) == 43
    oracle.create_session(1)
    assert oracle.session_count(1) == 2


def test_errors_are_loud(oracle):
    # Database exists but WordPress is not installed: WordPress dies, we raise with its output.
    with pytest.raises(WordPressOracleError, match="not installed"):
        oracle.get_user(1)
    with pytest.raises(WordPressOracleError, match="unknown op"):
        oracle.request("no_such_op", installing=True)


SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
WP_TABLES = [
    "users",
    "usermeta",
    "options",
    "posts",
    "postmeta",
    "comments",
    "commentmeta",
    "terms",
    "term_taxonomy",
    "term_relationships",
    "termmeta",
    "links",
]


def _run_sql_file(conn, filename: str, prefix: str) -> None:
    text = (SQL_DIR / filename).read_text().replace("{prefix}", prefix)
    with conn.cursor() as cur:
        for stmt in text.split(";\n"):
            if stmt.strip():
                cur.execute(stmt)


def test_sql_files_match_a_real_install(installed, fresh_db):
    """sql/wordpress-schema.sql + sql/wordpress-options.sql give what wp_install() gives."""
    oracle, _ = installed
    server, name = fresh_db
    conn = pymysql.connect(**server, database=name, autocommit=True)
    try:
        with conn.cursor() as cur:
            # What wpdb::set_sql_mode() does to the session (the zero-date defaults need it).
            cur.execute("SET SESSION sql_mode = ''")
        _run_sql_file(conn, "wordpress-schema.sql", "wpx_")
        _run_sql_file(conn, "wordpress-schema.sql", "wpx_")  # IF NOT EXISTS: idempotent
        _run_sql_file(conn, "wordpress-options.sql", "wpx_")
        _run_sql_file(conn, "wordpress-options.sql", "wpx_")  # INSERT IGNORE: idempotent
        with conn.cursor() as cur:
            for table in WP_TABLES:
                cur.execute(f"SHOW CREATE TABLE wp_{table}")
                real = re.sub(r" AUTO_INCREMENT=\d+", "", cur.fetchone()[1])
                cur.execute(f"SHOW CREATE TABLE wpx_{table}")
                ours = re.sub(r" AUTO_INCREMENT=\d+", "", cur.fetchone()[1]).replace("`wpx_", "`wp_")
                assert ours == real, table
            cur.execute("SELECT option_name, option_value, autoload FROM wpx_options ORDER BY option_id")
            ours = {n.replace("wpx_", "wp_"): (v, a) for n, v, a in cur.fetchall()}
            assert len(ours) == 7
            cur.execute("SELECT option_name, option_value, autoload FROM wp_options")
            real = {n: (v, a) for n, v, a in cur.fetchall()}
            for key, (value, autoload) in ours.items():
                if key in ("blogname", "admin_email"):
                    assert autoload == real[key][1]
                else:
                    assert (value, autoload) == real[key], key
    finally:
        conn.close()

    # WordPress runs on the SQL-file database and uses it like its own.
    ours = WordPressOracle(server["host"], server["port"], server["user"], server["password"], name, prefix="wpx_")
    assert ours.roles() == oracle.roles()
    uid = ours.insert_user({"user_login": "carol", "user_email": "carol@example.com", "user_pass": "pw-carol"})["id"]
    assert uid == 1
    assert ours.authenticate("carol", "pw-carol")["user_id"] == uid
    assert ours.get_user(uid)["roles"] == ["subscriber"]
    assert ours.user_meta_rows(uid)["meta"][-2:] == [["wpx_capabilities", 'a:1:{s:10:"subscriber";b:1;}'], ["wpx_user_level", "0"]]
