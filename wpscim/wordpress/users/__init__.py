"""WordPress users as SCIM Users: the storage façade the HTTP resources call.

Reads take a Session, writes a Transaction (both opened by wpscim.wordpress.storage.Storage), so a
request's reads, checks and writes commit or roll back together; `create` and `replace` end the
transaction themselves (their last round trip carries the COMMIT). The work is done by:

- `reading.UserReader`: rows and usermeta to SCIM Users;
- `search.UserSearch`: lookups, pages, filters;
- `claims.Claims`: uniqueness under named locks, WordPress's login and nicename choices;
- `writing.UserWriter`: create, and the one write path PUT and PATCH share;
- `deprovisioning`: suspension, reactivation, deletion with reassignment.
"""

from __future__ import annotations

from dataclasses import dataclass

from wpscim.scim import filter as scim_filter
from wpscim.wordpress import mapping, passwords
from wpscim.wordpress.administrators import AdministratorGuard
from wpscim.wordpress.db import Database, Session, Transaction
from wpscim.wordpress.errors import Invalid
from wpscim.wordpress.events import Event, user_snapshot
from wpscim.wordpress.mapping import Mapping
from wpscim.wordpress.roles import Roles, RoleStore, administers, parse_caps
from wpscim.wordpress.site import Site
from wpscim.wordpress.users.claims import Claims
from wpscim.wordpress.users.deprovisioning import Deletion
from wpscim.wordpress.users.reading import UserReader
from wpscim.wordpress.users.search import UserSearch
from wpscim.wordpress.users.writing import UserWriter


@dataclass(frozen=True)
class Policy:
    deprovision: str = "deactivate"  # what active=false does: "deactivate" (suspend) or "delete"
    reassign_to: int | None = None  # who receives a deleted user's posts; None: lowest-ID administrator


class UserStore:
    def __init__(
        self,
        db: Database,
        site: Site,
        policy: Policy = Policy(),
        roles: RoleStore | None = None,
        user_mapping: Mapping = mapping.DEFAULT,
        policy_source=None,
    ):
        """`policy_source`: a callable answering the Policy in force (the admin page's settings, read per
        request); without it `policy` holds."""
        self.db = db
        self.site = site
        self._policy = policy
        self._policy_source = policy_source
        scope = f"{db.address.database}/{site.base_prefix}"
        self.roles = roles or RoleStore(site, guard=AdministratorGuard(site, scope))
        self.mapping = user_mapping
        self.reader = UserReader(site, self.roles, user_mapping)
        self.finder = UserSearch(self.reader)
        self.claims = Claims(site, scope)
        self.writer = UserWriter(self.reader, self.claims, self.roles, self._check_role_policy)
        self.deletion = Deletion(site, lambda: self.policy.reassign_to)

    @property
    def policy(self) -> Policy:
        return self._policy_source() if self._policy_source is not None else self._policy

    def hash_password(self, password: str) -> str:
        """Hashing is slow by design: callers do it before opening the transaction."""
        return passwords.hash_password(password, self.site.db_version)

    def _check_role_policy(self, roles: Roles, granted: list[str], removed: list[str]) -> None:
        for slug in granted:
            self.roles.refuse_grant(roles, slug)
        for slug in removed:
            if slug in self.roles.policy.never_remove:
                raise Invalid(f"wpscim never removes the role '{slug}' through SCIM (see --never-remove)")

    # --- reads --------------------------------------------------------------------------------

    def get(self, session: Session | Transaction, user_id: str) -> dict | None:
        return self.reader.get(session, user_id)

    def get_for_update(self, tx: Transaction, user_id: str) -> dict | None:
        return self.reader.get_for_update(tx, user_id)

    def search(
        self,
        session: Session,
        expr: scim_filter.Filter | None,
        start: int,
        count: int,
        sort_by: scim_filter.AttrPath | None = None,
        descending: bool = False,
    ) -> tuple[int, list[dict]]:
        return self.finder.search(session, expr, start, count, sort_by, descending)

    # --- writes -------------------------------------------------------------------------------

    def create(self, tx: Transaction, user: dict, password_hash: str | None, password: str | None = None) -> dict:
        """`password`, when the create carries one, only decides whether a create sent again is a retry
        (the user keeps that password) or a duplicate; it is stored as `password_hash` alone."""
        created = self.writer.create(tx, user, password_hash, password)
        self.finder.forget_counts()
        return created

    def replace(
        self,
        tx: Transaction,
        user_id: str,
        user: dict,
        password_hash: str | None,
        before: dict | None = None,
        unassigned_active_reactivates: bool = False,
    ) -> dict | None:
        """Make the user equal `user` (PUT, PATCH) and commit; the user as stored, or None when
        deprovisioning (`--deprovision delete`) deleted it. See UserWriter.replace for `active`."""
        if user.get("active") is False and self.policy.deprovision == "delete":
            self.delete(tx, user_id)
            return None
        return self.writer.replace(tx, int(user_id), user, password_hash, before, unassigned_active_reactivates)

    def delete(self, tx: Transaction, user_id: str) -> None:
        uid = int(user_id)
        if uid not in tx.loaded:
            self.reader.get_for_update(tx, user_id)
        row, meta = tx.loaded[uid]
        roles = self.roles.recent(tx)
        held = self.reader.held_roles(meta, roles)
        if administers(parse_caps(meta.get(self.site.capabilities_key)), roles):
            self.roles.guard.keep_one(tx, roles, {uid}, f"deleting user {uid}")
        keeper, reassigned = self.deletion.delete(tx, uid)
        tx.record(Event("delete", "User", str(uid), (), {"before": user_snapshot(uid, row, meta, held), "reassign": keeper, **reassigned}))
        self.finder.forget_counts(ids_shifted=True)
