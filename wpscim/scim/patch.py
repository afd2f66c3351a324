"""PATCH (RFC 7644 §3.5.2) applied to a canonical resource held in memory.

The storage layer hands over the current resource, this module returns the patched one, and the
storage layer writes the difference — so PATCH and PUT share one write path. IdP tolerances:
ops in any case (Entra's "Replace"), pathless values with dotted or URN-qualified keys, string
booleans, a bare or listed manager id, an empty value meaning removal, an empty Operations list.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from wpscim.scim import filter as scim_filter
from wpscim.scim import schemas
from wpscim.scim.errors import ScimError, bad_request, invalid_path
from wpscim.scim.resource import attribute_paths, normalize_user

_PATH = re.compile(r"^(?P<head>[^\[\]]+?)(?:\[(?P<filter>.*)\])?(?:\.(?P<sub>[A-Za-z$][\w$-]*))?$", re.S)
IGNORED = {"id", "meta", "schemas", "groups"}


@dataclass
class PatchPath:
    urn: str | None  # canonical extension URN, or None for the core schema
    attr: str
    value_filter: scim_filter.Filter | None
    sub: str | None


def parse_patch_path(text: str) -> PatchPath:
    if not isinstance(text, str) or not text.strip():
        raise invalid_path("'path' must be a non-empty string")
    if text.strip().lower() == schemas.CORE_USER.lower():  # the core schema's attributes: the resource itself
        return PatchPath(None, "", None, None)
    whole_extension = schemas.extension(text.strip())
    if whole_extension is not None:
        return PatchPath(whole_extension.name, "", None, None)
    match = _PATH.match(text.strip())
    if not match:
        raise invalid_path(f"'{text}' is not a valid attribute path")
    try:
        head = scim_filter.parse_path(match["head"])
        value_filter = scim_filter.parse(match["filter"]) if match["filter"] is not None else None
    except ScimError as exc:
        raise invalid_path(f"'{text}' is not a valid attribute path: {exc.detail}") from None
    sub = match["sub"]
    if head.sub and (value_filter is not None or sub):
        raise invalid_path(f"'{text}' is not a valid attribute path")
    urn = head.urn
    if urn and urn.lower() == schemas.CORE_USER.lower():
        urn = None
    if urn is not None:
        ext = schemas.extension(urn)
        urn = ext.name if ext else urn
    return PatchPath(urn, head.attr, value_filter, head.sub or sub)


def _key(container: dict, name: str, attr: schemas.Attribute | None) -> str:
    """The existing key for `name`, else the schema's spelling for a new one."""
    return scim_filter.find_key(container, name) or (attr.name if attr else name)


def _attribute(path: PatchPath) -> schemas.Attribute | None:
    if path.urn:
        ext = schemas.extension(path.urn)
        return ext.sub(path.attr) if ext else None
    return schemas.user_attribute(path.attr)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def seed_from_filter(expr: Any) -> dict:
    """A new item satisfying `type eq "work"`-style filters (Entra replaces emails[type eq "work"].value
    on users that have no work email yet)."""
    if isinstance(expr, scim_filter.Compare) and expr.op == "eq" and expr.path.sub is None:
        return {expr.path.attr: expr.value}
    if isinstance(expr, scim_filter.Logical) and expr.op == "and":
        return {**seed_from_filter(expr.left), **seed_from_filter(expr.right)}
    return {}


class PatchResult:
    def __init__(self, resource: dict, password: str | None, unassigned: set[str]):
        self.resource = resource
        self.password = password
        self.unassigned = unassigned  # top-level attributes the resource had and the patch left without a value


def apply_patch(current: dict, body: Any) -> PatchResult:
    if not isinstance(body, dict):
        raise bad_request("the PATCH body must be a JSON object", "invalidSyntax")
    operations = next((v for k, v in body.items() if k.lower() == "operations"), None)
    if operations is None:
        raise bad_request("the PATCH body needs an 'Operations' list", "invalidSyntax")
    if not isinstance(operations, list):
        raise bad_request("'Operations' must be a list", "invalidSyntax")
    resource = copy.deepcopy(current)
    password = None
    for index, operation in enumerate(operations, start=1):
        if not isinstance(operation, dict):
            raise bad_request(f"operation {index} must be an object", "invalidSyntax")
        fields = {k.lower(): v for k, v in operation.items()}
        op = fields.get("op")
        if not isinstance(op, str) or op.lower() not in ("add", "replace", "remove"):
            raise bad_request(f"operation {index}: 'op' must be add, replace or remove, not {op!r}", "invalidSyntax")
        op = op.lower()
        path, value = fields.get("path"), fields.get("value")
        if path is None or path == "":
            if op == "remove":
                raise ScimError(400, f"operation {index}: 'remove' needs a 'path'", "noTarget")
            if not isinstance(value, dict):
                raise bad_request(f"operation {index}: without a 'path', 'value' must be an object", "invalidValue")
            for key, item in value.items():
                password = _apply(resource, op, key, item, password)
        else:
            password = _apply(resource, op, path, value, password)
    patched = normalize_user(resource)
    # The password is the operations' (PatchResult.password, hashed apart), never an attribute: one here
    # came from a core-schema object stored as sent, before such objects were read as core attributes.
    patched.pop("password", None)
    return PatchResult(patched, password, {key for key in current if key not in patched and key not in IGNORED})


def _apply(resource: dict, op: str, raw_path: str, value: Any, password: str | None) -> str | None:
    path = parse_patch_path(raw_path)
    if path.urn is None and path.attr.lower() == "password":
        if op == "remove":
            raise ScimError(400, "'password' cannot be removed", "mutability")
        if not isinstance(value, str) or not value:
            raise bad_request("'password' must be a non-empty string", "invalidValue")
        return value
    if path.urn is None and path.attr.lower() in IGNORED:
        return password  # read-only; Okta echoes id and meta back
    if path.urn is None and not path.attr:  # the core schema URN: its attributes, as in a pathless operation
        if op == "remove":
            raise invalid_path(f"'{raw_path}' names the whole resource; remove its attributes by name")
        if _empty(value):
            return password
        if not isinstance(value, dict):
            raise bad_request(f"'{raw_path}' takes an object", "invalidValue")
        for key, item in value.items():
            password = _apply(resource, op, key, item, password)
        return password
    if path.urn and not path.attr:  # the whole extension object
        if op == "remove" or _empty(value):
            resource.pop(_key(resource, path.urn, None), None)
            return password
        if not isinstance(value, dict):
            raise bad_request(f"'{path.urn}' takes an object", "invalidValue")
        for key, item in value.items():
            if key.lower() != "schemas":
                password = _apply(resource, op, f"{path.urn}:{key}", item, password)
        return password
    if op == "replace" and _empty(value) and path.value_filter is None:
        op = "remove"  # Entra clears an attribute (e.g. manager) with an empty replace
    if op != "remove" and value is None:
        return password
    if path.urn:
        container = resource.setdefault(_key(resource, path.urn, None), {})
    else:
        container = resource
    attr = _attribute(path)
    key = _key(container, path.attr, attr)
    multi = attr.multi_valued if attr else isinstance(container.get(key), list)

    if path.value_filter is not None:
        _apply_filtered(container, key, op, path, value)
    elif path.sub is not None:
        sub_attr = attr.sub(path.sub) if attr else None
        sub_key = sub_attr.name if sub_attr else path.sub
        if multi:
            items = container.get(key) or []
            if op == "remove":
                for item in items:
                    item.pop(sub_key, None)
            elif items:
                for item in items:
                    item[sub_key] = value
            else:
                container[key] = [{sub_key: value}]
        else:
            target = container.get(key)
            if op == "remove":
                if isinstance(target, dict):
                    target.pop(sub_key, None)
            else:
                if not isinstance(target, dict):
                    target = container[key] = {}
                target[sub_key] = value
    elif op == "remove":
        if multi and value not in (None, [], "") and isinstance(container.get(key), list):
            doomed = [v.get("value") if isinstance(v, dict) else v for v in _as_list(value)]
            container[key] = [i for i in container[key] if not (isinstance(i, dict) and i.get("value") in doomed)]
        else:
            container.pop(key, None)
    elif multi:
        new_items = _as_list(value)
        if op == "add":
            existing = container.get(key) or []
            container[key] = existing + [i for i in new_items if i not in existing]
        else:
            container[key] = new_items
    elif isinstance(value, dict) and isinstance(container.get(key), dict):
        container[key].update(value)  # complex attribute: sub-attributes not given are left unchanged
    else:
        container[key] = value
    if path.urn and not container:
        resource.pop(_key(resource, path.urn, None), None)
    return password


def _apply_filtered(container: dict, key: str, op: str, path: PatchPath, value: Any) -> None:
    assert path.value_filter is not None
    items = container.get(key)
    if items is None:
        items = []
    if not isinstance(items, list):
        items = [items]
    matched = [i for i in items if isinstance(i, dict) and scim_filter.matches(path.value_filter, i)]
    if op == "remove":
        if path.sub:
            for item in matched:
                item.pop(path.sub, None)
        else:
            items = [i for i in items if i not in matched]
    else:
        if not matched:
            seed = seed_from_filter(path.value_filter)
            if not seed:
                raise ScimError(400, f"no value of '{key}' matches the filter", "noTarget")
            items.append(seed)
            matched = [seed]
        for item in matched:
            if path.sub:
                item[path.sub] = value
            elif isinstance(value, dict):
                if op == "replace":
                    item.clear()
                item.update(value)
    container[key] = items


def patch_paths(body: Any) -> set[str]:
    """The attribute paths a PATCH touches (names only), for `wpscim mapping observed`."""
    paths: set[str] = set()
    operations = body.get("Operations") if isinstance(body, dict) else None
    for operation in operations if isinstance(operations, list) else []:
        if not isinstance(operation, dict):
            continue
        fields = {k.lower(): v for k, v in operation.items() if isinstance(k, str)}
        if isinstance(fields.get("path"), str) and fields["path"]:
            paths.add(fields["path"])
        elif isinstance(fields.get("value"), dict):
            paths |= attribute_paths(fields["value"])
    return paths
