"""WordPress users: the rows wp_insert_user() would write, suspension, deletion with reassignment.

Every method takes the cursor of the caller's transaction (wpscim.wordpress.db.Database.transaction),
so a request's reads, checks and writes commit or roll back together. create() ends that transaction
itself: its last round trip carries the COMMIT.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import NamedTuple

import pymysql

from wpscim import mapping
from wpscim.mapping import SUSPENDED_APP_PASSWORDS_META, SUSPENDED_PASS_META, USERNAME_META, Mapping, StoredUser
from wpscim.scim import filter as scim_filter
from wpscim.scim.errors import ScimError, conflict, invalid_value
from wpscim.wordpress import naming, passwords
from wpscim.wordpress.db import (REFUSED, Database, commit_with, execute_all, lock, lock_statement, locked_and, locked_values,
                                 locks_missing, refuse_if_any)
from wpscim.wordpress.query import login_lookup, selective_ids, sort_expression, translate
from wpscim.wordpress.roles import RoleStore, Roles, parse_caps
from wpscim.wordpress.site import Site, serialize

_EMAIL_MAX = 100
_URL_MAX = 100
_DISPLAY_MAX = 250
_CANDIDATE_BATCH = 500
_PLAIN_READ_MAX = 10  # up to this many users are read as plain rows, more as packed rows (see _load_raw)
COUNT_CACHE_SECONDS = 2.0


def _pairs(packed: str) -> list[tuple[str, str]]:
    """Unpack `<key length>,<value length>:<key><value>…` (see UserStore._load_raw)."""
    pairs = []
    at, end = 0, len(packed)
    while at < end:
        colon = packed.index(":", at)
        key_length, _, value_length = packed[at:colon].partition(",")
        key_end = colon + 1 + int(key_length)
        at = key_end + int(value_length)
        pairs.append((packed[colon + 1:key_end], packed[key_end:at]))
    return pairs


def _pack(key_sql: str, value_sql: str) -> str:
    """SQL for one packed `<key length>,<value length>:<key><value>` item (lengths in characters)."""
    return f"CHAR_LENGTH({key_sql}), ',', CHAR_LENGTH(IFNULL({value_sql}, '')), ':', {key_sql}, IFNULL({value_sql}, '')"


@functools.lru_cache(maxsize=64)
def _caps_text(roles: tuple[str, ...]) -> str:
    """The wp_capabilities value granting `roles` (serialized once per set of roles)."""
    return serialize({slug: True for slug in roles})


def _registered(text: str):
    try:
        return datetime.fromisoformat(text)
    except ValueError:  # '0000-00-00 00:00:00' on old sites: shown as stored
        return text


class _Insert(NamedTuple):
    sql: str
    params: list
    row: dict  # the users columns written (no ID yet)
    meta: dict[str, str]  # the usermeta written, first row per key


@dataclass(frozen=True)
class Policy:
    deprovision: str = "deactivate"  # what active=false does: "deactivate" (suspend) or "delete"
    reassign_to: int | None = None  # who receives a deleted user's posts; None: lowest-ID administrator


class UserStore:
    def __init__(self, db: Database, site: Site, policy: Policy = Policy(), roles: RoleStore | None = None,
                 user_mapping: Mapping = mapping.DEFAULT):
        self.db = db
        self.site = site
        self.policy = policy
        self.roles = roles or RoleStore(site)
        self.mapping = user_mapping
        self._total: tuple[float, int] | None = None
        self._page_ends: dict[int, int] = {}  # startIndex -> last ID of the page before it (unfiltered listing)
        self._lock_scope = f"{db.address.database}/{site.base_prefix}"
        self._content_tables: list[tuple[str, str]] | None = None
        # The users columns a representation or a change needs (never user_pass: hashes are not read).
        self._columns = ("user_login", "user_nicename", "user_email", "user_url", "user_registered", "display_name",
                         *(("spam",) if site.multisite else ()))

    # --- reading ------------------------------------------------------------------------------

    @functools.cached_property
    def _wanted(self) -> tuple[str, tuple]:
        """The usermeta rows a representation is built from: the mapped keys, the capabilities, and
        everything under wpscim_. Keys compare as bytes, as WordPress's meta cache (a PHP array) does;
        that is also cheaper for MySQL than the column's case-insensitive collation."""
        keys = (*self.mapping.read_meta, self.site.capabilities_key)
        sql = f"(BINARY m.meta_key IN ({', '.join(['%s'] * len(keys))}) OR BINARY m.meta_key LIKE 'wpscim\\_%%')"
        return sql, keys

    @functools.cached_property
    def _selected_columns(self) -> str:
        return ", ".join(f"u.{c}" for c in self._columns)

    def _load_raw(self, cursor, ids: list[int], for_update: bool = False) -> tuple[dict[int, dict], dict[int, dict]]:
        """Users rows and the usermeta a representation needs (usermeta in umeta_id order). With
        `for_update` the users rows are locked, in the same round trip."""
        if len(ids) <= _PLAIN_READ_MAX:
            return self._load_plain(cursor, ids, for_update)
        return self._load_packed(cursor, ids, for_update)

    def _load_plain(self, cursor, ids: list[int], for_update: bool) -> tuple[dict[int, dict], dict[int, dict]]:
        """A few users (a lookup, one user's GET or write): their rows, then their usermeta rows, in one
        round trip. For a handful of users this costs MySQL about a third of the packed read below,
        whose GROUP_CONCAT has a fixed cost of ~0.2 ms per statement."""
        cursor.execute(*self._plain_read(ids, for_update))
        user_rows = cursor.fetchall()
        cursor.nextset()
        return self._assemble(user_rows, cursor.fetchall())

    def _plain_read(self, ids: list[int], for_update: bool = False) -> tuple[str, list]:
        """The two statements of _load_plain: the users rows, then their usermeta rows."""
        marks = ", ".join(["%s"] * len(ids))
        wanted, keys = self._wanted
        return (f"SELECT u.ID, {self._selected_columns} FROM {self.site.users} u WHERE u.ID IN ({marks}){' FOR UPDATE' if for_update else ''}; "
                f"SELECT m.user_id, m.meta_key, m.meta_value FROM {self.site.usermeta} m WHERE m.user_id IN ({marks}) AND {wanted} "
                "ORDER BY m.umeta_id"), [*ids, *ids, *keys]

    def _commit_and_read(self, cursor, user_id: int, writes: list[tuple[str, list]], roles: Roles) -> dict:
        """`writes`, the user read back as stored, and the COMMIT, in one round trip; the user's SCIM
        representation. Nothing may run on `cursor` after it (see commit_with)."""
        read_sql, read_params = self._plain_read([user_id])
        results: list = []
        commit_with(cursor, "; ".join([*(sql for sql, _ in writes), read_sql]),
                    [*(v for _, params in writes for v in params), *read_params], results)
        rows, metas = self._assemble(*results)
        return self._to_scim(rows[user_id], metas[user_id], roles)

    def _assemble(self, user_rows, meta_rows) -> tuple[dict[int, dict], dict[int, dict]]:
        """Users rows (ID, then self._columns) and usermeta rows (user_id, meta_key, meta_value, in
        umeta_id order) as _load_raw returns them."""
        rows: dict[int, dict] = {}
        metas: dict[int, dict] = {}
        for user_id, *values in user_rows:
            row = rows[user_id] = {"ID": user_id, **{c: "" if v is None else v for c, v in zip(self._columns, values)}}
            if "spam" in row:
                row["spam"] = int(row["spam"] or 0)
            metas[user_id] = {}
        for user_id, key, value, *_ in meta_rows:
            if user_id in metas:
                metas[user_id].setdefault(key, "" if value is None else value)  # get_user_meta(…, true): the first row
        return rows, metas

    def _read_by_login(self, cursor, user_name: str) -> list[dict]:
        """The users a `userName eq` lookup (every IdP's) can match, in one round trip: the users whose
        login matches (in the column's collation: a superset), their usermeta, and the IDs of users
        whose exact userName is kept in usermeta because their login had to differ; those few, if any
        are not among the first, are read after. Joined rather than read by ID after a first round trip
        for the IDs: ~13 % more lookups/s. MySQL would sort the joined usermeta in a temporary table,
        so they come with their umeta_id and are put in order here."""
        wanted, keys = self._wanted
        users, usermeta = self.site.users, self.site.usermeta
        cursor.execute(
            f"SELECT u.ID, {self._selected_columns} FROM {users} u WHERE u.user_login = %s; "
            f"SELECT m.user_id, m.meta_key, m.meta_value, m.umeta_id FROM {users} u JOIN {usermeta} m ON m.user_id = u.ID "
            f"WHERE u.user_login = %s AND {wanted}; "
            f"SELECT user_id FROM {usermeta} WHERE meta_key = %s AND meta_value = %s",
            [user_name, user_name, *keys, USERNAME_META, user_name],
        )
        user_rows = cursor.fetchall()
        cursor.nextset()
        meta_rows = sorted(cursor.fetchall(), key=lambda r: r[3])
        cursor.nextset()
        rows, metas = self._assemble(user_rows, meta_rows)
        renamed = sorted({user_id for (user_id,) in cursor.fetchall()} - rows.keys())
        if renamed:
            more_rows, more_metas = self._load_raw(cursor, renamed)
            rows.update(more_rows)
            metas.update(more_metas)
        roles = self.roles.recent(cursor)
        return [self._to_scim(rows[i], metas[i], roles) for i in sorted(rows)]

    def _load_packed(self, cursor, ids: list[int], for_update: bool) -> tuple[dict[int, dict], dict[int, dict]]:
        """Many users (a page): one result row per user, its ID and one string packing its users
        columns, then its usermeta in umeta_id order (GROUP_CONCAT). PyMySQL parses every result
        column's metadata and every row in Python; packed, a page of 100 users is 100 rows of 2 columns
        instead of 100 rows of 7 plus ~900 usermeta rows (about half the client CPU; MySQL's work is
        about the same)."""
        marks = ", ".join(["%s"] * len(ids))
        wanted, keys = self._wanted
        meta = (f"SELECT GROUP_CONCAT(CONCAT({_pack('m.meta_key', 'm.meta_value')}) ORDER BY m.umeta_id SEPARATOR '') "
                f"FROM {self.site.usermeta} m WHERE m.user_id = u.ID AND {wanted}")
        columns = ", ".join(_pack(f"'{c}'", f"u.{c}") for c in self._columns)
        lock = f"SELECT ID FROM {self.site.users} WHERE ID IN ({marks}) FOR UPDATE; " if for_update else ""
        cursor.execute(
            f"{lock}SELECT u.ID, CONCAT({columns}, IFNULL(({meta}), '')) FROM {self.site.users} u WHERE u.ID IN ({marks})",
            [*(ids if for_update else ()), *keys, *ids],
        )
        if for_update:
            cursor.nextset()
        rows: dict[int, dict] = {}
        metas: dict[int, dict] = {}
        width = len(self._columns)
        for user_id, packed in cursor.fetchall():
            pairs = _pairs(packed)
            row = rows[user_id] = {"ID": user_id, **dict(pairs[:width])}
            row["user_registered"] = _registered(row["user_registered"])
            if "spam" in row:
                row["spam"] = int(row["spam"] or 0)
            meta = metas[user_id] = {}
            for key, value in pairs[width:]:
                meta.setdefault(key, value)  # get_user_meta(…, true) takes the first row
        return rows, metas

    def _load(self, cursor, ids: list[int]) -> list[dict]:
        """SCIM users for `ids`, in that order (absent ones left out)."""
        if not ids:
            return []
        rows, metas = self._load_raw(cursor, ids)
        roles = self.roles.recent(cursor)
        return [self._to_scim(rows[i], metas[i], roles) for i in ids if i in rows]

    def _to_scim(self, row: dict, meta: dict, roles: Roles) -> dict:
        user = self.mapping.from_storage(row, meta)
        held = roles.held(parse_caps(meta.get(self.site.capabilities_key)))
        if held:  # read-only `groups` and writable `roles` both show the user's WordPress roles
            user["groups"] = [{"value": slug, "display": roles.name(slug), "type": "direct"} for slug in held]
            user["roles"] = [{"value": slug, "display": roles.name(slug)} for slug in held]
        return user

    def _wanted_roles(self, user: dict, roles: Roles) -> list[str] | None:
        """The role slugs the User's `roles` attribute asks for (by slug or role name), None if absent."""
        if "roles" not in user:
            return None
        wanted, unknown = [], []
        for item in user["roles"]:
            value = str(item.get("value") or item.get("display") or "")
            slug = value if value in roles.definitions else self.roles.find_by_name(roles, value)
            (wanted if slug else unknown).append(slug or value)
        if unknown:
            raise invalid_value(f"no WordPress role {', '.join(repr(u) for u in unknown)}")
        return list(dict.fromkeys(wanted))

    def _check_role_policy(self, granted: list[str], removed: list[str]) -> None:
        for slug in granted:
            if slug in self.roles.policy.never_grant:
                raise invalid_value(f"wpscim never grants the role '{slug}' through SCIM (see --never-grant)")
        for slug in removed:
            if slug in self.roles.policy.never_remove:
                raise invalid_value(f"wpscim never removes the role '{slug}' through SCIM (see --never-remove)")

    def get(self, cursor, user_id: str, for_update: bool = False) -> dict | None:
        if not str(user_id).isdigit():
            return None
        uid = int(user_id)
        if not for_update:
            found = self._load(cursor, [uid])
            return found[0] if found else None
        rows, metas = self._load_raw(cursor, [uid], for_update=True)
        if uid not in rows:
            return None
        cursor.loaded = {uid: (rows[uid], metas[uid])}  # replace() in this transaction starts from these rows
        return self._to_scim(rows[uid], metas[uid], self.roles.recent(cursor))

    def search(self, cursor, expr: scim_filter.Filter | None, start: int, count: int,
               sort_by: scim_filter.AttrPath | None = None, descending: bool = False) -> tuple[int, list[dict]]:
        """One page of users matching `expr` (in ID order unless `sort_by`), and the total."""
        candidates = self._lookup_candidates(cursor, expr) if expr is not None else None
        if candidates is not None:
            # An IdP lookup: the few candidates are read and checked by the reference evaluator.
            found = [u for u in candidates if scim_filter.matches(expr, u, self.mapping.case_exact)]
            if sort_by is not None:
                found = scim_filter.sorted_resources(found, sort_by, descending, self.mapping.case_exact)
            return len(found), found[start - 1 : start - 1 + count]
        where, params, exact = ("1=1", [], True) if expr is None else translate(expr, self.site, self.mapping)
        ordering = sort_expression(sort_by, self.site, self.mapping) if sort_by else ("u.ID", [])
        if exact and ordering is not None:
            order, order_params = ordering
            ids = []
            if count > 0:
                if sort_by is None:
                    ids = self._page_in_id_order(cursor, where, params, start, count, keyset=expr is None)
                else:
                    direction = "DESC" if descending else "ASC"
                    # Missing values last, as the in-memory sort does (the expression appears twice).
                    cursor.execute(
                        f"SELECT u.ID FROM {self.site.users} u WHERE {where} ORDER BY (COALESCE({order}, '') = ''), "
                        f"{order} {direction}, u.ID LIMIT {int(count)} OFFSET {int(start) - 1}",
                        [*params, *order_params, *order_params])
                    ids = [row[0] for row in cursor.fetchall()]
            if start == 1 and len(ids) < count:
                total = len(ids)  # the whole result is in this page (every IdP lookup): no COUNT needed
            else:
                total = self._count(cursor, where, params, cacheable=expr is None)
            return total, self._load(cursor, ids)
        # The SQL is a superset, or the sort key is not in SQL: check and sort each candidate here.
        cursor.execute(f"SELECT u.ID FROM {self.site.users} u WHERE {where} ORDER BY u.ID", params)
        candidates = [row[0] for row in cursor.fetchall()]
        matched = []
        for offset in range(0, len(candidates), _CANDIDATE_BATCH):
            batch = candidates[offset : offset + _CANDIDATE_BATCH]
            matched += [r for r in self._load(cursor, batch) if expr is None or scim_filter.matches(expr, r, self.mapping.case_exact)]
        if sort_by is not None:
            matched = scim_filter.sorted_resources(matched, sort_by, descending, self.mapping.case_exact)
        return len(matched), matched[start - 1 : start - 1 + count]

    def _lookup_candidates(self, cursor, expr: scim_filter.Filter) -> list[dict] | None:
        """The users an IdP lookup (`userName eq`, `externalId eq`, `id eq`, and/or of them) can match,
        found through indexes; None when the filter is not that selective."""
        user_name = login_lookup(expr)
        if user_name is not None:
            return self._read_by_login(cursor, user_name)
        ids = selective_ids(expr, cursor, self.site, self.mapping)
        if ids is None or len(ids) > _CANDIDATE_BATCH:
            return None
        return self._load(cursor, sorted(ids))

    def _page_in_id_order(self, cursor, where: str, params: list, start: int, count: int, keyset: bool) -> list[int]:
        """A page's IDs in ID order, from the primary key alone. An import paging on from where the
        previous page ended (startIndex = previous + count) seeks to that page's last ID instead of
        counting past every earlier user."""
        after = self._page_ends.get(start) if keyset else None
        if after is not None:
            cursor.execute(f"SELECT u.ID FROM {self.site.users} u WHERE u.ID > %s ORDER BY u.ID LIMIT {int(count)}", [after])
        else:
            cursor.execute(
                f"SELECT u.ID FROM {self.site.users} u WHERE {where} ORDER BY u.ID LIMIT {int(count)} OFFSET {int(start) - 1}",
                params)
        ids = [row[0] for row in cursor.fetchall()]
        if keyset and ids:
            if len(self._page_ends) > 64:
                self._page_ends.clear()
            self._page_ends[start + len(ids)] = ids[-1]
        return ids

    def _count(self, cursor, where: str, params: list, cacheable: bool) -> int:
        """COUNT(*) of a filter; for the unfiltered listing (an IdP import pages through it) at most
        COUNT_CACHE_SECONDS old, and never older than this process's own last create or delete."""
        if cacheable and self._total is not None and time.monotonic() - self._total[0] < COUNT_CACHE_SECONDS:
            return self._total[1]
        cursor.execute(f"SELECT COUNT(*) FROM {self.site.users} u WHERE {where}", params)
        total = cursor.fetchone()[0]
        if cacheable:
            self._total = (time.monotonic(), total)
        return total

    # --- uniqueness ---------------------------------------------------------------------------

    def _lock_names(self, user_name: str | None, email: str | None, login_base: str | None) -> list[str]:
        """The named locks over the values a create or rename claims. userName, email and login share one
        namespace: an Okta create, whose userName is its email and its login, takes two locks, not four
        (a coarser lock is never less safe; it may only make two unrelated claims wait on each other)."""
        names = [f"{self._lock_scope}/id/{value.lower()}" for value in (user_name, email, login_base) if value]
        if login_base is not None:
            names.append(f"{self._lock_scope}/nicename/{naming.nicename_base(login_base)}")
        return names

    def _login_base(self, user_name: str) -> str:
        login = naming.sanitize_user(user_name)
        if self.site.multisite:
            login = login.lower()  # wpmu_validate_user_signup only allows lowercase logins
        return (login or "user")[: naming.LOGIN_MAX].rstrip() or "user"

    def _choose_login(self, cursor, base: str, exclude_id: int = 0) -> str:
        for candidate in naming.login_candidates(base):
            cursor.execute(f"SELECT ID FROM {self.site.users} WHERE user_login = %s AND ID <> %s LIMIT 1", (candidate, exclude_id))
            if cursor.fetchone() is None:
                return candidate
        raise AssertionError("unreachable")

    def _choose_nicename(self, cursor, login: str) -> str:
        for candidate in naming.nicename_candidates(naming.nicename_base(login)):
            cursor.execute(
                f"SELECT ID FROM {self.site.users} WHERE user_nicename = %s AND user_login != %s LIMIT 1", (candidate, login)
            )
            if cursor.fetchone() is None:
                return candidate
        raise AssertionError("unreachable")

    def _claims(self, stored: StoredUser, login: str | None, exclude_id: int = 0, each: bool = False) -> tuple[str, list]:
        """A SELECT returning a row for each claimed value another user holds, the row being its bit: the
        userName as a login (1) or as wpscim's exact userName (2), the email (4), and for a create
        (`login` given) the login (8) and the nicename (16). Each question is one plain index lookup,
        so the usual answer is no rows. When the login is the userName, one lookup answers "login
        taken" and hints "userName taken"; `each` asks the two apart (_resolve_claims)."""
        users, meta = self.site.users, self.site.usermeta
        name, email = stored.user_name, stored.email
        others, other = (" AND {} <> %s", (exclude_id,)) if exclude_id else ("", ())  # "held by another user"
        branches = []
        if login != name or each:
            branches.append((f"SELECT 1 FROM {users} u WHERE u.user_login = %s{others.format('u.ID')} AND {self._not_renamed}",
                             (name, *other, USERNAME_META)))
        if login is not None:
            branches.append((f"SELECT 8 FROM {users} WHERE user_login = %s", (login,)))
        branches.append((f"SELECT 2 FROM {meta} WHERE meta_key = %s AND meta_value = %s{others.format('user_id')}",
                         (USERNAME_META, name, *other)))
        if email:
            branches.append((f"SELECT 4 FROM {users} WHERE user_email = %s{others.format('ID')}", (email, *other)))
        if login is not None:
            # Any holder of the nicename counts: when the login itself is free, no holder can have it.
            branches.append((f"SELECT 16 FROM {users} WHERE user_nicename = %s", (naming.nicename_base(login),)))
        return " UNION ALL ".join(sql for sql, _ in branches), [v for _, params in branches for v in params]

    @functools.cached_property
    def _not_renamed(self) -> str:
        return f"NOT EXISTS(SELECT 1 FROM {self.site.usermeta} r WHERE r.user_id = u.ID AND r.meta_key = %s)"

    @staticmethod
    def _refuse_taken(stored: StoredUser, flags: int) -> None:
        if flags & 3:
            raise conflict(f"a user with userName '{stored.user_name}' already exists")
        if flags & 4:
            raise conflict(f"a user with email '{stored.email}' already exists (WordPress requires unique emails)")

    def _resolve_claims(self, cursor, stored: StoredUser, base: str, locks: int) -> tuple[str, str]:
        """After a refused create (see create): 409 for a taken userName or email, 503 if a lock was not
        free, else the login and nicename WordPress would pick in their place."""
        claims, params = self._claims(stored, base, each=True)
        cursor.execute(locked_and(claims), params)
        flags = 0
        for bit in locked_values(cursor, locks):
            flags |= bit
        self._refuse_taken(stored, flags)
        login = self._choose_login(cursor, base) if flags & 8 else base
        if login == base and not flags & 16:
            return login, naming.nicename_base(login)
        return login, self._choose_nicename(cursor, login)

    def _lock_and_check_rename(self, cursor, stored: StoredUser, user_id: int, name_changed: bool, email_changed: bool,
                               base: str | None) -> None:
        """For a PUT/PATCH changing the userName or email: take their locks, then 409 if another user
        holds either (one round trip)."""
        names = self._lock_names(stored.user_name if name_changed else None, stored.email if email_changed else None, base)
        claims, params = self._claims(stored, None, user_id)
        flags = 0
        for bit in lock(cursor, names, claims, params):
            flags |= bit
        self._refuse_taken(stored, flags)

    # --- writing ------------------------------------------------------------------------------

    def hash_password(self, password: str) -> str:
        """Hashing is slow by design: callers do it before opening the transaction."""
        return passwords.hash_password(password, self.site.db_version)

    def _validate(self, stored: StoredUser) -> dict[str, str]:
        """WordPress-ready values of the mapped fields (by column or meta key), or 400 for values
        WordPress cannot hold."""
        if len(stored.email) > _EMAIL_MAX:
            raise invalid_value(f"email is longer than WordPress's {_EMAIL_MAX} characters")
        if stored.email and "@" not in stored.email:
            raise invalid_value(f"'{stored.email}' is not an email address")
        targets = stored.targets
        if len(targets.get("user_url", "")) > _URL_MAX:
            raise invalid_value(f"profileUrl is longer than WordPress's {_URL_MAX} characters")
        if len(targets.get("display_name", "")) > _DISPLAY_MAX:
            raise invalid_value(f"displayName is longer than WordPress's {_DISPLAY_MAX} characters")
        return targets

    def _wordpress_meta(self, targets: dict, login: str) -> dict[str, str]:
        """The usermeta wp_insert_user() fills from its arguments, plus the site's mapped keys."""
        wanted = {
            "nickname": targets.get("nickname") or naming.store_name(login),
            "first_name": targets.get("first_name", ""),
            "last_name": targets.get("last_name", ""),
            "locale": targets.get("locale", ""),
        }
        for f in self.mapping.extra_meta:
            if f.meta_key in targets:
                wanted[f.meta_key] = targets[f.meta_key]
        return wanted

    def create(self, cursor, user: dict, password_hash: str | None) -> dict:
        """Insert the user as wp_insert_user() would; returns its SCIM representation.

        Usually one round trip: take the uniqueness locks; refuse (error REFUSED, which stops the round
        trip) if a lock was not free or the userName, email, login or nicename is taken; insert the
        users row and its usermeta; commit; release the locks. After a refusal the locks are held, so
        the questions are asked again one by one (409, 503, or the next free login and nicename, as
        WordPress picks them) and the insert is sent on its own."""
        stored = self.mapping.to_storage(user)
        values = self._validate(stored)
        base = self._login_base(stored.user_name)
        roles = self.roles.recent(cursor)
        wanted = self._wanted_roles(user, roles)
        if wanted:
            self._check_role_policy(wanted, [])
        caps = {slug: True for slug in (wanted or [roles.default_role])}
        now = datetime.now(timezone.utc)
        # With nothing left to do (no suspension), the insert's round trip also commits and releases the locks.
        suspend = user.get("active") is False
        finish = execute_all if suspend else commit_with
        take, lock_params, locks = lock_statement(cursor, self._lock_names(stored.user_name, stored.email, base))
        claims, claim_params = self._claims(stored, base)
        insert = self._insert(user, stored, values, base, naming.nicename_base(base), caps, roles, now, password_hash)
        try:
            user_id = finish(cursor, f"{take}; {refuse_if_any(f'{locks_missing(locks)} UNION ALL {claims}')}; {insert.sql}",
                             [*lock_params, *claim_params, *insert.params])
        except pymysql.err.OperationalError as exc:
            if not exc.args or exc.args[0] != REFUSED:
                raise
            login, nicename = self._resolve_claims(cursor, stored, base, locks)
            insert = self._insert(user, stored, values, login, nicename, caps, roles, now, password_hash)
            user_id = finish(cursor, insert.sql, insert.params)
        self._total = None
        if suspend:
            return self._commit_and_read(cursor, user_id, self._suspension(user_id), roles)
        # What was just written, read back without another round trip.
        return self._to_scim({**insert.row, "ID": user_id}, insert.meta, roles)

    def _insert(self, user: dict, stored: StoredUser, values: dict, login: str, nicename: str, caps: dict, roles: Roles,
                now: datetime, password_hash: str | None) -> _Insert:
        """The users row and its usermeta in one round trip: the meta rows take the new ID from
        LAST_INSERT_ID(), which within a statement is the previous statement's value (MySQL and
        MariaDB alike)."""
        # WordPress's default from the names; its non-strict session cuts it to the column's 250 characters.
        display = values.get("display_name") or naming.store_name(
            naming.default_display_name(login, values.get("first_name", ""), values.get("last_name", ""))
        )[:_DISPLAY_MAX]
        given = self._wordpress_meta(values, login)
        rows = [(key, given.pop(key, default)) for key, default in self.site.usermeta_defaults()]
        rows += list(given.items())  # the site's mapped keys, as `meta_input` would write them
        rows += [
            (self.site.capabilities_key, _caps_text(tuple(caps))),
            (self.site.user_level_key, str(roles.user_level(caps))),
        ]
        rows += list(self._own_meta(user, stored, values, login, now).items())
        sql = (f"INSERT INTO {self.site.users} (user_login, user_pass, user_nicename, user_email, user_url, "
               "user_registered, user_activation_key, display_name) VALUES (%s, %s, %s, %s, %s, %s, '', %s); "
               f"INSERT INTO {self.site.usermeta} (user_id, meta_key, meta_value) VALUES "
               + ", ".join(["(LAST_INSERT_ID(), %s, %s)"] * len(rows)))
        params = [login, password_hash or passwords.unusable_hash(self.site.db_version), nicename, stored.email,
                  values.get("user_url", ""), now.strftime("%Y-%m-%d %H:%M:%S"), display, *(v for row in rows for v in row)]
        row = {"user_login": login, "user_email": stored.email, "user_url": values.get("user_url", ""),
               "user_registered": now.replace(microsecond=0, tzinfo=None), "display_name": display}
        meta: dict[str, str] = {}
        for key, value in rows:
            meta.setdefault(key, value)
        return _Insert(sql, params, row, meta)

    def _own_meta(self, user: dict, stored: StoredUser, values: dict, login: str, now: datetime) -> dict[str, str]:
        """wpscim's usermeta rows for `user`: exact userName, externalId, lastModified, residue, defaults."""
        own = {}
        unassigned = self.mapping.defaulted(user)
        if unassigned:
            own[mapping.DEFAULTED_META] = unassigned
        if stored.user_name != login:
            own[USERNAME_META] = stored.user_name
        if values.get("wpscim_externalId"):
            own["wpscim_externalId"] = values["wpscim_externalId"]
        own["wpscim_meta.lastModified"] = mapping.iso(now)
        own.update(stored.residue)
        return own

    def _insert_meta(self, user_id: int, rows: list[tuple[str, str]]) -> list[tuple[str, list]]:
        if not rows:
            return []
        return [(f"INSERT INTO {self.site.usermeta} (user_id, meta_key, meta_value) VALUES " + ", ".join(["(%s, %s, %s)"] * len(rows)),
                 [v for key, value in rows for v in (user_id, key, value)])]

    def _locked(self, cursor, user_id: int) -> tuple[dict, dict]:
        rows, metas = self._load_raw(cursor, [user_id], for_update=True)
        return rows[user_id], metas[user_id]

    def replace(self, cursor, user_id: str, user: dict, password_hash: str | None) -> dict | None:
        """Make user `user_id` (already locked FOR UPDATE by get()) equal `user`, as PUT and PATCH do, and
        commit; returns the user as stored, or None when deprovisioning deleted it. The questions a
        rename asks are sent as they come; the writes, the read-back and the COMMIT go in one round trip
        (a deactivation was nine)."""
        if user.get("active") is False and self.policy.deprovision == "delete":
            self.delete(cursor, user_id)
            return None
        uid = int(user_id)
        row, meta = getattr(cursor, "loaded", {}).get(uid) or self._locked(cursor, uid)
        current_name = meta.get(USERNAME_META) or row["user_login"]
        stored = self.mapping.to_storage(user)
        values = self._validate(stored)
        name_changed = stored.user_name != current_name
        email_changed = stored.email.lower() != row["user_email"].lower()
        columns: dict[str, object] = {}
        login = row["user_login"]
        end_sessions = False
        if name_changed or email_changed:
            base = self._login_base(stored.user_name) if name_changed else None
            self._lock_and_check_rename(cursor, stored, uid, name_changed, email_changed, base)
        if name_changed:
            if base != row["user_login"]:
                login = self._choose_login(cursor, base, uid)
            if login != row["user_login"]:
                columns["user_login"] = login
                if self._nicename_was_derived(row["user_nicename"], row["user_login"]):
                    columns["user_nicename"] = self._choose_nicename(cursor, login)
                end_sessions = True  # the login is part of every auth cookie
        if email_changed:
            columns["user_email"] = stored.email
            columns["user_activation_key"] = ""
        if "user_url" in values and values["user_url"] != row["user_url"]:
            columns["user_url"] = values["user_url"]
        display = values.get("display_name") or naming.store_name(login)  # wp_update_user's default
        if display != row["display_name"]:
            columns["display_name"] = display
        suspended = SUSPENDED_PASS_META in meta
        writes: list[tuple[str, list]] = []
        if password_hash:
            end_sessions = True
            if suspended:
                writes += self._set_meta(uid, meta, {SUSPENDED_PASS_META: password_hash})
            else:
                columns["user_pass"] = password_hash
                columns["user_activation_key"] = ""
        if columns:
            writes.append((f"UPDATE {self.site.users} SET " + ", ".join(f"`{c}` = %s" for c in columns) + " WHERE ID = %s",
                           [*columns.values(), uid]))
        wanted = self._wordpress_meta(values, login)
        own = self._own_meta(user, stored, values, login, datetime.now(timezone.utc))
        stale = [
            k for k in meta
            if k.startswith(mapping.RESIDUE_PREFIX) and k not in own
            and (not k.startswith(mapping.STATE_PREFIX) or k == mapping.DEFAULTED_META)
        ]
        if stale:
            writes.append((f"DELETE FROM {self.site.usermeta} WHERE user_id = %s AND meta_key IN (" + ", ".join(["%s"] * len(stale)) + ")",
                           [uid, *stale]))
        writes += self._set_meta(uid, meta, {**wanted, **own})
        if end_sessions:
            writes.append(self._end_sessions(uid))
        roles = self.roles.recent(cursor)
        self._replace_roles(cursor, uid, user, meta, roles)  # sent at once: it reads the rows it edits
        active = user.get("active", not suspended)
        if active is False and not suspended:
            writes += self._suspension(uid)
        elif active is True and suspended:
            writes += self._restoration(uid)
        return self._commit_and_read(cursor, uid, writes, roles)

    def _replace_roles(self, cursor, user_id: int, user: dict, meta: dict, roles: Roles) -> None:
        wanted = self._wanted_roles(user, roles)
        if wanted is None:
            return
        held = roles.held(parse_caps(meta.get(self.site.capabilities_key)))
        self._check_role_policy([r for r in wanted if r not in held], [r for r in held if r not in wanted])
        if sorted(held) != sorted(wanted):

            def edit(caps: dict) -> dict:
                kept = {k: v for k, v in caps.items() if k not in roles.definitions}
                return {**{slug: True for slug in wanted}, **kept}

            self.roles.set_roles(cursor, roles, {user_id: edit})

    def _nicename_was_derived(self, nicename: str, login: str) -> bool:
        base = naming.nicename_base(login)
        if nicename == base:
            return True
        stem, _, number = nicename.rpartition("-")
        return number.isdigit() and int(number) >= 2 and stem == base[: 49 - len(number)]

    def _set_meta(self, user_id: int, current: dict, wanted: dict[str, str]) -> list[tuple[str, list]]:
        """update_user_meta() for several keys: update rows whose value differs, insert missing keys."""
        missing, writes = [], []
        for key, value in wanted.items():
            if key not in current:
                missing.append((key, value))
            elif current[key] != value:
                writes.append((f"UPDATE {self.site.usermeta} SET meta_value = %s WHERE user_id = %s AND meta_key = %s",
                               [value, user_id, key]))
        return writes + self._insert_meta(user_id, missing)

    def _end_sessions(self, user_id: int) -> tuple[str, list]:
        return f"DELETE FROM {self.site.usermeta} WHERE user_id = %s AND meta_key = 'session_tokens'", [user_id]

    # --- deactivation -------------------------------------------------------------------------

    def _suspension(self, user_id: int) -> list[tuple[str, list]]:
        """The user can no longer log in: real hash set aside (copied within MySQL: it never reaches
        wpscim), unusable one in place, sessions ended, application passwords set aside, reset keys
        cleared, multisite `spam` set. Reversible."""
        spam = ", spam = 1" if self.site.multisite else ""
        return [
            (f"INSERT INTO {self.site.usermeta} (user_id, meta_key, meta_value) SELECT ID, %s, user_pass FROM {self.site.users} "
             "WHERE ID = %s", [SUSPENDED_PASS_META, user_id]),
            (f"UPDATE {self.site.users} SET user_pass = %s, user_activation_key = ''{spam} WHERE ID = %s",
             [passwords.unusable_hash(self.site.db_version), user_id]),
            self._end_sessions(user_id),
            (f"UPDATE {self.site.usermeta} SET meta_key = %s WHERE user_id = %s AND meta_key = '_application_passwords'",
             [SUSPENDED_APP_PASSWORDS_META, user_id]),
        ]

    def _restoration(self, user_id: int) -> list[tuple[str, list]]:
        """Undo _suspension: the hash set aside (its first row) back in place, application passwords back."""
        spam = ", spam = 0" if self.site.multisite else ""
        return [
            (f"UPDATE {self.site.users} SET user_pass = (SELECT meta_value FROM {self.site.usermeta} WHERE user_id = %s "
             f"AND meta_key = %s ORDER BY umeta_id LIMIT 1){spam} WHERE ID = %s", [user_id, SUSPENDED_PASS_META, user_id]),
            (f"DELETE FROM {self.site.usermeta} WHERE user_id = %s AND meta_key = %s", [user_id, SUSPENDED_PASS_META]),
            (f"UPDATE {self.site.usermeta} SET meta_key = '_application_passwords' WHERE user_id = %s AND meta_key = %s",
             [user_id, SUSPENDED_APP_PASSWORDS_META]),
        ]

    # --- deletion -----------------------------------------------------------------------------

    def _content_owner_tables(self, cursor) -> list[tuple[str, str]]:
        """(table, owner column) of every posts and links table whose rows must be reassigned."""
        if self._content_tables is None:
            prefixes = [self.site.base_prefix]
            if self.site.multisite:
                cursor.execute(
                    "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
                    (f"{self.site.base_prefix}blogs",),
                )
                if cursor.fetchone():
                    cursor.execute(f"SELECT blog_id FROM `{self.site.base_prefix}blogs` WHERE blog_id <> 1")
                    prefixes += [f"{self.site.base_prefix}{row[0]}_" for row in cursor.fetchall()]
            wanted = {f"{p}posts": "post_author" for p in prefixes} | {f"{p}links": "link_owner" for p in prefixes}
            cursor.execute(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ("
                + ", ".join(["%s"] * len(wanted))
                + ")",
                list(wanted),
            )
            existing = {row[0] for row in cursor.fetchall()}
            self._content_tables = [(t, c) for t, c in wanted.items() if t in existing]
        return self._content_tables

    def _keeper(self, cursor, user_id: int) -> int | None:
        """--reassign-to, else the lowest-ID administrator of this site (on a network, then of the main site)."""
        if self.policy.reassign_to is not None:
            return self.policy.reassign_to
        keys = [self.site.capabilities_key]
        if self.site.multisite and self.site.blog_id != 1:
            keys.append(f"{self.site.base_prefix}capabilities")
        for key in keys:
            cursor.execute(
                f"SELECT user_id, meta_value FROM {self.site.usermeta} WHERE meta_key = %s AND meta_value LIKE %s "
                "AND user_id <> %s ORDER BY user_id",
                (key, '%"administrator"%', user_id),
            )
            for candidate, value in cursor.fetchall():
                if parse_caps(value).get("administrator"):
                    return candidate
        return None

    def delete(self, cursor, user_id: str) -> None:
        """wp_delete_user() with reassignment: posts and links go to the keeper, then usermeta and the row."""
        uid = int(user_id)
        keeper = self._keeper(cursor, uid)
        if keeper == uid:
            raise ScimError(409, f"user {uid} receives deleted users' posts (--reassign-to) and cannot be deleted", "mutability")
        tables = self._content_owner_tables(cursor)
        for table, column in tables:
            cursor.execute(f"SELECT 1 FROM `{table}` WHERE `{column}` = %s LIMIT 1", (uid,))
            if cursor.fetchone() is None:
                continue
            if keeper is None:
                raise ScimError(
                    409, f"user {uid} owns content and there is no administrator to receive it; set --reassign-to", "mutability"
                )
            cursor.execute(f"UPDATE `{table}` SET `{column}` = %s WHERE `{column}` = %s", (keeper, uid))
        cursor.execute(f"DELETE FROM {self.site.usermeta} WHERE user_id = %s", (uid,))
        cursor.execute(f"DELETE FROM {self.site.users} WHERE ID = %s", (uid,))
        self._total = None
        self._page_ends.clear()  # offsets after the deleted user shift by one
