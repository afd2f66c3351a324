"""SCIM never leaves a site without an administrator who can log in, whatever the flags: a change that
would take administration or the ability to log in from the last such user is refused.

An administrator is a user whose capabilities grant a role that has `manage_options` (WordPress's
administrator), or `manage_options` itself; on a network also a super admin (`site_admins`). One who
can log in is not suspended by wpscim (no `wpscim__suspended_pass`) nor marked as spam. Changes that
could take the last one away (deactivation, deletion, removal of an administrator role, deletion of
such a role) first take one named lock per site and count the administrators who remain, so two such
changes never both pass; the lock is held until the COMMIT.

Nor does SCIM change how an administrator signs in (password, e-mail, userName) unless the site allows it
(`--allow-administrator-credentials`): a provisioning token that could would own every administrator's
account, and a site's administrators are usually its own, not its identity provider's. The same holds for
a user with any capability that administers the site or its administrators (ADMINISTERING_CAPABILITIES:
`edit_users` sets any user's password, `promote_users` gives any role …), through a role or its own.
"""

from __future__ import annotations

from collections.abc import Iterable

from wpscim.wordpress.db import Transaction
from wpscim.wordpress.errors import Conflict, Forbidden
from wpscim.wordpress.mapping import SUSPENDED_PASS_META
from wpscim.wordpress.roles import (
    ADMIN_CAPABILITY,
    Roles,
    administers,
    administers_or_manages_administrators,
    administrator_roles,
    parse_caps,
)
from wpscim.wordpress.site import Site, unserialize


class AdministratorGuard:
    def __init__(self, site: Site, lock_scope: str):
        self.site = site
        self._lock = f"{lock_scope}/administrators"

    def keep_one(self, tx: Transaction, roles: Roles, losing: set[int], change: str) -> None:
        """Refuse (Conflict) `change` if it leaves no administrator who can log in besides `losing`."""
        if not losing:
            return
        tx.lock([self._lock])
        if not self.able_administrators(tx, roles) - losing:
            raise Conflict(
                f"{change} would leave the site without an administrator who can log in; SCIM keeps at least one "
                "(make another user an administrator in WordPress first)",
                uniqueness=False,
            )

    def keep_one_of(self, tx: Transaction, roles: Roles, user_id: int, caps: Iterable[dict], change: str) -> None:
        """keep_one for `change`, which stops user `user_id` logging in, if any of `caps` (its capabilities
        before and after the same write) makes it an administrator."""
        if any(administers(each, roles) for each in caps):
            self.keep_one(tx, roles, {user_id}, change)

    def refuse_sign_in_change(self, tx: Transaction, roles: Roles, user_id: int, caps: dict, login: str, what: list[str]) -> None:
        """Forbidden if user `user_id` (capabilities `caps`) administers the site or its administrators
        and `what` (the sign-in attributes a change touches) is not empty."""
        if not what:
            return
        if administers_or_manages_administrators(caps, roles) or user_id in self._super_admins(tx):
            raise Forbidden(
                f"user {user_id} ({login}) administers the site or its administrators, so SCIM does not change its {' or '.join(what)} "
                "(start wpscim with --allow-administrator-credentials to permit it); nothing was changed"
            )

    def able_administrators(self, tx: Transaction, roles: Roles) -> set[int]:
        """IDs of the administrators who can log in now (as committed, plus this transaction's own changes)."""
        admin_roles = sorted(administrator_roles(roles))
        patterns = [f'%"{slug}";b:1;%' for slug in admin_roles] + [f'%"{ADMIN_CAPABILITY}";b:1;%']
        spam = f" AND NOT EXISTS (SELECT 1 FROM {self.site.users} u WHERE u.ID = m.user_id AND u.spam <> 0)" if self.site.multisite else ""
        tx.execute(
            f"SELECT m.user_id, m.meta_value FROM {self.site.usermeta} m WHERE m.meta_key = %s AND ("
            + " OR ".join(["m.meta_value LIKE %s"] * len(patterns))
            + ") AND NOT EXISTS (SELECT 1 FROM "
            f"{self.site.usermeta} s WHERE s.user_id = m.user_id AND s.meta_key = %s){spam}",
            [self.site.capabilities_key, *patterns, SUSPENDED_PASS_META],
        )
        able = {user_id for user_id, value in tx.fetchall() if administers(parse_caps(value), roles)}
        return able | self._super_admins(tx)

    def _super_admins(self, tx: Transaction) -> set[int]:
        """A network's super admins who can log in (they administer every site)."""
        if not self.site.multisite:
            return set()
        tx.execute(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
            (f"{self.site.base_prefix}sitemeta",),
        )
        if tx.fetchone() is None:
            return set()
        tx.execute(f"SELECT meta_value FROM `{self.site.base_prefix}sitemeta` WHERE meta_key = 'site_admins' LIMIT 1")
        row = tx.fetchone()
        try:
            logins = list((unserialize(row[0]) or {}).values()) if row else []
        except (ValueError, TypeError, AttributeError):
            logins = []
        if not logins:
            return set()
        tx.execute(
            f"SELECT u.ID FROM {self.site.users} u WHERE u.user_login IN (" + ", ".join(["%s"] * len(logins)) + ") "
            f"AND u.spam = 0 AND NOT EXISTS (SELECT 1 FROM {self.site.usermeta} s WHERE s.user_id = u.ID AND s.meta_key = %s)",
            [*map(str, logins), SUSPENDED_PASS_META],
        )
        return {user_id for (user_id,) in tx.fetchall()}
