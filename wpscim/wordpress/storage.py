"""The WordPress site as the HTTP layer sees it: one object holding the stores, opening the unit of
work (a Transaction whose change events go to the site's change log) and read sessions."""

from __future__ import annotations

from wpscim.wordpress.administrators import AdministratorGuard
from wpscim.wordpress.db import Database
from wpscim.wordpress.events import ChangeLog
from wpscim.wordpress.mapping import DEFAULT, Mapping
from wpscim.wordpress.observed import ObservedPaths
from wpscim.wordpress.roles import RolePolicy, RoleStore
from wpscim.wordpress.site import Site
from wpscim.wordpress.tokens import TokenStore
from wpscim.wordpress.users import Policy, UserStore


def lock_scope(db: Database, site: Site) -> str:
    """What named locks of this site start with (they are server-wide)."""
    return f"{db.address.database}/{site.base_prefix}"


class Storage:
    def __init__(self, db: Database, site: Site, policy: Policy = Policy(), role_policy: RolePolicy = RolePolicy(),
                 user_mapping: Mapping = DEFAULT, change_log: bool = True):
        self.db = db
        self.site = site
        self.changes = ChangeLog(site)
        self.journal = self.changes if change_log else None  # None: changes are not recorded (measuring only)
        guard = AdministratorGuard(site, lock_scope(db, site))
        self.roles = RoleStore(site, role_policy, guard)
        self.users = UserStore(db, site, policy, self.roles, user_mapping)
        self.tokens = TokenStore(db, site)
        self.observed = ObservedPaths(db, site)

    def transaction(self, actor: str = "", request_id: str = ""):
        """One request's unit of work (wpscim.wordpress.db.Transaction), its events in the change log."""
        return self.db.transaction(self.journal, actor, request_id)

    def reading(self, unbuffered: bool = False):
        return self.db.reading(unbuffered)
