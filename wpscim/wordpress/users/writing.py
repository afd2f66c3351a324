"""Writing users: the rows wp_insert_user() would write for a new user, and wp_update_user()'s changes
for PUT and PATCH (one write path for both), each with its change event."""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from datetime import UTC, datetime
from typing import NamedTuple

import pymysql

from wpscim.scim.jsontext import dumps, loads
from wpscim.wordpress import mapping, naming, passwords, userfields
from wpscim.wordpress.db import Transaction, locks_missing, refuse_if_any, refused
from wpscim.wordpress.errors import Conflict, Invalid
from wpscim.wordpress.events import Event, user_snapshot
from wpscim.wordpress.mapping import SUSPENDED_PASS_META, USERNAME_META, StoredUser
from wpscim.wordpress.metavalues import meta_value
from wpscim.wordpress.roles import Roles, parse_caps
from wpscim.wordpress.site import serialize
from wpscim.wordpress.users import deprovisioning
from wpscim.wordpress.users.claims import Claims
from wpscim.wordpress.users.reading import UserReader

EMAIL_MAX = 100
URL_MAX = userfields.URL_MAX
DISPLAY_MAX = 250
_NOT_COMPARED = {"schemas", "id", "meta", "groups"}
# A create sent again answers with the user it made (see UserWriter._replayed) if it began from
# REPLAY_AFTER_SECONDS (sooner, it is a parallel duplicate: 409) until REPLAY_MINUTES after the first.
REPLAY_AFTER_SECONDS, REPLAY_MINUTES = 5, 10
log = logging.getLogger("wpscim")


@functools.lru_cache(maxsize=64)
def _caps_text(roles: tuple[str, ...]) -> str:
    """The wp_capabilities value granting `roles` (serialized once per set of roles)."""
    return serialize({slug: True for slug in roles})


class _Insert(NamedTuple):
    sql: str
    params: list
    row: dict  # the users columns written (no ID yet)
    meta: dict[str, str]  # the usermeta written, first row per key


def _fingerprint(user: dict) -> str:
    """A digest of a create's body, kept in the change log: a create sent again has the same one. Its
    password is not in `user`; a member named password anywhere else (an extension's, say) is left out
    too, as an unsalted digest of it could be guessed back."""
    material = dumps(user, sort_keys=True)
    if b'"password"' in material.lower():
        material = dumps(mapping.without_passwords(user), sort_keys=True)
    return hashlib.sha256(material).hexdigest()[:32]


def changed_attributes(before: dict, after: dict, password: bool) -> tuple[str, ...]:
    """The top-level attribute names whose values differ (names only, never values)."""
    names = {key for key in set(before) | set(after) if key not in _NOT_COMPARED and before.get(key) != after.get(key)}
    if password:
        names.add("password")
    return tuple(sorted(names))


class UserWriter:
    def __init__(self, reader: UserReader, claims: Claims, roles, role_policy_check):
        self.reader = reader
        self.claims = claims
        self.site = reader.site
        self.mapping = reader.mapping
        self.roles = roles
        self._check_role_policy = role_policy_check

    # --- values -------------------------------------------------------------------------------

    def validate(self, stored: StoredUser) -> dict[str, str]:
        """WordPress-ready values of the mapped fields (by column or meta key), or Invalid for values
        WordPress cannot hold."""
        if len(stored.email) > EMAIL_MAX:
            raise Invalid(f"email is longer than WordPress's {EMAIL_MAX} characters")
        if stored.email:
            # wp_insert_user() stores sanitize_email()'s repair of an address; the e-mail is an identity
            # (unique, matched by IdPs), so one WordPress would store otherwise is refused instead.
            kept = userfields.store_email(stored.email)
            if "@" not in stored.email or kept != stored.email:
                raise Invalid(
                    f"'{stored.email}' is not an e-mail address WordPress stores as it is"
                    + (f" (it would store '{kept}')" if kept and kept != stored.email else "")
                )
        targets = stored.targets
        if not userfields.url_fits(targets.get("user_url", "")):
            raise Invalid(f"profileUrl is longer than WordPress's {URL_MAX} characters")
        if len(targets.get("display_name", "")) > DISPLAY_MAX:
            raise Invalid(f"displayName is longer than WordPress's {DISPLAY_MAX} characters")
        return targets

    def wanted_roles(self, user: dict, roles: Roles) -> list[str] | None:
        """The role slugs the User's `roles` attribute asks for (by slug or role name), None if absent."""
        if "roles" not in user:
            return None
        wanted, unknown = [], []
        for item in user["roles"]:
            value = str(item.get("value") or item.get("display") or "")
            slug = value if value in roles.definitions else self.roles.find_by_name(roles, value)
            (wanted if slug else unknown).append(slug or value)
        if unknown:
            raise Invalid(f"no WordPress role {', '.join(repr(u) for u in unknown)}")
        return list(dict.fromkeys(wanted))

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

    def _own_meta(
        self, user: dict, stored: StoredUser, values: dict, login: str, now: datetime, names_derived: bool = False
    ) -> dict[str, str]:
        """wpscim's usermeta rows for `user`: exact userName, externalId, lastModified, residue, defaults."""
        own = {}
        unassigned = self.mapping.defaulted(user, names_derived)
        if unassigned:
            own[mapping.DEFAULTED_META] = unassigned
        if stored.user_name != login:
            own[USERNAME_META] = stored.user_name
        if values.get("wpscim_externalId"):
            own["wpscim_externalId"] = values["wpscim_externalId"]
        own["wpscim_meta.lastModified"] = mapping.iso(now)
        own.update(stored.residue)  # never one of the keys above: Mapping._kept_key refuses or drops those
        return own

    # --- create -------------------------------------------------------------------------------

    def create(self, tx: Transaction, user: dict, password_hash: str | None, password: str | None = None) -> dict:
        """Insert the user as wp_insert_user() would, and commit; returns its SCIM representation.

        Usually one round trip: take the uniqueness locks; refuse (error REFUSED, which stops the round
        trip) if a lock was not free or the userName, email, login or nicename is taken; insert the
        users row, its usermeta and the change event; commit; release the locks. After a refusal the
        locks are held, so the questions are asked again one by one (Conflict, Unavailable, or the next
        free login and nicename, as WordPress picks them) and the insert is sent on its own.

        `password`: the password `password_hash` was made from, which a create sent again must carry
        for it to be answered as the first one was (see _replayed)."""
        stored = self.mapping.to_storage(user)
        values = self.validate(stored)
        base = self.claims.login_base(stored.user_name)
        roles = self.roles.recent(tx)
        wanted = self.wanted_roles(user, roles)
        if wanted:
            self._check_role_policy(roles, wanted, [])
        else:  # a site whose new users become administrators gets none through SCIM
            self.roles.refuse_administering(roles, roles.default_role, " (the site's default role for new users)")
        caps = {slug: True for slug in (wanted or [roles.default_role])}
        now = datetime.now(UTC)
        # With nothing left to do (no suspension), the insert's round trip also commits and releases the locks.
        suspend = user.get("active") is False
        take, lock_params, locks = tx.take_locks(self.claims.lock_names(stored.user_name, stored.email, base))
        claims, claim_params = self.claims.questions(stored, base)
        insert = self._insert(user, stored, values, base, naming.nicename_base(base), caps, roles, now, password_hash)
        retry = {"fingerprint": _fingerprint(user), "began": round(time.time(), 3)}  # see _replayed
        event = Event(
            "create",
            "User",
            None,
            tuple(sorted({*user} - _NOT_COMPARED | ({"password"} if password_hash else set()))),
            {"after": user_snapshot(None, insert.row, insert.meta, list(caps)), **retry},
        )
        if not suspend:
            tx.record(event)
        finish = tx.run if suspend else tx.commit_with
        try:
            user_id = finish(
                f"{take}; {refuse_if_any(f'{locks_missing(locks)} UNION ALL {claims}')}; {insert.sql}",
                [*lock_params, *claim_params, *insert.params],
            )
        except pymysql.err.OperationalError as exc:
            if not refused(exc):
                raise
            try:
                login, nicename = self.claims.resolve(tx, stored, base, locks)
            except Conflict:
                replayed = self._replayed(tx, stored, retry, password_hash, password)
                if replayed is None:
                    raise
                if not suspend:
                    tx.events.remove(event)  # nothing was created: no event (its @wpscim_user would be stale)
                return replayed
            insert = self._insert(user, stored, values, login, nicename, caps, roles, now, password_hash)
            event.detail = {"after": user_snapshot(None, insert.row, insert.meta, list(caps)), **retry}
            user_id = finish(insert.sql, insert.params)
        event.resource_id = str(user_id)
        event.detail["after"]["ID"] = user_id
        if suspend:
            tx.record(event)
            return self._commit_and_read(tx, user_id, deprovisioning.suspension(self.site, user_id), roles)
        # What was just written, read back without another round trip.
        return self.reader.to_scim({**insert.row, "ID": user_id}, insert.meta, roles)

    def _replayed(self, tx: Transaction, stored: StoredUser, retry: dict, password_hash: str | None, password: str | None) -> dict | None:
        """The user that holds this userName, if this same token created it with this same body in a
        request that began REPLAY_AFTER_SECONDS to REPLAY_MINUTES before this one: a create sent again
        because its answer was lost (a 503 while the database stalled or restarted, whose COMMIT had in
        fact happened) answers with its user, not with 409 for it. Duplicates sent in parallel begin
        together, and all but one are refused. (Clocks: the wpscim hosts' own, not the database's, which
        holds a stalled COMMIT back until it resumes.)

        A create that carries a password is answered so only if the user's password is still that one
        (the fingerprint leaves passwords out: it is kept in the change log): answered with the user,
        a different password would be reported as set and never be. Without the password itself to
        check (a `password_hash` but no `password`) it is not answered so either."""
        for candidate in self.reader.by_login(tx, stored.user_name):
            if candidate["userName"].lower() != stored.user_name.lower():
                continue
            tx.execute(
                f"SELECT actor, detail FROM `{self.site.prefix}wpscim_events` WHERE resource_type = 'User' "
                "AND resource_id = %s AND action = 'create' ORDER BY id DESC LIMIT 1",
                (candidate["id"],),
            )
            row = tx.fetchone()
            first = loads(row[1]) if row and row[0] == tx.actor else {}
            since = retry["began"] - first.get("began", retry["began"])
            if first.get("fingerprint") == retry["fingerprint"] and REPLAY_AFTER_SECONDS <= since <= REPLAY_MINUTES * 60:
                if password_hash is not None and (
                    password is None or not passwords.check_password(password, self._password_hash(tx, int(candidate["id"])))
                ):
                    log.info(
                        "request %s: a create of user %s was sent again with another password; refused as a duplicate",
                        tx.request_id,
                        candidate["id"],
                    )
                    return None
                log.info(
                    "request %s: the create of user %s was sent again; answering with the user it created", tx.request_id, candidate["id"]
                )
                return candidate
        return None

    def _password_hash(self, tx: Transaction, user_id: int) -> str:
        """The hash the user signs in with: a suspended user's is set aside (deprovisioning.suspension)."""
        tx.execute(
            f"SELECT COALESCE((SELECT meta_value FROM {self.site.usermeta} WHERE user_id = u.ID AND meta_key = %s "
            f"ORDER BY umeta_id LIMIT 1), u.user_pass) FROM {self.site.users} u WHERE u.ID = %s",
            (SUSPENDED_PASS_META, user_id),
        )
        row = tx.fetchone()
        return str(row[0]) if row and row[0] is not None else ""

    def _insert(
        self,
        user: dict,
        stored: StoredUser,
        values: dict,
        login: str,
        nicename: str,
        caps: dict,
        roles: Roles,
        now: datetime,
        password_hash: str | None,
    ) -> _Insert:
        """The users row and its usermeta in one round trip: the new ID is kept in `@wpscim_user` right
        after the users row (LAST_INSERT_ID() changes with the next insert), and the meta rows and the
        change event (wpscim.wordpress.events) take it from there."""
        # WordPress's default from the names; its non-strict session cuts it to the column's 250 characters.
        display = (
            values.get("display_name")
            or naming.store_name(naming.default_display_name(login, values.get("first_name", ""), values.get("last_name", "")))[
                :DISPLAY_MAX
            ]
        )
        given = self._wordpress_meta(values, login)
        texts = [(key, given.pop(key, default)) for key, default in self.site.usermeta_defaults()]
        texts += list(given.items())  # the site's mapped keys, as `meta_input` would write them
        rows = [(key, meta_value(text)) for key, text in texts]  # as update_user_meta() writes them
        rows += [
            (self.site.capabilities_key, _caps_text(tuple(caps))),  # WordPress serializes the array: this is it
            (self.site.user_level_key, str(roles.user_level(caps))),
        ]
        rows += [(key, meta_value(text)) for key, text in self._own_meta(user, stored, values, login, now).items()]
        sql = (
            f"INSERT INTO {self.site.users} (user_login, user_pass, user_nicename, user_email, user_url, "
            "user_registered, user_activation_key, display_name) VALUES (%s, %s, %s, %s, %s, %s, '', %s); "
            f"SET @wpscim_user = LAST_INSERT_ID(); INSERT INTO {self.site.usermeta} (user_id, meta_key, meta_value) VALUES "
            + ", ".join(["(@wpscim_user, %s, %s)"] * len(rows))
        )
        params = [
            login,
            password_hash or passwords.unusable_hash(self.site.db_version),
            nicename,
            stored.email,
            values.get("user_url", ""),
            now.strftime("%Y-%m-%d %H:%M:%S"),
            display,
            *(v for row in rows for v in row),
        ]
        row = {
            "user_login": login,
            "user_nicename": nicename,
            "user_email": stored.email,
            "user_url": values.get("user_url", ""),
            "user_registered": now.replace(microsecond=0, tzinfo=None),
            "display_name": display,
        }
        meta: dict[str, str] = {}
        for key, value in rows:
            meta.setdefault(key, value)
        return _Insert(sql, params, row, meta)

    # --- replace ------------------------------------------------------------------------------

    def _commit_and_read(self, tx: Transaction, user_id: int, writes: list[tuple[str, list]], roles: Roles) -> dict:
        """`writes`, the user read back as stored, the events and the COMMIT, in one round trip; the
        user's SCIM representation."""
        read_sql, read_params = self.reader.plain_read([user_id])
        results: list = []
        tx.commit_with(
            "; ".join([*(sql for sql, _ in writes), read_sql]), [*(v for _, params in writes for v in params), *read_params], results
        )
        if tx.answer_lost:  # committed, but the read-back never arrived
            with tx.db.reading() as session:
                return self.reader.get(session, str(user_id))
        rows, metas = self.reader.assemble(*results)
        return self.reader.to_scim(rows[user_id], metas[user_id], roles)

    def replace(
        self,
        tx: Transaction,
        user_id: int,
        user: dict,
        password_hash: str | None,
        before: dict | None,
        unassigned_active_reactivates: bool = False,
    ) -> dict:
        """Make user `user_id` (locked by UserReader.get_for_update) equal `user`, as PUT and PATCH do,
        and commit; returns the user as stored. The questions a rename asks are sent as they come; the
        writes, the read-back, the event and the COMMIT go in one round trip. Without `active`, a
        suspended user stays suspended (a PUT that leaves it out), unless `unassigned_active_reactivates`
        (a PATCH that removed it: WordPress's default, active, is then what the client asked for)."""
        uid = user_id
        if uid not in tx.loaded:
            before = self.reader.get_for_update(tx, str(uid))
        row, meta = tx.loaded[uid]
        names_derived = getattr(before, "derived", None) is not None and "name" not in user
        current_name = meta.get(USERNAME_META) or row["user_login"]
        stored = self.mapping.to_storage(user)
        values = self.validate(stored)
        name_changed = stored.user_name != current_name
        email_changed = stored.email.lower() != row["user_email"].lower()
        # Only its letter case: no other user can hold it (MySQL compares e-mails without case) and it
        # signs in as before (so no administrator's sign-in changes), but WordPress would store it as sent.
        email_recased = not email_changed and stored.email != row["user_email"]
        if not self.roles.policy.administrator_credentials:
            sign_in = [n for n, changed in (("userName", name_changed), ("email", email_changed), ("password", password_hash)) if changed]
            caps = parse_caps(meta.get(self.site.capabilities_key))
            self.roles.guard.refuse_sign_in_change(tx, self.roles.recent(tx), uid, caps, row["user_login"], sign_in)
        columns: dict[str, object] = {}
        login = row["user_login"]
        end_sessions = False
        base = None
        if name_changed or email_changed:
            base = self.claims.login_base(stored.user_name) if name_changed else None
            self.claims.lock_and_check_rename(tx, stored, uid, name_changed, email_changed, base)
        if name_changed:
            if base != row["user_login"]:
                login = self.claims.choose_login(tx, base, uid)
            if login != row["user_login"]:
                columns["user_login"] = login
                if _nicename_was_derived(row["user_nicename"], row["user_login"]):
                    columns["user_nicename"] = self.claims.choose_nicename(tx, login)
                end_sessions = True  # the login is part of every auth cookie
        if email_changed or email_recased:
            columns["user_email"] = stored.email
        if email_changed:
            columns["user_activation_key"] = ""
        if "user_url" in values and values["user_url"] != row["user_url"]:
            columns["user_url"] = values["user_url"]
        # wp_update_user() keeps the display name unless one is given: a PATCH of name.givenName must not
        # change the name the site shows on the user's posts.
        display = values.get("display_name") or row["display_name"] or naming.store_name(login)
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
            writes.append(
                (f"UPDATE {self.site.users} SET " + ", ".join(f"`{c}` = %s" for c in columns) + " WHERE ID = %s", [*columns.values(), uid])
            )
        wanted = self._wordpress_meta(values, login)
        own = self._own_meta(user, stored, values, login, datetime.now(UTC), names_derived)
        stale = [
            k
            for k in meta
            if k.startswith(mapping.RESIDUE_PREFIX)
            and k not in own
            and (not k.startswith(mapping.STATE_PREFIX) or k == mapping.DEFAULTED_META)
        ]
        if stale:
            writes.append(
                (
                    # BINARY: MySQL's collation would take a stale 'wpscim_meta.LASTMODIFIED' for wpscim's own row
                    f"DELETE FROM {self.site.usermeta} WHERE user_id = %s AND BINARY meta_key IN (" + ", ".join(["%s"] * len(stale)) + ")",
                    [uid, *stale],
                )
            )
        meta_writes = {**wanted, **own}
        writes += self._set_meta(uid, meta, meta_writes)
        if end_sessions:
            writes.append(deprovisioning.end_sessions(self.site, uid))
        roles = self.roles.recent(tx)
        held = self.reader.held_roles(meta, roles)
        roles_after = self._replace_roles(tx, uid, user, meta, roles)
        active = user.get("active", True if unassigned_active_reactivates else not suspended)
        action = "update"
        if active is False and not suspended:
            # Judged by the capabilities the user keeps as well as those it had: a role change in the same
            # write may leave a capability of its own (manage_options) that still makes it an administrator,
            # one the suspension then locks out.
            caps = parse_caps(meta.get(self.site.capabilities_key))
            kept = caps if roles_after is None else _with_roles(caps, roles_after, roles)
            self.roles.guard.keep_one_of(tx, roles, uid, (caps, kept), f"deactivating user {uid}")
            writes += deprovisioning.suspension(self.site, uid)
            action = "deactivate"
        elif active is True and suspended:
            writes += deprovisioning.restoration(self.site, uid)
            action = "reactivate"
        after_row = {**row, **{k: v for k, v in columns.items() if k != "user_pass"}}
        tx.record(
            Event(
                action,
                "User",
                str(uid),
                changed_attributes(before or {}, user, bool(password_hash)),
                {
                    "before": user_snapshot(uid, row, meta, held),
                    "after": user_snapshot(
                        uid, after_row, {**meta, **{k: meta_value(v) for k, v in meta_writes.items()}}, roles_after or held
                    ),
                },
            )
        )
        return self._commit_and_read(tx, uid, writes, roles)

    def _replace_roles(self, tx: Transaction, user_id: int, user: dict, meta: dict, roles: Roles) -> list[str] | None:
        """The user's roles set to what `user` asks (sent at once: it reads the rows it edits); the roles
        held afterwards, or None if `user` does not say."""
        wanted = self.wanted_roles(user, roles)
        if wanted is None:
            return None
        held = roles.held(parse_caps(meta.get(self.site.capabilities_key)))
        self._check_role_policy(roles, [r for r in wanted if r not in held], [r for r in held if r not in wanted])
        if sorted(held) != sorted(wanted):
            self.roles.set_roles(tx, roles, {user_id: lambda caps: _with_roles(caps, wanted, roles)})
        return wanted

    def _set_meta(self, user_id: int, current: dict, wanted: dict[str, str]) -> list[tuple[str, list]]:
        """update_user_meta() for several keys: update rows whose value differs, insert missing keys."""
        missing, writes = [], []
        for key, text in wanted.items():
            value = meta_value(text)  # as update_user_meta() writes it
            if key not in current:
                missing.append((key, value))
            elif current[key] != value:
                writes.append(
                    (f"UPDATE {self.site.usermeta} SET meta_value = %s WHERE user_id = %s AND meta_key = %s", [value, user_id, key])
                )
        if missing:
            writes.append(
                (
                    f"INSERT INTO {self.site.usermeta} (user_id, meta_key, meta_value) VALUES "
                    + ", ".join(["(%s, %s, %s)"] * len(missing)),
                    [v for key, value in missing for v in (user_id, key, value)],
                )
            )
        return writes


def _with_roles(caps: dict, wanted: list[str], roles: Roles) -> dict:
    """`caps` with its roles replaced by `wanted`; the user's own capabilities kept."""
    return {**{slug: True for slug in wanted}, **{k: v for k, v in caps.items() if k not in roles.definitions}}


def _nicename_was_derived(nicename: str, login: str) -> bool:
    base = naming.nicename_base(login)
    if nicename == base:
        return True
    stem, _, number = nicename.rpartition("-")
    return number.isdigit() and int(number) >= 2 and stem == base[: 49 - len(number)]
