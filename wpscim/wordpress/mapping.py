"""Where each SCIM User attribute lives in WordPress — one declared table, and the two conversions.

A `Field` routes one SCIM attribute path (`name.givenName`, `urn:…:enterprise:2.0:User:organization`,
`phoneNumbers[type eq "work"].value`) to a users column or a usermeta key. DEFAULT_FIELDS is the
built-in table; a site's mapping file (wpscim/wordpress/mapping_file.py) overrides and extends it.

Every attribute a client sends is also kept as JSON in usermeta `wpscim_<attribute>` (the residue), so
nothing is silently dropped and changing the mapping never loses data: on read, a mapped WordPress
value wins when it has one, the residue answers otherwise. Keys starting `wpscim__` hold wpscim's own
state (a suspended user's password hash, …).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from wpscim.scim import filter as scim_filter
from wpscim.scim import schemas
from wpscim.scim.filter import find_key
from wpscim.scim.jsontext import dumps_text, loads
from wpscim.scim.patch import PatchPath, parse_patch_path, seed_from_filter
from wpscim.scim.resource import READ_ONLY_TOP, primary_email
from wpscim.wordpress import naming, userfields
from wpscim.wordpress.errors import Invalid
from wpscim.wordpress.kses import Unstorable
from wpscim.wordpress.metavalues import meta_text

TRANSFORMS = ("name", "locale", "lower", "join")
DIRECTIONS = ("both", "read", "write")


@dataclass(frozen=True)
class Field:
    scim: str  # SCIM attribute path
    column: str | None = None  # a {prefix}users column …
    meta_key: str | None = None  # … or a usermeta key
    transform: str | None = None  # name: HTML-escaped like WordPress's name filters; locale: en-US <-> en_US;
    #                               lower: lower-cased on write; join: `sources` joined by spaces on write
    sources: tuple[str, ...] = ()
    direction: str = "both"  # both | read (WordPress -> SCIM only) | write (SCIM -> WordPress only)
    writable: bool = True  # False: WordPress owns the value (meta.created)
    case_exact: bool = False
    type: str = "string"  # the SCIM type: string, boolean, integer or decimal values are stored as text

    @cached_property
    def target(self) -> str:
        return self.column or self.meta_key

    @cached_property
    def path(self) -> PatchPath:
        return parse_patch_path(self.scim)

    @cached_property
    def escaped(self) -> bool:
        """WordPress's name filters store these HTML-escaped, whatever writes them."""
        return self.transform == "name" or self.target in WORDPRESS_NAME_FIELDS

    @cached_property
    def names_locale(self) -> bool:
        """WordPress reads the value as a locale (get_user_locale()), and loads the file named after it."""
        return self.transform == "locale" or self.meta_key == "locale"

    def to_wordpress(self, value) -> str:
        """The value WordPress would store for `value` in this field's column or key (before
        update_user_meta()'s maybe_serialize, which the writer applies to every meta value)."""
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, (int, float)):
            value = str(value)
        if self.transform == "locale":
            value = naming.wp_locale(value)
        elif self.transform == "lower":
            value = value.lower()
        return self.filtered(value)

    def filtered(self, value: str) -> str:
        """What WordPress's filters for this field's column or key make of `value`, whatever transform
        produced it: wp_insert_user() filters what it is given, not what a mapping meant."""
        if self.escaped:
            return naming.store_name(value)
        sanitize = WORDPRESS_SANITIZED.get(self.target)
        if sanitize is not None:
            if value == "0":  # wp_insert_user() takes a raw "0" as empty (PHP's empty())
                return ""
            try:
                return sanitize(value)
            except Unstorable:
                raise Invalid(f"WordPress cannot store this {self.scim}") from None
        return value

    def from_wordpress(self, value: str):
        if self.type == "boolean":
            return value.strip().lower() in ("1", "true", "yes", "on")
        if self.type in ("integer", "decimal"):
            try:
                return int(value) if self.type == "integer" else float(value)
            except ValueError:
                return value
        if self.escaped:
            return naming.read_name(value)
        if self.transform == "locale":
            return naming.scim_locale(value)
        return value


WORDPRESS_NAME_FIELDS = ("display_name", "first_name", "last_name", "nickname")
# The other fields wp_insert_user() filters before storing them (pre_user_url, pre_user_description).
WORDPRESS_SANITIZED = {"user_url": userfields.store_url, "description": userfields.store_description}

DEFAULT_FIELDS: tuple[Field, ...] = (
    Field("userName", column="user_login"),  # exact userName in `wpscim_userName` when the login had to differ
    Field("emails", column="user_email"),  # the primary email; the whole list also in `wpscim_emails`
    Field("name.givenName", meta_key="first_name", transform="name"),
    Field("name.familyName", meta_key="last_name", transform="name"),
    Field("displayName", column="display_name", transform="name"),
    Field("nickName", meta_key="nickname", transform="name"),
    Field("profileUrl", column="user_url"),
    Field("locale", meta_key="locale", transform="locale"),
    Field("meta.created", column="user_registered", writable=False),
    Field("externalId", meta_key="wpscim_externalId", case_exact=True),
    Field("meta.lastModified", meta_key="wpscim_meta.lastModified", writable=False),
)
# Fields the user-writing code handles itself rather than through `targets`.
SPECIAL = {"userName", "emails", "meta.created", "meta.lastModified"}

USERNAME_META = "wpscim_userName"
EMAILS_META = "wpscim_emails"
RESIDUE_PREFIX = "wpscim_"
STATE_PREFIX = "wpscim__"
SUSPENDED_PASS_META = "wpscim__suspended_pass"
SUSPENDED_APP_PASSWORDS_META = "wpscim__suspended_application_passwords"
# Attributes WordPress always has a value for (it fills in defaults) that the client left unassigned:
# not reported, so a SCIM client reads back what it wrote. JSON list of SCIM attribute names.
DEFAULTED_META = "wpscim__defaulted"
DEFAULTABLE = ("displayName", "nickName", "active")

# ASCII only (RFC 7643 §2.1: ALPHA is ASCII): MySQL's meta_key collation also takes accents and compatibility
# forms for the plain letter (`wpscim_méta…` = `wpscim_meta…`), so only an ASCII name can be told apart,
# case aside, from wpscim's own keys.
_RESIDUE_NAME = re.compile(r"^[A-Za-z][\w$.:-]{0,200}$", re.ASCII)
# SCIM's own attributes (`meta.lastModified`, `id.value`, `urn:…:core:2.0:User:meta.created`, any case) are read-only:
# ignored when sent, as `meta` and `id` are (RFC 7643 §3.1). Kept, they would be wpscim's own wpscim_meta.* keys.
_READ_ONLY_HEADS = tuple(f"{name}." for name in READ_ONLY_TOP)
# Attributes kept as JSON (the residue) are bounded: every one is a usermeta row WordPress loads with the user.
MAX_KEPT_ATTRIBUTES = 64
MAX_KEPT_ATTRIBUTE_BYTES = 64 * 1024
MAX_KEPT_BYTES = 256 * 1024
_CONSUMED_TOP = {"userName", "displayName", "nickName", "profileUrl", "locale", "externalId", "active", "password", "roles", "groups"}


def get_value(user: dict, path: PatchPath):
    """The value at `path` in a canonical user (None if absent)."""
    container = user[find_key(user, path.urn)] if path.urn and find_key(user, path.urn) else (None if path.urn else user)
    key = find_key(container, path.attr)
    if key is None:
        return None
    value = container[key]
    if path.value_filter is not None:
        items = [i for i in (value if isinstance(value, list) else [value]) if isinstance(i, dict)]
        value = next((i for i in items if scim_filter.matches(path.value_filter, i)), None)
    if path.sub is not None:
        if isinstance(value, list):  # a sub-attribute of a multi-valued attribute: the primary, else the first
            value = next((i for i in value if isinstance(i, dict) and i.get("primary") is True), value[0] if value else None)
        sub = find_key(value, path.sub)
        value = value[sub] if sub else None
    return value


def set_value(user: dict, path: PatchPath, value) -> None:
    """Put `value` at `path` (for a value path: into the matching item, appended if there is none)."""
    container = user
    if path.urn:
        container = user.setdefault(find_key(user, path.urn) or path.urn, {})
    key = find_key(container, path.attr) or path.attr
    if path.value_filter is None and path.sub is None:
        container[key] = value
        return
    if path.value_filter is None:
        target = container.setdefault(key, {})
        if isinstance(target, dict):
            target[path.sub] = value
        return
    items = container.setdefault(key, [])
    if not isinstance(items, list):
        return  # a filter on an attribute holding one value: the mapping checks refuse it
    item = next((i for i in items if isinstance(i, dict) and scim_filter.matches(path.value_filter, i)), None)
    if item is None:
        item = seed_from_filter(path.value_filter)
        items.append(item)
    if path.sub:
        item[find_key(item, path.sub) or path.sub] = value


@dataclass
class StoredUser:
    """A canonical SCIM User split the way WordPress stores it."""

    user_name: str
    email: str
    targets: dict  # column or meta key -> WordPress-ready value ('' when absent), for every written field
    residue: dict  # usermeta key -> JSON text


def without_passwords(value):
    """`value` with every member named password (in any case, at any depth) left out: an attribute
    wpscim keeps as sent is stored in clear text and answered back, and a password never is."""
    if isinstance(value, dict):
        return {k: without_passwords(v) for k, v in value.items() if not (isinstance(k, str) and k.lower() == "password")}
    if isinstance(value, list):
        return [without_passwords(v) for v in value]
    return value


@dataclass
class Mapping:
    fields: tuple[Field, ...] = DEFAULT_FIELDS
    source: str = "built-in"
    by_path: dict = field(init=False)

    def __post_init__(self):
        self.by_path = {f.scim.lower(): f for f in self.fields}
        # Derived once: every create, replace and read walks these.
        own = {"first_name", "last_name", "nickname", "locale"}
        self._extra_meta = [f for f in self.fields if f.meta_key and f.meta_key not in own and not f.meta_key.startswith(RESIDUE_PREFIX)]
        self._written = [f for f in self.fields if f.writable and f.direction != "read" and f.scim not in SPECIAL]
        self._joined = {f.scim for f in self.fields if f.transform == "join"}
        self._read = [f for f in self.fields if f.scim not in SPECIAL and f.scim != "externalId" and f.direction != "write"]
        # usermeta keys wpscim reads or writes (besides its wpscim__ state), lower-cased as MySQL compares keys.
        own = (USERNAME_META, EMAILS_META, *(f.meta_key for f in self.fields if f.meta_key))
        self._own_keys = frozenset(k.lower() for k in own)

    def field_for(self, path: scim_filter.AttrPath) -> Field | None:
        """The field a filter path names (`urn:…:User:organization`, `name.givenName`)."""
        text = (path.attr + ("." + path.sub if path.sub else "")).lower()
        if path.urn and path.urn.lower() != schemas.CORE_USER.lower():
            text = f"{path.urn.lower()}:{text}"
        return self.by_path.get(text)

    def case_exact(self, path: scim_filter.AttrPath) -> bool:
        """caseExact per the declared mapping and the SCIM schema (id and externalId are case-exact)."""
        found = self.field_for(path)
        return bool(found and found.case_exact) or (path.attr.lower() == "id" and not path.sub)

    @property
    def read_meta(self) -> list[str]:
        """usermeta keys read with a user (besides everything under wpscim_): every mapped key."""
        return [f.meta_key for f in self.fields if f.meta_key and not f.meta_key.startswith(RESIDUE_PREFIX)]

    @property
    def extra_meta(self) -> list[Field]:
        """Fields writing usermeta keys beyond wp_insert_user()'s own rows (a site's mapping file)."""
        return self._extra_meta

    def defaulted(self, user: dict, names_derived: bool = False) -> str | None:
        """The DEFAULTED_META value for a user about to be written: attributes the client left unassigned
        (and no join computes), or None. `name` is listed when the client sent none (the user then
        reads back without one), unless `names_derived`: a user stored without names whose names are
        derived for display keeps them derived (see _derived_names)."""
        missing = tuple(a for a in DEFAULTABLE if a not in user and a not in self._joined)
        if "name" not in user and not names_derived:
            missing += ("name",)
        return _json_list(missing) if missing else None

    def written(self) -> list[Field]:
        return self._written

    def to_storage(self, user: dict) -> StoredUser:
        targets = {}
        for f in self.written():
            if f.transform == "join":
                parts = [get_value(user, parse_patch_path(s)) for s in f.sources]
                value = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
                stored = f.filtered(value) if value else ""
            else:
                value = get_value(user, f.path)
                stored = f.to_wordpress(value) if isinstance(value, (str, bool, int, float)) and value != "" else ""
            if stored and f.names_locale and not naming.is_locale(stored):
                raise Invalid(
                    f"{f.scim} {str(value)[:40]!r} is no locale: at most 64 letters, digits, '-' and '_', such as en-US "
                    "(WordPress loads the translation file it names)"
                )
            targets[f.target] = stored
        residue: dict[str, str] = {}
        folded: set[str] = set()  # the residue's keys as MySQL compares them
        for key, value in user.items():
            if key in _CONSUMED_TOP:
                continue
            if key == "name":
                value = {k: v for k, v in value.items() if k not in ("givenName", "familyName")}
                if not value:
                    continue
            meta_key = self._kept_key(key, folded)
            if meta_key is None:
                continue
            text = residue[meta_key] = dumps_text(without_passwords(value))
            if len(text) > MAX_KEPT_ATTRIBUTE_BYTES:
                raise Invalid(
                    f"'{key[:80]}' holds more than {MAX_KEPT_ATTRIBUTE_BYTES // 1024} KiB; wpscim keeps attributes up to that size"
                )
        if len(residue) > MAX_KEPT_ATTRIBUTES:
            raise Invalid(
                f"the user carries {len(residue)} attributes beyond the ones mapped to WordPress; wpscim keeps at most "
                f"{MAX_KEPT_ATTRIBUTES} (each in a usermeta row)"
            )
        if sum(len(text) for text in residue.values()) > MAX_KEPT_BYTES:
            raise Invalid(f"the user's other attributes hold more than {MAX_KEPT_BYTES // 1024} KiB; wpscim keeps at most that much")
        return StoredUser(user["userName"], primary_email(user), targets, residue)

    def _kept_key(self, key: str, folded: set[str]) -> str | None:
        """The usermeta key attribute `key` is kept in (added, lower-cased, to `folded`), or None for
        SCIM's own read-only attributes; Invalid for a name whose key MySQL would take (it compares keys
        without case) for one of wpscim's own or for one already in `folded`."""
        if not _RESIDUE_NAME.match(key):
            raise Invalid(f"'{key[:80]}' is not a valid attribute name (ASCII letters, digits and _ $ . : -)")
        if key.lower().startswith(_READ_ONLY_HEADS):
            return None
        meta_key = RESIDUE_PREFIX + key
        lowered = meta_key.lower()
        if (lowered in self._own_keys and meta_key != EMAILS_META) or lowered.startswith(STATE_PREFIX):
            raise Invalid(f"'{key[:80]}' names one of wpscim's own usermeta keys ({meta_key[:88]}); it cannot be kept")
        if lowered in folded:
            raise Invalid(f"'{key[:80]}' is sent twice, spelled differently (MySQL keeps both in one usermeta key)")
        folded.add(lowered)
        return meta_key

    def from_storage(self, row: dict, meta: dict) -> dict:
        """The SCIM User for a users row and its usermeta (first value per key, as get_user_meta(…, true))."""
        user: dict = {"schemas": [schemas.CORE_USER], "id": str(row["ID"])}
        if meta.get("wpscim_externalId"):
            user["externalId"] = meta_text(meta["wpscim_externalId"])
        user["userName"] = meta_text(meta.get(USERNAME_META) or "") or row["user_login"]
        for key, text in meta.items():  # the residue first: mapped WordPress values override it
            if not key.startswith(RESIDUE_PREFIX) or key.startswith(STATE_PREFIX) or key in (USERNAME_META, EMAILS_META):
                continue
            if key in ("wpscim_externalId", "wpscim_meta.lastModified"):
                continue
            try:
                value = loads(meta_text(text))
            except (TypeError, ValueError):
                continue
            attribute = key[len(RESIDUE_PREFIX) :]
            if "." in attribute and attribute.lower().startswith(_READ_ONLY_HEADS):
                continue  # stored before wpscim ignored SCIM's own attributes (see _kept_key)
            if attribute.lower() == schemas.CORE_USER.lower():
                # The core schema as an object, kept as sent before it was read as the top level: its
                # members are core attributes (its password never was one to answer).
                if isinstance(value, dict):
                    for name, member in without_passwords(value).items():
                        user.setdefault(name, member)
                continue
            user[attribute] = without_passwords(value)
            if attribute.lower().startswith("urn:"):
                user["schemas"].append(attribute)
        for f in self._read:
            raw = row.get(f.column) if f.column else meta_text(meta.get(f.meta_key) or "")
            if raw not in (None, ""):
                set_value(user, f.path, f.from_wordpress(str(raw)))
                if f.path.urn and f.path.urn not in user["schemas"]:
                    user["schemas"].append(f.path.urn)
        emails = _emails(row["user_email"], meta_text(meta.get(EMAILS_META) or ""))
        if emails:
            user["emails"] = emails
        user["active"] = SUSPENDED_PASS_META not in meta and not row.get("spam")
        try:
            unassigned = loads(meta_text(meta.get(DEFAULTED_META) or "") or "[]")
        except ValueError:
            unassigned = []
        for attribute in unassigned:
            # Not reported, as the client never set it; but what SCIM reads must match whether WordPress
            # lets the user in: a suspended user (or one a network admin marked as spam) always reads
            # `active: false`, also after a PUT that left `active` out (the suspension stays).
            if attribute in DEFAULTABLE and not (attribute == "active" and not user["active"]):
                user.pop(attribute, None)
        user = ScimUser(user)
        user.derived = None if "name" in unassigned else _derived_names(user, row)
        created = iso(row["user_registered"])
        user["meta"] = {
            "resourceType": "User",
            "created": created,
            "lastModified": meta_text(meta.get("wpscim_meta.lastModified") or "") or created,
        }
        return user


def lands(path: str, user_mapping, capabilities_key: str = "{prefix}capabilities") -> str:
    """Where an attribute path an IdP sent is stored under `user_mapping` (`capabilities_key`: the site's)."""
    fixed = {
        "username": "users.user_login",
        "password": "users.user_pass (hashed)",
        "active": "suspension (wpscim__suspended_pass)",
        "roles": capabilities_key,
        "emails.value": "users.user_email (primary) + usermeta wpscim_emails",
    }
    lowered = path.lower()
    found = user_mapping.by_path.get(lowered)
    if found is not None:
        return f"users.{found.column}" if found.column else f"usermeta {found.meta_key}"
    if lowered.startswith("emails"):
        return fixed["emails.value"]
    if lowered in fixed or lowered.split(".")[0] in fixed:
        return fixed.get(lowered) or fixed[lowered.split(".")[0]]
    top = path.rsplit(":", 1)[0] if lowered.startswith("urn:") else re.split(r"[.\[]", path)[0]
    return f"usermeta wpscim_{top} (JSON)"


def _derived_names(user: dict, row: dict) -> dict | None:
    """Names for a user stored without any that no SCIM client created or emptied that way (the
    installer's admin, most self-registered users: `name` is not among its unassigned attributes):
    IdP imports require both (Okta's user profile needs a first and a
    last name). From the display name when it is not just the login: its first word is the givenName,
    the rest the familyName; a single word (or the login's part before '@') stands for both."""
    name = user.get("name") or {}
    if name.get("givenName") or name.get("familyName"):
        return None
    login = str(row.get("user_login") or "")
    shown = naming.read_name(str(row.get("display_name") or "")).strip()
    source = shown if shown and shown != login else login.split("@")[0]
    if not source:
        return None
    given, _, family = source.partition(" ")
    return {"name": {**name, "givenName": given, "familyName": family.strip() or given}}


class ScimUser(dict):
    """A SCIM User as stored, and (`derived`) values shown to clients that are not stored: never
    written back by a PATCH, never matched by a filter (SQL cannot see them either)."""

    derived: dict | None = None

    def shown(self) -> dict:
        """What a client reads: the stored attributes, with the derived ones where nothing is stored."""
        return {**self, **self.derived} if self.derived else dict(self)


DEFAULT = Mapping()


@functools.lru_cache(maxsize=16)
def _json_list(names: tuple[str, ...]) -> str:
    return json.dumps(list(names))


def iso(value) -> str:
    """A stored (UTC) datetime as xsd:dateTime; isoformat() is several times cheaper than strftime()."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None, microsecond=0).isoformat() + "Z"
    return str(value)


def _emails(user_email: str, stored: str | None) -> list:
    items = []
    if stored:
        try:
            items = [e for e in loads(stored) if isinstance(e, dict)]
        except (TypeError, ValueError):
            items = []
    if not user_email:
        return [e for e in items if not e.get("primary")] if items else []
    primary = next((e for e in items if e.get("primary") is True), items[0] if items else None)
    if primary is None:
        return [{"value": user_email, "type": "work", "primary": True}]
    primary["value"] = user_email  # WordPress's own copy wins: an admin may have changed it
    return items


def group_from_role(slug: str, name: str, note: dict) -> dict:
    """The SCIM Group for a WordPress role (members are added by the caller: there may be many)."""
    group = {"schemas": [schemas.CORE_GROUP], "id": slug}
    if note.get("externalId"):
        group["externalId"] = note["externalId"]
    group["displayName"] = name
    meta = {"resourceType": "Group"}
    for key in ("created", "lastModified"):
        if note.get(key):
            meta[key] = note[key]
    group["meta"] = meta
    return group
