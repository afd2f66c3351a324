"""SCIM Groups (RFC 7643 §4.2): bodies and PATCH, reduced to what changes.

A group may have 100,000 members, so PATCH is not applied to a loaded resource (as for Users) but
planned: a rename, an externalId, and member ids to add, remove, or replace the whole set with.
Shapes accepted: Okta's `remove` with `members[value eq "…"]` plus `add` with a list; full `replace`
of members; pathless `replace` with `{id, displayName}`; Entra's `Add` with `$ref: null` and `Remove`
with `path: "members"` and a value list (only those listed are removed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wpscim.scim import filter as scim_filter
from wpscim.scim.errors import ScimError, bad_request, invalid_path, invalid_value
from wpscim.scim.resource import refuse_control_characters

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


def _field(body: dict, name: str) -> Any:
    lowered = name.lower()
    return next((v for k, v in body.items() if isinstance(k, str) and k.lower() == lowered), None)


def member_ids(value: Any, where: str = "members") -> list[str]:
    """Member ids from `[{"value": "5", "$ref": null, …}]` (a single object or bare ids tolerated)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    ids = []
    for item in items:
        if isinstance(item, dict):
            item = _field(item, "value")
        if isinstance(item, bool) or not isinstance(item, (str, int)) or str(item).strip() == "":
            raise invalid_value(f"each of '{where}' needs a 'value' holding a user id")
        ids.append(str(item).strip())
    return list(dict.fromkeys(ids))


@dataclass
class GroupBody:
    display_name: str
    external_id: str | None
    members: list[str]


def parse_group(body: Any) -> GroupBody:
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object", "invalidSyntax")
    display_name = _field(body, "displayName")
    if not isinstance(display_name, str) or not display_name.strip():
        raise bad_request("'displayName' is required and must be a non-empty string", "invalidValue")
    external_id = _field(body, "externalId")
    if external_id is not None and not isinstance(external_id, (str, int)):
        raise invalid_value("'externalId' must be a string")
    refuse_control_characters("externalId", external_id)
    return GroupBody(display_name.strip(), str(external_id) if external_id not in (None, "") else None, member_ids(_field(body, "members")))


@dataclass
class GroupChanges:
    display_name: str | None = None
    external_id: str | None = None
    clear_external_id: bool = False
    add: dict = field(default_factory=dict)  # ordered set of ids
    remove: set = field(default_factory=set)
    replace: dict | None = None  # when set: the whole new membership (ordered set)

    def add_members(self, ids: list[str]) -> None:
        for member in ids:
            if self.replace is not None:
                self.replace[member] = True
            else:
                self.add[member] = True
                self.remove.discard(member)

    def remove_members(self, ids: list[str]) -> None:
        for member in ids:
            if self.replace is not None:
                self.replace.pop(member, None)
            else:
                self.remove.add(member)
                self.add.pop(member, None)

    def replace_members(self, ids: list[str]) -> None:
        self.replace = dict.fromkeys(ids, True)
        self.add, self.remove = {}, set()


def _filtered_ids(expr: Any) -> list[str]:
    """`value eq "1" or value eq "2"` → ["1", "2"]; anything else cannot name members."""
    if isinstance(expr, scim_filter.Compare) and expr.op == "eq" and expr.path.attr.lower() == "value" and expr.path.sub is None:
        return [str(expr.value)]
    if isinstance(expr, scim_filter.Logical) and expr.op == "or":
        return _filtered_ids(expr.left) + _filtered_ids(expr.right)
    raise invalid_path("a members filter must compare 'value' with 'eq' (joined by 'or')")


def plan_group_patch(body: Any) -> GroupChanges:
    if not isinstance(body, dict):
        raise bad_request("the PATCH body must be a JSON object", "invalidSyntax")
    operations = _field(body, "Operations")
    if not isinstance(operations, list):
        raise bad_request("the PATCH body needs an 'Operations' list", "invalidSyntax")
    changes = GroupChanges()
    for index, operation in enumerate(operations, start=1):
        if not isinstance(operation, dict):
            raise bad_request(f"operation {index} must be an object", "invalidSyntax")
        op, path, value = _field(operation, "op"), _field(operation, "path"), _field(operation, "value")
        if not isinstance(op, str) or op.lower() not in ("add", "replace", "remove"):
            raise bad_request(f"operation {index}: 'op' must be add, replace or remove, not {op!r}", "invalidSyntax")
        op = op.lower()
        if path in (None, ""):
            if op == "remove":
                raise ScimError(400, f"operation {index}: 'remove' needs a 'path'", "noTarget")
            if not isinstance(value, dict):
                raise invalid_value(f"operation {index}: without a 'path', 'value' must be an object")
            for key, item in value.items():
                _apply(changes, op, key, item)
        else:
            _apply(changes, op, path, value)
    return changes


def _apply(changes: GroupChanges, op: str, path: str, value: Any) -> None:
    if not isinstance(path, str):
        raise invalid_path("'path' must be a string")
    text = path.strip()
    if text.lower().startswith(GROUP_SCHEMA.lower() + ":"):
        text = text[len(GROUP_SCHEMA) + 1 :]
    lowered = text.lower()
    if lowered in ("id", "meta", "schemas"):
        return  # read-only; Okta sends the id back with every rename
    if lowered == "displayname":
        if op == "remove" or not isinstance(value, str) or not value.strip():
            raise invalid_value("'displayName' is required and must be a non-empty string")
        changes.display_name = value.strip()
    elif lowered == "externalid":
        if op == "remove" or value in (None, ""):
            changes.external_id, changes.clear_external_id = None, True
        else:
            refuse_control_characters("externalId", value)
            changes.external_id, changes.clear_external_id = str(value), False
    elif lowered == "members":
        if op == "add":
            changes.add_members(member_ids(value))
        elif op == "replace":
            changes.replace_members(member_ids(value))
        elif value not in (None, [], ""):
            changes.remove_members(member_ids(value))  # Entra: remove only those listed
        else:
            changes.replace_members([])
    elif lowered.startswith("members[") and lowered.endswith("]"):
        if op != "remove":
            raise invalid_path(f"'{path}': only 'remove' can target members by filter")
        try:
            expr = scim_filter.parse(text[len("members[") : -1])
        except ScimError as exc:
            raise invalid_path(f"'{path}': {exc.detail}") from None
        changes.remove_members(_filtered_ids(expr))
    else:
        raise invalid_path(f"'{path}' is not an attribute of a Group (displayName, externalId, members)")
