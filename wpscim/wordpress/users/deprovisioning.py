"""Deactivation (a reversible suspension), reactivation, and deletion as wp_delete_user() does it."""

from __future__ import annotations

import logging

from wpscim.wordpress import passwords
from wpscim.wordpress.db import Transaction
from wpscim.wordpress.errors import Conflict
from wpscim.wordpress.mapping import SUSPENDED_APP_PASSWORDS_META, SUSPENDED_PASS_META
from wpscim.wordpress.roles import parse_caps
from wpscim.wordpress.site import Site

log = logging.getLogger("wpscim")


def end_sessions(site: Site, user_id: int) -> tuple[str, list]:
    return f"DELETE FROM {site.usermeta} WHERE user_id = %s AND meta_key = 'session_tokens'", [user_id]


def suspension(site: Site, user_id: int) -> list[tuple[str, list]]:
    """The user can no longer log in: real hash set aside (copied within MySQL: it never reaches
    wpscim), unusable one in place, sessions ended, application passwords set aside, reset keys
    cleared, multisite `spam` set. Reversible."""
    spam = ", spam = 1" if site.multisite else ""
    return [
        (
            f"INSERT INTO {site.usermeta} (user_id, meta_key, meta_value) SELECT ID, %s, user_pass FROM {site.users} WHERE ID = %s",
            [SUSPENDED_PASS_META, user_id],
        ),
        (
            f"UPDATE {site.users} SET user_pass = %s, user_activation_key = ''{spam} WHERE ID = %s",
            [passwords.unusable_hash(site.db_version), user_id],
        ),
        end_sessions(site, user_id),
        (
            f"UPDATE {site.usermeta} SET meta_key = %s WHERE user_id = %s AND meta_key = '_application_passwords'",
            [SUSPENDED_APP_PASSWORDS_META, user_id],
        ),
    ]


def restoration(site: Site, user_id: int) -> list[tuple[str, list]]:
    """Undo suspension(): the hash set aside (its first row) back in place, application passwords back."""
    spam = ", spam = 0" if site.multisite else ""
    return [
        (
            f"UPDATE {site.users} SET user_pass = (SELECT meta_value FROM {site.usermeta} WHERE user_id = %s "
            f"AND meta_key = %s ORDER BY umeta_id LIMIT 1){spam} WHERE ID = %s",
            [user_id, SUSPENDED_PASS_META, user_id],
        ),
        (f"DELETE FROM {site.usermeta} WHERE user_id = %s AND meta_key = %s", [user_id, SUSPENDED_PASS_META]),
        (
            f"UPDATE {site.usermeta} SET meta_key = '_application_passwords' WHERE user_id = %s AND meta_key = %s",
            [user_id, SUSPENDED_APP_PASSWORDS_META],
        ),
    ]


class Deletion:
    """wp_delete_user() with reassignment: posts and links go to the keeper, then usermeta and the row."""

    def __init__(self, site: Site, reassign_to):
        """`reassign_to`: a user ID, None (the lowest-ID administrator), or a callable answering either."""
        self.site = site
        self.reassign_to = reassign_to
        self._content_tables: list[tuple[str, str]] | None = None

    def _content_owner_tables(self, tx: Transaction) -> list[tuple[str, str, str, int]]:
        """(table, owner column, key column, blog ID) of every posts and links table whose rows must be
        reassigned."""
        if self._content_tables is None:
            blogs = {self.site.base_prefix: 1}
            if self.site.multisite:
                tx.execute(
                    "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
                    (f"{self.site.base_prefix}blogs",),
                )
                if tx.fetchone():
                    tx.execute(f"SELECT blog_id FROM `{self.site.base_prefix}blogs` WHERE blog_id <> 1")
                    blogs |= {f"{self.site.base_prefix}{row[0]}_": int(row[0]) for row in tx.fetchall()}
            wanted = {f"{p}posts": ("post_author", "ID", blog) for p, blog in blogs.items()}
            wanted |= {f"{p}links": ("link_owner", "link_id", blog) for p, blog in blogs.items()}
            tx.execute(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ("
                + ", ".join(["%s"] * len(wanted))
                + ")",
                list(wanted),
            )
            existing = {row[0] for row in tx.fetchall()}
            self._content_tables = [(t, *w) for t, w in wanted.items() if t in existing]
        return self._content_tables

    def keeper(self, tx: Transaction, user_id: int) -> int | None:
        """--reassign-to (when that user exists), else the lowest-ID administrator of this site (on a
        network, then of the main site)."""
        reassign_to = self.reassign_to() if callable(self.reassign_to) else self.reassign_to
        if reassign_to is not None:
            tx.execute(f"SELECT ID FROM {self.site.users} WHERE ID = %s LOCK IN SHARE MODE", (reassign_to,))
            if tx.fetchone() is not None:
                return reassign_to
            # Offboarding must not wait for a setting to be mended, and posts must not go to no one.
            log.warning(
                "user %s, who should receive deleted users' posts, does not exist: they go to the lowest-ID administrator", reassign_to
            )
        keys = [self.site.capabilities_key]
        if self.site.multisite and self.site.blog_id != 1:
            keys.append(f"{self.site.base_prefix}capabilities")
        for key in keys:
            tx.execute(
                f"SELECT user_id, meta_value FROM {self.site.usermeta} WHERE meta_key = %s AND meta_value LIKE %s "
                "AND user_id <> %s ORDER BY user_id",
                (key, '%"administrator"%', user_id),
            )
            for candidate, value in tx.fetchall():
                if parse_caps(value).get("administrator"):
                    return candidate
        return None

    def delete(self, tx: Transaction, user_id: int) -> tuple[int | None, dict]:
        """Delete the user, reassigning its content. Returns who received it (None: it owned none and
        there was no one to give it to), and what was reassigned — {"posts"|"links": {blog ID: [IDs]}} —
        whose cached copies name the deleted user (wp_delete_user() cleans them)."""
        keeper = self.keeper(tx, user_id)
        if keeper == user_id:
            raise Conflict(f"user {user_id} receives deleted users' posts (--reassign-to) and cannot be deleted", uniqueness=False)
        reassigned: dict[str, dict[str, list[int]]] = {}
        for table, column, key, blog in self._content_owner_tables(tx):
            tx.execute(f"SELECT `{key}` FROM `{table}` WHERE `{column}` = %s", (user_id,))
            ids = [row[0] for row in tx.fetchall()]
            if not ids:
                continue
            if keeper is None:
                raise Conflict(
                    f"user {user_id} owns content and there is no administrator to receive it; set --reassign-to", uniqueness=False
                )
            tx.execute(f"UPDATE `{table}` SET `{column}` = %s WHERE `{column}` = %s", (keeper, user_id))
            reassigned.setdefault("posts" if column == "post_author" else "links", {})[str(blog)] = ids
        tx.execute(f"DELETE FROM {self.site.usermeta} WHERE user_id = %s", (user_id,))
        tx.execute(f"DELETE FROM {self.site.users} WHERE ID = %s", (user_id,))
        return keeper, reassigned
