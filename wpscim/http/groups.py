"""/Groups and /Groups/{id}: WordPress roles of the configured site as SCIM groups.

Members are streamed from an unbuffered cursor while the response is written, and not read at all
when `excludedAttributes=members` is asked (Entra asks it on every lookup).
"""

from __future__ import annotations

from wpscim import mapping
from wpscim.http.media import Lazy, read_json, write_streamed_json
from wpscim.scim import filter as scim_filter
from wpscim.scim.errors import not_found
from wpscim.scim.groups import GROUP_SCHEMA, parse_group, plan_group_patch
from wpscim.scim.listing import list_response, paging
from wpscim.wordpress.db import Database
from wpscim.wordpress.roles import RoleStore, Roles


def _attribute_names(raw: str | None) -> set[str]:
    names = set()
    for part in (raw or "").split(","):
        part = part.strip().lower()
        if part.startswith(GROUP_SCHEMA.lower() + ":"):
            part = part[len(GROUP_SCHEMA) + 1 :]
        if part:
            names.add(part.split(".")[0])
    return names


def _wants_members(req) -> bool:
    if "members" in _attribute_names(req.get_param("excludedAttributes")):
        return False
    requested = _attribute_names(req.get_param("attributes"))
    return not requested or "members" in requested


def _mentions_members(expr) -> bool:
    if isinstance(expr, scim_filter.Logical):
        return _mentions_members(expr.left) or _mentions_members(expr.right)
    if isinstance(expr, scim_filter.Not):
        return _mentions_members(expr.expr)
    return expr.path.attr.lower() == "members"


def _case_exact(path: scim_filter.AttrPath) -> bool:
    return path.attr.lower() in ("id", "externalid") or (path.attr.lower() == "members" and (path.sub or "value").lower() == "value")


class GroupResources:
    """Shared by the collection and item resources: building and streaming group documents."""

    def __init__(self, db: Database, roles: RoleStore):
        self.db = db
        self.roles = roles

    def document(self, req, slug: str, roles: Roles, with_members: bool) -> dict:
        group = mapping.group_from_role(slug, roles.name(slug), roles.notes.get(slug) or {})
        group["meta"]["location"] = f"{req.prefix}/scim/v2/Groups/{slug}"
        if with_members:
            group["members"] = Lazy(lambda: self._members(req.prefix, slug))
        return group

    def _members(self, prefix: str, slug: str):
        sql, params = self.roles.member_query(slug)
        with self.db.transaction(unbuffered=True) as cursor:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(1000):
                for user_id, user_name in rows:
                    yield {"value": str(user_id), "display": user_name, "$ref": f"{prefix}/scim/v2/Users/{user_id}", "type": "User"}

    def apply_membership(self, cursor, slug: str, add: list[str], remove: list[str], replace: list[str] | None) -> None:
        if replace is not None:
            wanted = set(self.roles.existing_users(cursor, replace))
            current = set(self.roles.member_ids(cursor, slug))
            self.roles.change_members(cursor, slug, add=sorted(wanted - current), remove=sorted(current - wanted))
            return
        added = self.roles.existing_users(cursor, add) if add else []
        removed = [int(i) for i in remove if str(i).isdigit()]  # removing a user that is gone is a no-op
        if added or removed:
            self.roles.change_members(cursor, slug, add=added, remove=removed)


class GroupsCollection(GroupResources):
    def on_get(self, req, resp) -> None:
        start, count = paging(req.get_param("startIndex"), req.get_param("count"))
        raw_filter = req.get_param("filter")
        expr = scim_filter.parse(raw_filter) if raw_filter is not None else None
        with self.db.transaction() as cursor:
            roles = self.roles.load(cursor)
            slugs = list(roles.definitions)
            if expr is not None:
                matching = []
                for slug in slugs:
                    candidate = self.document(req, slug, roles, with_members=False)
                    if _mentions_members(expr):
                        candidate["members"] = [{"value": str(i)} for i in self.roles.member_ids(cursor, slug)]
                    if scim_filter.matches(expr, candidate, _case_exact):
                        matching.append(slug)
                slugs = matching
        page = slugs[start - 1 : start - 1 + count]
        resources = [self.document(req, slug, roles, _wants_members(req)) for slug in page]
        write_streamed_json(resp, list_response(resources, len(slugs), start))

    def on_post(self, req, resp) -> None:
        body = parse_group(read_json(req))
        with self.db.transaction() as cursor:
            members = self.roles.existing_users(cursor, body.members)
            slug, _ = self.roles.create(cursor, body.display_name, body.external_id)
            self.roles.change_members(cursor, slug, add=members, remove=[])
            roles = self.roles.load(cursor)
        resp.set_header("Location", f"{req.prefix}/scim/v2/Groups/{slug}")
        write_streamed_json(resp, self.document(req, slug, roles, _wants_members(req)), 201)


class GroupItem(GroupResources):
    def _roles(self, cursor, slug: str, for_update: bool = False) -> Roles:
        roles = self.roles.load(cursor, for_update=for_update)
        if slug not in roles.definitions:
            raise not_found(f"no group (WordPress role) with id '{slug}'")
        return roles

    def on_get(self, req, resp, group_id: str) -> None:
        with self.db.transaction() as cursor:
            roles = self._roles(cursor, group_id)
        write_streamed_json(resp, self.document(req, group_id, roles, _wants_members(req)))

    def on_put(self, req, resp, group_id: str) -> None:
        body = parse_group(read_json(req))
        with self.db.transaction() as cursor:
            self._roles(cursor, group_id, for_update=True)
            self.roles.update(cursor, group_id, body.display_name, body.external_id, clear_external_id=body.external_id is None)
            self.apply_membership(cursor, group_id, [], [], body.members)
            roles = self.roles.load(cursor)
        write_streamed_json(resp, self.document(req, group_id, roles, _wants_members(req)))

    def on_patch(self, req, resp, group_id: str) -> None:
        changes = plan_group_patch(read_json(req))
        with self.db.transaction() as cursor:
            self._roles(cursor, group_id, for_update=True)
            if changes.display_name is not None or changes.external_id is not None or changes.clear_external_id:
                self.roles.update(cursor, group_id, changes.display_name, changes.external_id, changes.clear_external_id)
            replace = list(changes.replace) if changes.replace is not None else None
            self.apply_membership(cursor, group_id, list(changes.add), sorted(changes.remove), replace)
        resp.status = 204

    def on_delete(self, req, resp, group_id: str) -> None:
        with self.db.transaction() as cursor:
            self._roles(cursor, group_id, for_update=True)
            self.roles.delete(cursor, group_id)
        resp.status = 204

