"""Reading users: their users rows and the usermeta a representation needs, as few round trips and
as little client-side parsing as each kind of read allows, turned into SCIM Users by the mapping."""

from __future__ import annotations

import functools
from datetime import datetime

from wpscim.scim.resource import user_number
from wpscim.wordpress.mapping import USERNAME_META, Mapping
from wpscim.wordpress.metavalues import meta_value
from wpscim.wordpress.roles import Roles, RoleStore, parse_caps
from wpscim.wordpress.site import Site

PLAIN_READ_MAX = 10  # up to this many users are read as plain rows, more as packed rows (see UserReader.load_raw)
_ALWAYS_READ = ("first_name", "last_name", "nickname")  # a change event's snapshot of the user needs them


def _pairs(packed: str) -> list[tuple[str, str]]:
    """Unpack `<key length>,<value length>:<key><value>…` (see UserReader._load_packed)."""
    pairs = []
    at, end = 0, len(packed)
    while at < end:
        colon = packed.index(":", at)
        key_length, _, value_length = packed[at:colon].partition(",")
        key_end = colon + 1 + int(key_length)
        at = key_end + int(value_length)
        pairs.append((packed[colon + 1 : key_end], packed[key_end:at]))
    return pairs


def _pack(key_sql: str, value_sql: str) -> str:
    """SQL for one packed `<key length>,<value length>:<key><value>` item (lengths in characters)."""
    return f"CHAR_LENGTH({key_sql}), ',', CHAR_LENGTH(IFNULL({value_sql}, '')), ':', {key_sql}, IFNULL({value_sql}, '')"


def _registered(text: str):
    try:
        return datetime.fromisoformat(text)
    except ValueError:  # '0000-00-00 00:00:00' on old sites: shown as stored
        return text


class UserReader:
    def __init__(self, site: Site, roles: RoleStore, user_mapping: Mapping):
        self.site = site
        self.roles = roles
        self.mapping = user_mapping
        # The users columns a representation or a change needs (never user_pass: hashes are not read).
        self.columns = (
            "user_login",
            "user_nicename",
            "user_email",
            "user_url",
            "user_registered",
            "display_name",
            *(("spam",) if site.multisite else ()),
        )

    @functools.cached_property
    def wanted(self) -> tuple[str, tuple]:
        """The usermeta rows a representation is built from: the mapped keys, the capabilities, and
        everything under wpscim_. Keys compare as bytes, as WordPress's meta cache (a PHP array) does;
        that is also cheaper for MySQL than the column's case-insensitive collation."""
        keys = tuple(dict.fromkeys((*self.mapping.read_meta, *_ALWAYS_READ, self.site.capabilities_key)))
        sql = f"(BINARY m.meta_key IN ({', '.join(['%s'] * len(keys))}) OR BINARY m.meta_key LIKE 'wpscim\\_%%')"
        return sql, keys

    @functools.cached_property
    def _selected_columns(self) -> str:
        return ", ".join(f"u.{c}" for c in self.columns)

    def load_raw(self, session, ids: list[int], for_update: bool = False) -> tuple[dict[int, dict], dict[int, dict]]:
        """Users rows and the usermeta a representation needs (usermeta in umeta_id order). With
        `for_update` the users rows are locked, in the same round trip."""
        if len(ids) <= PLAIN_READ_MAX:
            session.execute(*self.plain_read(ids, for_update))
            user_rows = session.fetchall()
            session.nextset()
            return self.assemble(user_rows, session.fetchall())
        return self._load_packed(session, ids, for_update)

    def plain_read(self, ids: list[int], for_update: bool = False) -> tuple[str, list]:
        """A few users (a lookup, one user's GET or write): their rows, then their usermeta rows, in one
        round trip. For a handful of users this costs MySQL about a third of the packed read, whose
        GROUP_CONCAT has a fixed cost of ~0.2 ms per statement."""
        marks = ", ".join(["%s"] * len(ids))
        wanted, keys = self.wanted
        return (
            f"SELECT u.ID, {self._selected_columns} FROM {self.site.users} u WHERE u.ID IN ({marks}){' FOR UPDATE' if for_update else ''}; "
            f"SELECT m.user_id, m.meta_key, m.meta_value FROM {self.site.usermeta} m WHERE m.user_id IN ({marks}) AND {wanted} "
            "ORDER BY m.umeta_id"
        ), [*ids, *ids, *keys]

    def assemble(self, user_rows, meta_rows) -> tuple[dict[int, dict], dict[int, dict]]:
        """Users rows (ID, then self.columns) and usermeta rows (user_id, meta_key, meta_value, in
        umeta_id order) as load_raw returns them."""
        rows: dict[int, dict] = {}
        metas: dict[int, dict] = {}
        for user_id, *values in user_rows:
            row = rows[user_id] = {"ID": user_id, **{c: "" if v is None else v for c, v in zip(self.columns, values)}}
            if "spam" in row:
                row["spam"] = int(row["spam"] or 0)
            metas[user_id] = {}
        for user_id, key, value, *_ in meta_rows:
            if user_id in metas:
                metas[user_id].setdefault(key, "" if value is None else value)  # get_user_meta(…, true): the first row
        return rows, metas

    def by_login(self, session, user_name: str) -> list[dict]:
        """The users a `userName eq` lookup (every IdP's) can match, in one round trip: the users whose
        login matches (in the column's collation: a superset), their usermeta, and the IDs of users
        whose exact userName is kept in usermeta because their login had to differ; those few, if any
        are not among the first, are read after. Joined rather than read by ID after a first round trip
        for the IDs: ~13 % more lookups/s. MySQL would sort the joined usermeta in a temporary table,
        so they come with their umeta_id and are put in order here."""
        wanted, keys = self.wanted
        users, usermeta = self.site.users, self.site.usermeta
        session.execute(
            f"SELECT u.ID, {self._selected_columns} FROM {users} u WHERE u.user_login = %s; "
            f"SELECT m.user_id, m.meta_key, m.meta_value, m.umeta_id FROM {users} u JOIN {usermeta} m ON m.user_id = u.ID "
            f"WHERE u.user_login = %s AND {wanted}; "
            f"SELECT user_id FROM {usermeta} WHERE meta_key = %s AND meta_value = %s",
            [user_name, user_name, *keys, USERNAME_META, meta_value(user_name)],
        )
        user_rows = session.fetchall()
        session.nextset()
        meta_rows = sorted(session.fetchall(), key=lambda r: r[3])
        session.nextset()
        rows, metas = self.assemble(user_rows, meta_rows)
        renamed = sorted({user_id for (user_id,) in session.fetchall()} - rows.keys())
        if renamed:
            more_rows, more_metas = self.load_raw(session, renamed)
            rows.update(more_rows)
            metas.update(more_metas)
        roles = self.roles.recent(session)
        return [self.to_scim(rows[i], metas[i], roles) for i in sorted(rows)]

    def _load_packed(self, session, ids: list[int], for_update: bool) -> tuple[dict[int, dict], dict[int, dict]]:
        """Many users (a page): one result row per user, its ID and one string packing its users
        columns, then its usermeta in umeta_id order (GROUP_CONCAT). PyMySQL parses every result
        column's metadata and every row in Python; packed, a page of 100 users is 100 rows of 2 columns
        instead of 100 rows of 7 plus ~900 usermeta rows (about half the client CPU; MySQL's work is
        about the same)."""
        marks = ", ".join(["%s"] * len(ids))
        wanted, keys = self.wanted
        meta = (
            f"SELECT GROUP_CONCAT(CONCAT({_pack('m.meta_key', 'm.meta_value')}) ORDER BY m.umeta_id SEPARATOR '') "
            f"FROM {self.site.usermeta} m WHERE m.user_id = u.ID AND {wanted}"
        )
        columns = ", ".join(_pack(f"'{c}'", f"u.{c}") for c in self.columns)
        lock = f"SELECT ID FROM {self.site.users} WHERE ID IN ({marks}) FOR UPDATE; " if for_update else ""
        session.execute(
            f"{lock}SELECT u.ID, CONCAT({columns}, IFNULL(({meta}), '')) FROM {self.site.users} u WHERE u.ID IN ({marks})",
            [*(ids if for_update else ()), *keys, *ids],
        )
        if for_update:
            session.nextset()
        rows: dict[int, dict] = {}
        metas: dict[int, dict] = {}
        width = len(self.columns)
        for user_id, packed in session.fetchall():
            pairs = _pairs(packed)
            row = rows[user_id] = {"ID": user_id, **dict(pairs[:width])}
            row["user_registered"] = _registered(row["user_registered"])
            if "spam" in row:
                row["spam"] = int(row["spam"] or 0)
            meta = metas[user_id] = {}
            for key, value in pairs[width:]:
                meta.setdefault(key, value)  # get_user_meta(…, true) takes the first row
        return rows, metas

    def load(self, session, ids: list[int]) -> list[dict]:
        """SCIM users for `ids`, in that order (absent ones left out)."""
        if not ids:
            return []
        rows, metas = self.load_raw(session, ids)
        roles = self.roles.recent(session)
        return [self.to_scim(rows[i], metas[i], roles) for i in ids if i in rows]

    def to_scim(self, row: dict, meta: dict, roles: Roles) -> dict:
        user = self.mapping.from_storage(row, meta)
        held = roles.held(parse_caps(meta.get(self.site.capabilities_key)))
        if held:  # read-only `groups` and writable `roles` both show the user's WordPress roles
            user["groups"] = [{"value": slug, "display": roles.display(slug), "type": "direct"} for slug in held]
            user["roles"] = [{"value": slug, "display": roles.display(slug)} for slug in held]
        return user

    def held_roles(self, meta: dict, roles: Roles) -> list[str]:
        return roles.held(parse_caps(meta.get(self.site.capabilities_key)))

    def get(self, session, user_id: str) -> dict | None:
        uid = user_number(user_id)
        if uid is None:
            return None
        found = self.load(session, [uid])
        return found[0] if found else None

    def get_for_update(self, tx, user_id: str) -> dict | None:
        """The user, its users row locked for the transaction; the rows read are kept on it (tx.loaded)
        for the write that follows."""
        uid = user_number(user_id)
        if uid is None:
            return None
        rows, metas = self.load_raw(tx, [uid], for_update=True)
        if uid not in rows:
            return None
        tx.loaded[uid] = (rows[uid], metas[uid])
        return self.to_scim(rows[uid], metas[uid], self.roles.recent(tx))
