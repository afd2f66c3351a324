"""Which WordPress we are writing to: table names, version, single site or network, and its roles."""

from __future__ import annotations

import importlib.resources
import re
import secrets
from dataclasses import dataclass

import phpserialize

from wpscim.wordpress.db import Database

_PREFIX = re.compile(r"^[A-Za-z0-9_]+$")

# wp_db_version thresholds for version-dependent usermeta defaults.
WP_70_DB_VERSION = 60718  # first after 6.9 (60717): admin_color 'modern'
WP_71_DB_VERSION = 61833  # infinite_scrolling


class NoWordPressTables(Exception):
    pass


@dataclass(frozen=True)
class Site:
    base_prefix: str
    blog_id: int
    multisite: bool
    db_version: int
    meta_value_index: bool = False  # `wpscim index create` was applied (seen at start-up)

    @property
    def prefix(self) -> str:
        """The per-site prefix: wp_ for site 1, wp_2_ for site 2 (roles, capabilities, options, posts)."""
        return self.base_prefix if self.blog_id == 1 else f"{self.base_prefix}{self.blog_id}_"

    @property
    def users(self) -> str:
        return f"`{self.base_prefix}users`"

    @property
    def usermeta(self) -> str:
        return f"`{self.base_prefix}usermeta`"

    @property
    def options(self) -> str:
        return f"`{self.prefix}options`"

    @property
    def network_options(self) -> str:
        return f"`{self.base_prefix}options`"

    @property
    def capabilities_key(self) -> str:
        return f"{self.prefix}capabilities"

    @property
    def user_level_key(self) -> str:
        return f"{self.prefix}user_level"

    def usermeta_defaults(self) -> list[tuple[str, str]]:
        """The rows wp_insert_user() writes, in its order, before nickname/names/locale are filled in."""
        rows = [
            ("nickname", ""),
            ("first_name", ""),
            ("last_name", ""),
            ("description", ""),
            ("rich_editing", "true"),
            ("syntax_highlighting", "true"),
        ]
        if self.db_version >= WP_71_DB_VERSION:
            rows.append(("infinite_scrolling", "true"))
        rows += [
            ("comment_shortcuts", "false"),
            ("admin_color", "modern" if self.db_version >= WP_70_DB_VERSION else "fresh"),
            ("use_ssl", "0"),
            ("show_admin_bar_front", "true"),
            ("locale", ""),
        ]
        return rows


def secret_option(db: Database, site: Site, name: str) -> str:
    """A random secret kept in the option `name`, made on first use. Read first: a database that
    refuses writes (read-only after a failover, a full disk) still gives one that exists."""
    with db.reading() as session:
        session.execute(f"SELECT option_value FROM {site.options} WHERE option_name = %s", (name,))
        row = session.fetchone()
    if row and row[0]:
        return row[0]
    with db.transaction() as tx:
        tx.execute(
            f"INSERT IGNORE INTO {site.options} (option_name, option_value, autoload) VALUES (%s, %s, 'no')",
            (name, secrets.token_hex(32)),
        )
        tx.execute(f"SELECT option_value FROM {site.options} WHERE option_name = %s", (name,))
        return tx.fetchone()[0]


def sql_file(name: str) -> str:
    """One of the SQL files wpscim ships (sql/ in the repository, wpscim.sql when installed)."""
    return (importlib.resources.files("wpscim.sql") / name).read_text(encoding="utf-8")


def check_prefix(prefix: str) -> str:
    if not _PREFIX.match(prefix):
        raise ValueError(f"table prefix {prefix!r} may only hold letters, digits and underscores")
    return prefix


def _tables(cursor, names: list[str]) -> set[str]:
    cursor.execute(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ("
        + ", ".join(["%s"] * len(names))
        + ")",
        names,
    )
    return {row[0] for row in cursor.fetchall()}


def detect(db: Database, base_prefix: str, blog_id: int = 1) -> Site:
    check_prefix(base_prefix)
    with db.reading() as cursor:
        found = _tables(cursor, [f"{base_prefix}users", f"{base_prefix}usermeta", f"{base_prefix}options", f"{base_prefix}blogs"])
        if not {f"{base_prefix}users", f"{base_prefix}usermeta", f"{base_prefix}options"} <= found:
            raise NoWordPressTables(
                f"no WordPress tables with prefix '{base_prefix}' in this database (use --init-schema to create them, or --table-prefix)"
            )
        cursor.execute(f"SHOW COLUMNS FROM `{base_prefix}users` LIKE 'spam'")
        multisite = cursor.fetchone() is not None or f"{base_prefix}blogs" in found
        cursor.execute(f"SELECT option_value FROM `{base_prefix}options` WHERE option_name = 'db_version' LIMIT 1")
        row = cursor.fetchone()
        db_version = int(row[0]) if row and str(row[0]).isdigit() else 0
        cursor.execute(
            "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s AND INDEX_NAME = %s",
            (f"{base_prefix}usermeta", INDEX_NAME),
        )
        indexed = cursor.fetchone()[0] > 0
    if blog_id != 1 and not multisite:
        raise ValueError(f"--blog-id {blog_id} given, but this WordPress is not a multisite network")
    return Site(base_prefix, blog_id, multisite, db_version, indexed)


def init_schema(db: Database, base_prefix: str) -> bool:
    """Create WordPress 6.1's own tables, default roles and wpscim's change log when absent. Returns
    True if it created WordPress's tables (a brand-new site)."""
    check_prefix(base_prefix)
    with db.transaction() as cursor:
        if f"{base_prefix}users" in _tables(cursor, [f"{base_prefix}users"]):
            return False
        # wpdb's session sql_mode: WordPress's '0000-00-00 00:00:00' defaults fail under NO_ZERO_DATE.
        cursor.execute("SET @wpscim_sql_mode = @@SESSION.sql_mode, SESSION sql_mode = ''")
        try:
            for name in ("wordpress-schema.sql", "wordpress-options.sql", "wpscim-events.sql"):
                for statement in _statements(sql_file(name).replace("{prefix}", base_prefix)):
                    cursor.execute(statement)
        finally:
            cursor.execute("SET SESSION sql_mode = @wpscim_sql_mode")
    return True


def upgrade(db: Database, site: Site) -> list[str]:
    """`wpscim upgrade`: create what this version of wpscim needs beside WordPress's tables (its
    change log) where it is missing. Idempotent; returns what it created."""
    created = []
    table = f"{site.prefix}wpscim_events"
    with db.transaction() as cursor:
        if table not in _tables(cursor, [table]):
            for statement in _statements(sql_file("wpscim-events.sql").replace("{prefix}", site.prefix)):
                cursor.execute(statement)
            created.append(f"table {table} (the change log)")
    return created


def missing_tables(db: Database, site: Site) -> list[str]:
    """wpscim's own tables this site lacks (`wpscim upgrade` creates them)."""
    table = f"{site.prefix}wpscim_events"
    with db.reading() as cursor:
        return [] if table in _tables(cursor, [table]) else [table]


INDEX_NAME = "wpscim_meta_key_value"


def lookup_index(db: Database, site: Site, action: str) -> str:
    """`wpscim index create|drop|status`: the optional usermeta (meta_key, meta_value) index."""
    table = f"{site.base_prefix}usermeta"
    with db.transaction() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s AND INDEX_NAME = %s",
            (table, INDEX_NAME),
        )
        present = cursor.fetchone()[0] > 0
        if action == "create" and not present:
            for statement in _statements(sql_file("wpscim-indexes.sql").replace("{prefix}", site.base_prefix)):
                cursor.execute(statement)
            return f"created index {INDEX_NAME} on {table}"
        if action == "drop" and present:
            cursor.execute(f"DROP INDEX {INDEX_NAME} ON `{table}`")
            return f"dropped index {INDEX_NAME} from {table}"
    return f"index {INDEX_NAME} on {table}: {'present' if present else 'absent'}"


def _statements(text: str) -> list[str]:
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";\n") if s.strip().rstrip(";").strip()]


# --- PHP serialization (capabilities, role definitions) ---------------------------------------


def unserialize(value: str | bytes):
    data = value.encode("utf-8") if isinstance(value, str) else value
    return phpserialize.loads(data, decode_strings=True)


def serialize(value) -> str:
    return phpserialize.dumps(value).decode("utf-8")


def check_mapping_against_database(db: Database, site: Site, user_mapping) -> list[str]:
    """What a mapping file will meet in this database: usermeta keys already in use, column lengths,
    and attributes whose values still sit only in wpscim's JSON residue."""
    lines = []
    with db.reading() as cursor:
        for f in user_mapping.fields:
            if f.meta_key and not f.meta_key.startswith("wpscim_"):
                cursor.execute(f"SELECT COUNT(DISTINCT user_id) FROM {site.usermeta} WHERE meta_key = %s", (f.meta_key,))
                users = cursor.fetchone()[0]
                lines.append(f"info: {f.scim} -> usermeta {f.meta_key}: already set for {users} users")
            elif f.column:
                cursor.execute(
                    "SELECT CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                    "AND TABLE_NAME = %s AND COLUMN_NAME = %s",
                    (f"{site.base_prefix}users", f.column),
                )
                row = cursor.fetchone()
                if row is None:
                    lines.append(f"error: {f.scim} -> users.{f.column}: no such column in {site.base_prefix}users")
                elif row[0] is not None and f.column == "user_login":
                    lines.append(
                        f"info: {f.scim} -> users.{f.column}: holds at most {row[0]} characters; a longer {f.scim} gets a "
                        f"shortened unique login, the exact value kept in usermeta wpscim_{f.scim}"
                    )
                elif row[0] is not None:  # a text column (user_registered, a date, has no length)
                    lines.append(f"info: {f.scim} -> users.{f.column}: holds at most {row[0]} characters; longer values are refused")
            residue = "wpscim_" + (f.path.urn if f.path.urn else f.path.attr)
            if f.meta_key and not f.meta_key.startswith("wpscim_") and residue not in ("wpscim_name",):
                cursor.execute(
                    f"SELECT COUNT(*) FROM {site.usermeta} r WHERE r.meta_key = %s AND NOT EXISTS "
                    f"(SELECT 1 FROM {site.usermeta} m WHERE m.user_id = r.user_id AND m.meta_key = %s AND m.meta_value <> '')",
                    (residue, f.meta_key),
                )
                waiting = cursor.fetchone()[0]
                if waiting:
                    lines.append(
                        f"note: {waiting} users have {f.scim} only in usermeta {residue}; it stays readable, "
                        f"and moves to {f.meta_key} when the IdP sends it again (README: moving attributes)"
                    )
    return lines
