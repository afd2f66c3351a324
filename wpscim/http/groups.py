"""/Groups, /Groups/{id} and /Groups/.search: WordPress roles of the configured site as SCIM groups.

Members are streamed from an unbuffered cursor while the response is written, and not read at all
when `excludedAttributes=members` is asked (Entra asks it on every lookup).

A group's version (ETag) is computed without reading its members: from its name, externalId, meta and
its revision, a counter in wpscim's notes on the group (`wpscim_groups`, Roles.revision) that every
change through /Groups advances. meta.lastModified alone has one-second resolution: three membership changes within
one second would share one version, and If-Match would let a stale client through.
"""

from __future__ import annotations

import logging

from wpscim.http.discovery import scim_base
from wpscim.http.errors import retrying
from wpscim.http.media import Lazy, read_json, write_streamed_json
from wpscim.scim import filter as scim_filter
from wpscim.scim import schemas
from wpscim.scim.errors import not_found
from wpscim.scim.groups import parse_group, plan_group_patch
from wpscim.scim.listing import ListQuery, list_query, list_response
from wpscim.scim.projection import project, wants
from wpscim.scim.versioning import check_if_match, not_modified, version_of
from wpscim.wordpress import mapping
from wpscim.wordpress.errors import Unavailable
from wpscim.wordpress.roles import Roles
from wpscim.wordpress.storage import Storage

log = logging.getLogger("wpscim")


def _mentions_members(expr) -> bool:
    if isinstance(expr, scim_filter.Logical):
        return _mentions_members(expr.left) or _mentions_members(expr.right)
    if isinstance(expr, scim_filter.Not):
        return _mentions_members(expr.expr)
    return expr.path.attr.lower() == "members"


def _case_exact(path: scim_filter.AttrPath) -> bool:
    attr = schemas.resolve(schemas.GROUP, path)
    return bool(attr and attr.case_exact) or (path.attr.lower() == "members" and (path.sub or "value").lower() == "value")


class GroupResources:
    """Shared by the collection and item resources: building and streaming group documents."""

    uses_database = True  # see http.middleware.DatabaseGate

    def __init__(self, storage: Storage):
        self.storage = storage
        self.db = storage.db
        self.roles = storage.roles

    def document(self, req, slug: str, roles: Roles, query: ListQuery | None = None) -> dict:
        """The group without its members (see with_members)."""
        group = mapping.group_from_role(slug, roles.display(slug), roles.notes.get(slug) or {})
        group["meta"]["version"] = version_of(group, roles.revision(slug))  # members: see the module's docstring
        group["meta"]["location"] = f"{scim_base(req)}/Groups/{slug}"
        attributes, excluded = (query.attributes, query.excluded) if query else ([], [])
        return project(group, schemas.GROUP, attributes, excluded)

    def with_members(
        self, req, group: dict, slug: str, query: ListQuery | None = None, committed: bool = False, read_now: bool = True
    ) -> dict:
        """`group` with its members, streamed as they are read. The member query runs (and its first rows
        arrive) before anything is sent, so a database that fails then fails the request (503), not the
        answer halfway; after a committed change the answer goes out without members instead, as a
        503 would tell the client its change was not made. `read_now=False` (the later groups of a
        page) reads them only when the answer reaches them (Roles.member_stream): a request holds one
        read connection at a time, and a database lost by then cuts the answer short, as it would
        between two batches of one large group."""
        attributes, excluded = (query.attributes, query.excluded) if query else ([], [])
        if not wants("members", attributes, excluded):
            return group
        try:
            ids = self.roles.member_stream(self.db, slug, now=read_now)
        except Unavailable as exc:
            if not committed:
                raise
            log.warning(
                "request %s: group %s changed; its members are left out of the answer: %s",
                getattr(req.context, "request_id", "-"),
                slug,
                exc.detail,
            )
            return group
        prefix = scim_base(req)
        # No `display`: it is read-only and conformance testers compare members as sent.
        group["members"] = Lazy(lambda: ({"value": str(i), "$ref": f"{prefix}/Users/{i}", "type": "User"} for i in ids))
        return group

    def search(self, req, query: ListQuery) -> tuple[int, list[dict]]:
        """(how many groups match, the page asked for, each with its members as asked)."""
        candidates, roles = self.matching(req, query)
        page = candidates[query.start - 1 : query.start - 1 + query.count]
        return len(candidates), [
            self.with_members(req, self.document(req, g["id"], roles, query), g["id"], query, read_now=index == 0)
            for index, g in enumerate(page)
        ]

    def matching(self, req, query: ListQuery) -> tuple[list[dict], Roles]:
        """The groups `query.filter` matches, in `query.sort_by`'s order, without members."""
        if query.filter is not None:
            scim_filter.check_types(query.filter, schemas.GROUP)
        with self.storage.reading() as session:
            roles = self.roles.load(session)
            candidates = []
            for slug in roles.definitions:
                group = self.document(req, slug, roles)
                if query.filter is not None and _mentions_members(query.filter):
                    group["members"] = [{"value": str(i)} for i in self.roles.member_ids(session, slug)]
                if query.filter is None or scim_filter.matches(query.filter, group, _case_exact):
                    candidates.append(group)
        if query.sort_by is not None:
            candidates = scim_filter.sorted_resources(candidates, query.sort_by, query.descending, _case_exact)
        return candidates, roles


class GroupsCollection(GroupResources):
    @retrying
    def on_get(self, req, resp) -> None:
        query = list_query(req.params)
        total, groups = self.search(req, query)
        write_streamed_json(resp, list_response(groups, total, query.start))

    @retrying
    def on_post_search(self, req, resp) -> None:
        query = list_query(read_json(req))
        total, groups = self.search(req, query)
        write_streamed_json(resp, list_response(groups, total, query.start))

    @retrying
    def on_post(self, req, resp) -> None:
        body = parse_group(read_json(req))
        with self.storage.transaction(req.context.token_name, req.context.request_id) as tx:
            members, ignored = self.roles.existing_users(tx, body.members)
            slug, _ = self.roles.create(tx, body.display_name, body.external_id)
            self.roles.change_members(tx, slug, add=members, remove=[], ignored=ignored)
            roles = self.roles.load(tx)
        resp.set_header("Location", f"{scim_base(req)}/Groups/{slug}")
        resp.set_header("ETag", self.document(req, slug, roles)["meta"]["version"])
        query = list_query(req.params)
        write_streamed_json(resp, self.with_members(req, self.document(req, slug, roles, query), slug, query, committed=True), 201)


class GroupItem(GroupResources):
    def _roles(self, req, session, slug: str, for_update: bool = False) -> Roles:
        roles = self.roles.load(session, for_update=for_update)
        if slug not in roles.definitions:
            raise not_found(f"no group (WordPress role) with id '{slug}'")
        if for_update:
            check_if_match(req.get_header("If-Match"), self.document(req, slug, roles)["meta"]["version"])
        return roles

    def _respond(self, req, resp, slug: str, roles: Roles, members_by_default: bool = True, committed: bool = False) -> None:
        query = list_query(req.params)
        if not members_by_default and not query.attributes:
            query.excluded = [*query.excluded, scim_filter.AttrPath("members")]
        resp.set_header("ETag", self.document(req, slug, roles)["meta"]["version"])
        write_streamed_json(resp, self.with_members(req, self.document(req, slug, roles, query), slug, query, committed))

    @retrying
    def on_get(self, req, resp, group_id: str) -> None:
        with self.storage.reading() as session:
            roles = self._roles(req, session, group_id)
        version = self.document(req, group_id, roles)["meta"]["version"]
        if not_modified(req.get_header("If-None-Match"), version):
            resp.status = 304
            resp.set_header("ETag", version)
            return
        self._respond(req, resp, group_id, roles)

    @retrying
    def on_put(self, req, resp, group_id: str) -> None:
        body = parse_group(read_json(req))
        with self.storage.transaction(req.context.token_name, req.context.request_id) as tx:
            # Read and locked once: membership changes leave the role options as they are, and update()
            # changes this copy as it saves it.
            roles = self._roles(req, tx, group_id, for_update=True)
            self.roles.apply_membership(tx, group_id, [], [], body.members, roles)
            self.roles.update(tx, group_id, body.display_name, body.external_id, roles, clear_external_id=body.external_id is None)
        self._respond(req, resp, group_id, roles, committed=True)

    @retrying
    def on_patch(self, req, resp, group_id: str) -> None:
        changes = plan_group_patch(read_json(req))
        with self.storage.transaction(req.context.token_name, req.context.request_id) as tx:
            roles = self._roles(req, tx, group_id, for_update=True)  # read once, as in on_put
            replace = list(changes.replace) if changes.replace is not None else None
            self.roles.apply_membership(tx, group_id, list(changes.add), sorted(changes.remove), replace, roles)
            self.roles.update(tx, group_id, changes.display_name, changes.external_id, roles, changes.clear_external_id)
        # 200 with the whole group (RFC 7644 §3.5.2; strict testers compare the members). Listing members
        # reads every user's capabilities, so sites with huge roles may choose --lean-group-patch.
        self._respond(req, resp, group_id, roles, members_by_default=not self.roles.policy.lean_patch_response, committed=True)

    @retrying
    def on_delete(self, req, resp, group_id: str) -> None:
        with self.storage.transaction(req.context.token_name, req.context.request_id) as tx:
            self._roles(req, tx, group_id, for_update=True)
            self.roles.delete(tx, group_id)
        resp.status = 204
