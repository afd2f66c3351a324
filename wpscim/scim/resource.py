"""Turning the loose JSON IdPs send into one canonical User shape.

Canonical: attribute names spelled as the schema spells them, values of the declared type, the
enterprise extension under its URN, no nulls or empty strings (unassigned, RFC 7643 §2.5), read-only
attributes (`id`, `meta`, `groups`, `schemas`) removed. Attributes the schema does not know are kept
as sent: nothing a client sends is silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from wpscim.scim import schemas
from wpscim.scim.errors import bad_request, invalid_value
from wpscim.scim.schemas import Attribute

READ_ONLY_TOP = {"id", "meta", "schemas", "groups"}
# WordPress user IDs are BIGINT UNSIGNED: at most 20 ASCII digits. str.isdigit() and int() also take
# "¹", "٣" or "１", which would crash int() or name another user.
_USER_ID = re.compile(r"[0-9]{1,20}")
# C0 and C1 controls: invisible in logs and admin screens, so two identifiers that look alike could differ.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def coerce(attr: Attribute, value: Any, where: str) -> Any:
    """Coerce one value to `attr`'s declared type, or raise 400 invalidValue."""
    if attr.multi_valued:
        if isinstance(value, (dict, str)):
            value = [value]
        if not isinstance(value, list):
            raise invalid_value(f"'{where}' must be a list")
        single = _single(attr)
        items = [coerce(single, item, where) for item in value if not _is_empty(item)]
        items = [item for item in items if not _is_empty(item)]
        primaries = [i for i, item in enumerate(items) if isinstance(item, dict) and item.get("primary") is True]
        for index in primaries[:-1]:  # "primary" is true at most once: the last one set wins (a PATCH add appends)
            items[index] = {k: v for k, v in items[index].items() if k != "primary"}
        return items
    if attr.type == "complex":
        if isinstance(value, list) and len(value) == 1:
            value = value[0]  # Entra sends manager as [{"value": …}]
        if isinstance(value, (str, int)) and attr.sub("value"):
            value = {"value": str(value)}  # …or as a bare id
        if not isinstance(value, dict):
            raise invalid_value(f"'{where}' must be an object")
        out = {}
        for key, sub_value in value.items():
            if _is_empty(sub_value) or (attr.name.startswith("urn:") and key.lower() == "schemas"):
                continue
            sub = attr.sub(key)
            if sub is None:
                out[key] = sub_value
            elif sub.mutability != "readOnly":
                coerced = coerce(sub, sub_value, f"{where}.{sub.name}")
                if not _is_empty(coerced):  # {"manager": {"": null}} holds nothing: unassigned, as at the top level
                    out[sub.name] = coerced
        return out
    if attr.type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise invalid_value(f"'{where}' must be a boolean, not {value!r}")
    if attr.type in ("integer", "decimal"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise invalid_value(f"'{where}' must be a number")
        return value
    # string, reference, dateTime, binary
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        raise invalid_value(f"'{where}' must be a string")
    return value if isinstance(value, str) else str(value)


_SINGLES: dict[int, tuple[Attribute, Attribute]] = {}


def _single(attr: Attribute) -> Attribute:
    """One item of multi-valued `attr` (built once per attribute)."""
    known = _SINGLES.get(id(attr))
    if known is None or known[0] is not attr:
        known = _SINGLES[id(attr)] = (attr, Attribute(attr.name, attr.type, sub_attributes=attr.sub_attributes))
    return known[1]


def _split_qualified(key: str) -> tuple[str | None, str]:
    """`urn:…:enterprise:2.0:User:department` → (extension urn, "department"); others → (None, key)."""
    if key[:4].lower() != "urn:":
        return None, key
    lowered = key.lower()
    for urn in [schemas.CORE_USER, *(ext.name for ext in schemas.EXTENSIONS.values())]:
        if lowered.startswith(urn.lower() + ":"):
            return urn, key[len(urn) + 1 :]
    return None, key


def _members(body: dict) -> Iterator[tuple[str, Any]]:
    """The body's attributes, with core-schema qualifications taken off: `urn:…:core:2.0:User:title`
    is `title`, and the members of a `"urn:…:core:2.0:User": {…}` object are top-level attributes
    (RFC 7643 §3). Kept as sent, that object would hold a password in clear text and echo it back."""
    for key, value in body.items():
        if not isinstance(key, str):
            continue
        urn, name = _split_qualified(key)
        if urn == schemas.CORE_USER:
            yield from _members({name: value})
        elif key.lower() != schemas.CORE_USER.lower():
            yield key, value
        elif isinstance(value, dict):
            yield from _members(value)
        elif not _is_empty(value):
            raise invalid_value(f"'{key}' must be an object")


def normalize_user(body: Any) -> dict:
    """Canonical form of a User body (POST/PUT) or of a resource after PATCH."""
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object", "invalidSyntax")
    out: dict = {}
    for key, value in _members(body):
        urn, name = _split_qualified(key)
        if urn is not None:  # a URN-qualified extension attribute at top level
            ext = schemas.extension(urn)
            assert ext is not None  # _split_qualified only finds registered extensions
            target = out.setdefault(ext.name, {})
            sub = ext.sub(name.split(".")[0])
            if sub is None:
                target[name] = value
            elif not _is_empty(value):
                target[sub.name] = coerce(sub, value, key)
            continue
        if key.lower() in READ_ONLY_TOP or _is_empty(value):
            continue
        ext = schemas.extension(key)
        if ext is not None:
            merged = {**out.get(ext.name, {}), **coerce(ext, value, ext.name)}
            if merged:
                out[ext.name] = merged
            continue
        attr = schemas.user_attribute(key)
        if attr is None:
            out[key] = value  # unknown: kept as sent
            continue
        if attr.mutability == "readOnly" and attr.name != "roles":
            continue  # `roles` is reported read-only but accepted from IdPs that set roles on the user
        coerced = coerce(attr, value, attr.name)
        if not _is_empty(coerced):
            out[attr.name] = coerced
    return out


def user_number(user_id: Any) -> int | None:
    """The WordPress user ID a SCIM User id (or a member's value) names; None when it names no user."""
    text = str(user_id)
    return int(text) if _USER_ID.fullmatch(text) else None


def validate_user(user: dict) -> None:
    user_name = user.get("userName")
    if not isinstance(user_name, str) or not user_name.strip():
        raise bad_request("'userName' is required and must be a non-empty string", "invalidValue")
    if user_name != user_name.strip():
        user["userName"] = user_name.strip()
    for name in ("userName", "externalId"):  # what IdPs match users by
        refuse_control_characters(name, user.get(name))


def refuse_control_characters(name: str, value: Any) -> None:
    """invalidValue if attribute `name`'s string value holds a control character: an identifier an IdP
    matches by (a user's userName or externalId, a group's externalId) is text it can send back."""
    if isinstance(value, str) and _CONTROL.search(value):
        raise invalid_value(f"'{name}' must not contain control characters (U+0000-U+001F, U+007F-U+009F)")


def primary_email(user: dict) -> str:
    """The value of the primary email (or the first one): the address WordPress keeps in user_email."""
    emails = user.get("emails") or []
    chosen = next((e for e in emails if e.get("primary") is True), emails[0] if emails else None)
    return (chosen or {}).get("value", "").strip()


def attribute_paths(value: Any, prefix: str = "") -> set[str]:
    """The attribute paths present in a body or PATCH value — names only, never values:
    `name.givenName`, `phoneNumbers[type eq "work"].value`, `urn:…:User:department`."""
    paths: set[str] = set()
    if not isinstance(value, dict):
        return {prefix} if prefix else set()
    for key, item in value.items():
        if not isinstance(key, str) or key.lower() in ("schemas", "meta", "id"):
            continue
        if key.lower().startswith("urn:") and isinstance(item, dict):
            paths |= {f"{key}:{p}" for p in attribute_paths(item)}
            continue
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(item, dict):
            paths |= attribute_paths(item, path)
        elif isinstance(item, list) and any(isinstance(i, dict) for i in item):
            for entry in item:
                if not isinstance(entry, dict):
                    continue
                kind = entry.get("type")
                selector = f'{path}[type eq "{kind}"]' if isinstance(kind, str) and len(kind) <= 40 else path
                paths |= {f"{selector}.{sub}" for sub in entry if sub not in ("type", "primary")}
        else:
            paths.add(path)
    return paths
