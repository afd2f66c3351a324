"""Where each SCIM User attribute lives in WordPress — one declared table, and the two conversions.

A SCIM attribute in FIELDS is stored in a users column or a usermeta key of WordPress's own. Every
other attribute a client sends (title, phoneNumbers, addresses, the enterprise extension, unknown
extensions…) is kept as JSON in usermeta `wpscim_<attribute>`, so nothing is silently dropped.
Keys starting `wpscim__` hold wpscim's own state (a suspended user's password hash, …).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from wpscim.scim import schemas
from wpscim.scim.errors import invalid_value
from wpscim.scim.resource import primary_email
from wpscim.wordpress import naming


@dataclass(frozen=True)
class Field:
    scim: str  # SCIM path, e.g. "name.givenName"
    column: str | None = None  # a {prefix}users column …
    meta_key: str | None = None  # … or a usermeta key
    transform: str | None = None  # "name": HTML-escaped by WordPress; "locale": en-US <-> en_US
    writable: bool = True
    case_exact: bool = False


FIELDS: tuple[Field, ...] = (
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
BY_PATH = {f.scim.lower(): f for f in FIELDS}

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
OWN_META = {USERNAME_META, EMAILS_META} | {f.meta_key for f in FIELDS if f.meta_key and f.meta_key.startswith("wpscim_")}
# The usermeta keys a SCIM representation is read from (besides everything under wpscim_).
READ_META = [f.meta_key for f in FIELDS if f.meta_key and not f.meta_key.startswith("wpscim_")]

_RESIDUE_NAME = re.compile(r"^[A-Za-z][\w$.:-]{0,200}$")
_CONSUMED_TOP = {"userName", "emails", "displayName", "nickName", "profileUrl", "locale", "externalId", "active", "password", "roles", "groups"}


def to_wordpress_value(field: Field, value: str) -> str:
    if field.transform == "name":
        return naming.store_name(value)
    if field.transform == "locale":
        return naming.wp_locale(value)
    return value


def from_wordpress_value(field: Field, value: str) -> str:
    if field.transform == "name":
        return naming.read_name(value)
    if field.transform == "locale":
        return naming.scim_locale(value)
    return value


def _get(user: dict, path: str):
    node = user
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


@dataclass
class StoredUser:
    """A canonical SCIM User split the way WordPress stores it. Values are not yet WordPress-escaped."""

    user_name: str
    email: str
    values: dict  # Field.scim -> str ('' when absent) for every writable declared field
    residue: dict  # usermeta key -> JSON text


def to_storage(user: dict) -> StoredUser:
    values = {}
    for field in FIELDS:
        if not field.writable or field.scim in ("userName", "emails"):
            continue
        value = _get(user, field.scim)
        values[field.scim] = value if isinstance(value, str) else ""
    residue = {}
    for key, value in user.items():
        if key in _CONSUMED_TOP and key != "emails":
            continue
        if key == "name":
            value = {k: v for k, v in value.items() if k not in ("givenName", "familyName")}
            if not value:
                continue
        if not _RESIDUE_NAME.match(key):
            raise invalid_value(f"'{key[:80]}' is not a valid attribute name")
        residue[RESIDUE_PREFIX + key] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return StoredUser(user["userName"], primary_email(user), values, residue)


def defaulted(user: dict) -> str | None:
    """The DEFAULTED_META value for a user about to be written, None when every attribute was given."""
    missing = [a for a in DEFAULTABLE if a not in user]
    return json.dumps(missing) if missing else None


def iso(value) -> str:
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def from_storage(row: dict, meta: dict) -> dict:
    """The SCIM User for a users row and its usermeta (first value per key, as get_user_meta(…, true))."""
    user: dict = {"schemas": [schemas.CORE_USER], "id": str(row["ID"])}
    external_id = meta.get("wpscim_externalId")
    if external_id:
        user["externalId"] = external_id
    user["userName"] = meta.get(USERNAME_META) or row["user_login"]
    name = {}
    for field in FIELDS:
        if field.scim in ("userName", "emails", "externalId") or field.scim.startswith("meta."):
            continue
        raw = row.get(field.column) if field.column else meta.get(field.meta_key)
        if not raw:
            continue
        value = from_wordpress_value(field, raw)
        if field.scim.startswith("name."):
            name[field.scim[5:]] = value
        else:
            user[field.scim] = value
    for key, text in meta.items():
        if not key.startswith(RESIDUE_PREFIX) or key.startswith(STATE_PREFIX) or key in OWN_META:
            continue
        try:
            value = json.loads(text)
        except (TypeError, ValueError):
            continue
        attribute = key[len(RESIDUE_PREFIX) :]
        if attribute == "name" and isinstance(value, dict):
            name = {**value, **name}
        elif attribute.lower().startswith("urn:") and attribute not in user:
            user[attribute] = value
            user["schemas"].append(attribute)
        else:
            user.setdefault(attribute, value)
    if name:
        user["name"] = name
    user["emails"] = _emails(row["user_email"], meta.get(EMAILS_META))
    if not user["emails"]:
        del user["emails"]
    user["active"] = SUSPENDED_PASS_META not in meta and not row.get("spam")
    try:
        defaulted = json.loads(meta.get(DEFAULTED_META) or "[]")
    except ValueError:
        defaulted = []
    for attribute in defaulted:
        if attribute in DEFAULTABLE and user.get(attribute) is not False:  # a suspended user always reads inactive
            user.pop(attribute, None)
    created = iso(row["user_registered"])
    user["meta"] = {
        "resourceType": "User",
        "created": created,
        "lastModified": meta.get("wpscim_meta.lastModified") or created,
    }
    return user


def _emails(user_email: str, stored: str | None) -> list:
    items = []
    if stored:
        try:
            items = [e for e in json.loads(stored) if isinstance(e, dict)]
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
    group = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": slug}
    if note.get("externalId"):
        group["externalId"] = note["externalId"]
    group["displayName"] = name
    meta = {"resourceType": "Group"}
    for key in ("created", "lastModified"):
        if note.get(key):
            meta[key] = note[key]
    group["meta"] = meta
    return group
