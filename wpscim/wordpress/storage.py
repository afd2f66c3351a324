"""The WordPress site as the HTTP layer sees it: one object holding the stores, opening the unit of
work (a Transaction whose change events go to the site's change log) and read sessions."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from wpscim.wordpress.administrators import AdministratorGuard
from wpscim.wordpress.db import Database, Session, Transaction
from wpscim.wordpress.events import ChangeLog
from wpscim.wordpress.mapping import DEFAULT, Mapping
from wpscim.wordpress.observed import ObservedPaths
from wpscim.wordpress.roles import RolePolicy, RoleStore
from wpscim.wordpress.site import Site
from wpscim.wordpress.tokens import TokenStore
from wpscim.wordpress.users import Policy, UserStore

if TYPE_CHECKING:
    from wpscim.wordpress.settings import SiteSettings


def lock_scope(db: Database, site: Site) -> str:
    """What named locks of this site start with (they are server-wide)."""
    return f"{db.address.database}/{site.base_prefix}"


class Storage:
    def __init__(
        self,
        db: Database,
        site: Site,
        policy: Policy = Policy(),
        role_policy: RolePolicy = RolePolicy(),
        user_mapping: Mapping = DEFAULT,
        change_log: bool = True,
        settings: SiteSettings | None = None,
    ):
        """`settings`: a wpscim.wordpress.settings.SiteSettings, when the site's own settings (the admin
        page's) decide the policies and the mapping, read per request; without it the arguments do."""
        self.db = db
        self.site = site
        self.settings = settings
        self.changes = ChangeLog(site)
        self.journal = self.changes if change_log else None  # None: changes are not recorded (measuring only)
        guard = AdministratorGuard(site, lock_scope(db, site))
        self._policy_source = (lambda: settings.current().policy) if settings is not None else None
        self.roles = RoleStore(
            site, role_policy, guard, policy_source=(lambda: settings.current().role_policy) if settings is not None else None
        )
        self._users_lock = threading.Lock()
        self._users_version: object = None
        if settings is not None:
            current = settings.current()
            user_mapping, self._users_version = current.mapping, current.mapping_version
        self._users = UserStore(db, site, policy, self.roles, user_mapping, policy_source=self._policy_source)
        self.tokens = TokenStore(db, site)
        self.observed = ObservedPaths(db, site)

    @property
    def users(self) -> UserStore:
        """The user store for the mapping in force: rebuilt (its derived reads and writes with it) when the
        effective mapping changed since it was built."""
        if self.settings is not None:
            current = self.settings.current()
            if current.mapping_version != self._users_version:
                with self._users_lock:
                    if current.mapping_version != self._users_version:
                        self._users = UserStore(
                            self.db, self.site, self._users.policy, self.roles, current.mapping, policy_source=self._policy_source
                        )
                        self._users_version = current.mapping_version
        return self._users

    def transaction(self, actor: str = "", request_id: str = "") -> AbstractContextManager[Transaction]:
        """One request's unit of work (wpscim.wordpress.db.Transaction), its events in the change log."""
        self._settings_read()
        return self.db.transaction(self.journal, actor, request_id)

    def reading(self, unbuffered: bool = False) -> AbstractContextManager[Session]:
        self._settings_read()
        return self.db.reading(unbuffered)

    def _settings_read(self) -> None:
        """The site's settings, read now if they are due (every few seconds), while the request holds no
        connection: read inside its block (`users`, the policies), they would take a second one, and a
        pool whose every connection a request holds while it waits for another would stall."""
        if self.settings is not None:
            self.settings.current()
