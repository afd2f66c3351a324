"""Uniqueness: WordPress has no UNIQUE index on login, e-mail or nicename, so a create or a rename
takes named locks over the values it claims, asks whether another user holds any of them, and picks
the login and nicename WordPress would (base, base-2, …) when they are taken."""

from __future__ import annotations

import functools

from wpscim.wordpress import naming
from wpscim.wordpress.db import Transaction, locked_and
from wpscim.wordpress.errors import Conflict
from wpscim.wordpress.mapping import USERNAME_META, StoredUser
from wpscim.wordpress.metavalues import meta_value
from wpscim.wordpress.site import Site

USERNAME_TAKEN, STORED_USERNAME_TAKEN, EMAIL_TAKEN, LOGIN_TAKEN, NICENAME_TAKEN = 1, 2, 4, 8, 16


class Claims:
    def __init__(self, site: Site, lock_scope: str):
        self.site = site
        self._lock_scope = lock_scope

    def lock_names(self, user_name: str | None, email: str | None, login_base: str | None) -> list[str]:
        """The named locks over the values a create or rename claims. userName, email and login share one
        namespace: an Okta create, whose userName is its email and its login, takes two locks, not four
        (a coarser lock is never less safe; it may only make two unrelated claims wait on each other)."""
        names = [f"{self._lock_scope}/id/{value.lower()}" for value in (user_name, email, login_base) if value]
        if login_base is not None:
            names.append(f"{self._lock_scope}/nicename/{naming.nicename_base(login_base)}")
        return names

    def login_base(self, user_name: str) -> str:
        login = naming.sanitize_user(user_name)
        if self.site.multisite:
            login = login.lower()  # wpmu_validate_user_signup only allows lowercase logins
        return (login or "user")[: naming.LOGIN_MAX].rstrip() or "user"

    def choose_login(self, session, base: str, exclude_id: int = 0) -> str:
        for candidate in naming.login_candidates(base):
            session.execute(f"SELECT ID FROM {self.site.users} WHERE user_login = %s AND ID <> %s LIMIT 1", (candidate, exclude_id))
            if session.fetchone() is None:
                return candidate
        raise AssertionError("unreachable")

    def choose_nicename(self, session, login: str) -> str:
        for candidate in naming.nicename_candidates(naming.nicename_base(login)):
            session.execute(f"SELECT ID FROM {self.site.users} WHERE user_nicename = %s AND user_login != %s LIMIT 1", (candidate, login))
            if session.fetchone() is None:
                return candidate
        raise AssertionError("unreachable")

    def questions(self, stored: StoredUser, login: str | None, exclude_id: int = 0, each: bool = False) -> tuple[str, list]:
        """A SELECT returning a row for each claimed value another user holds, the row being its bit: the
        userName as a login (USERNAME_TAKEN) or as wpscim's exact userName (STORED_USERNAME_TAKEN), the
        email, and for a create (`login` given) the login and the nicename. Each question is one plain
        index lookup, so the usual answer is no rows. When the login is the userName, one lookup answers
        "login taken" and hints "userName taken"; `each` asks the two apart (resolve). A userName is
        taken as a filter finds it (case aside, exactly: not as the collation, which equates accents, ß
        and ss, and trailing spaces), so an IdP's lookup and its create never disagree; a login equal
        only under the collation is taken as a login, and the new user gets login-2."""
        users, meta = self.site.users, self.site.usermeta
        name, email = stored.user_name, stored.email
        others, other = (" AND {} <> %s", (exclude_id,)) if exclude_id else ("", ())  # "held by another user"
        branches = []
        if login != name or each:
            branches.append(
                (
                    f"SELECT {USERNAME_TAKEN} FROM {users} u WHERE u.user_login = %s AND LOWER(u.user_login) = BINARY LOWER(%s)"
                    f"{others.format('u.ID')} AND {self._not_renamed}",
                    (name, name, *other, USERNAME_META),
                )
            )
        if login is not None:
            branches.append((f"SELECT {LOGIN_TAKEN} FROM {users} WHERE user_login = %s", (login,)))
        branches.append(
            (
                f"SELECT {STORED_USERNAME_TAKEN} FROM {meta} WHERE meta_key = %s AND meta_value = %s"
                f" AND LOWER(meta_value) = BINARY LOWER(%s){others.format('user_id')}",
                (USERNAME_META, meta_value(name), meta_value(name), *other),
            )
        )
        if email:
            branches.append((f"SELECT {EMAIL_TAKEN} FROM {users} WHERE user_email = %s{others.format('ID')}", (email, *other)))
        if login is not None:
            # Any holder of the nicename counts: when the login itself is free, no holder can have it.
            branches.append((f"SELECT {NICENAME_TAKEN} FROM {users} WHERE user_nicename = %s", (naming.nicename_base(login),)))
        return " UNION ALL ".join(sql for sql, _ in branches), [v for _, params in branches for v in params]

    @functools.cached_property
    def _not_renamed(self) -> str:
        return f"NOT EXISTS(SELECT 1 FROM {self.site.usermeta} r WHERE r.user_id = u.ID AND r.meta_key = %s)"

    @staticmethod
    def refuse_taken(stored: StoredUser, flags: int) -> None:
        if flags & (USERNAME_TAKEN | STORED_USERNAME_TAKEN):
            raise Conflict(f"a user with userName '{stored.user_name}' already exists")
        if flags & EMAIL_TAKEN:
            raise Conflict(f"a user with email '{stored.email}' already exists (WordPress requires unique emails)")

    def resolve(self, tx: Transaction, stored: StoredUser, base: str, locks: int) -> tuple[str, str]:
        """After a refused create: Conflict for a taken userName or email, Unavailable if a lock was not
        free, else the login and nicename WordPress would pick in their place."""
        claims, params = self.questions(stored, base, each=True)
        tx.execute(locked_and(claims), params)
        flags = 0
        for bit in tx.locked_values(locks):
            flags |= bit
        self.refuse_taken(stored, flags)
        login = self.choose_login(tx, base) if flags & LOGIN_TAKEN else base
        if login == base and not flags & NICENAME_TAKEN:
            return login, naming.nicename_base(login)
        return login, self.choose_nicename(tx, login)

    def lock_and_check_rename(
        self, tx: Transaction, stored: StoredUser, user_id: int, name_changed: bool, email_changed: bool, base: str | None
    ) -> None:
        """For a PUT/PATCH changing the userName or email: take their locks, then Conflict if another
        user holds either (one round trip)."""
        names = self.lock_names(stored.user_name if name_changed else None, stored.email if email_changed else None, base)
        claims, params = self.questions(stored, None, user_id)
        flags = 0
        for bit in tx.lock(names, claims, params):
            flags |= bit
        self.refuse_taken(stored, flags)
