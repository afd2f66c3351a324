"""/Users, /Users/{id} and /Users/.search. Each writing request is one transaction; PATCH and PUT share
the store's write path. Every resource response carries meta.version and the matching ETag."""

from __future__ import annotations

from wpscim.http.discovery import scim_base
from wpscim.http.errors import retrying
from wpscim.http.media import read_json, write_json
from wpscim.scim import filter as scim_filter
from wpscim.scim import schemas
from wpscim.scim.errors import ScimError, not_found
from wpscim.scim.listing import ListQuery, list_query, list_response
from wpscim.scim.patch import apply_patch, patch_paths
from wpscim.scim.projection import project
from wpscim.scim.resource import attribute_paths, normalize_user, validate_user
from wpscim.scim.versioning import check_if_match, not_modified, version_of
from wpscim.wordpress.mapping import ScimUser
from wpscim.wordpress.storage import Storage


def _location(req, user_id: str) -> str:
    return f"{scim_base(req)}/Users/{user_id}"


def finish_user(req, user: dict) -> dict:
    """What a client reads of a user from the store: its derived values (ScimUser.shown), absolute
    URLs and meta.version."""
    user = user.shown() if isinstance(user, ScimUser) else user
    user["meta"] = dict(user["meta"])
    # Before the URLs: they carry the host the client used, and a version must not (If-Match sent
    # through another host name or proxy would get 412).
    user["meta"]["version"] = version_of(user)
    user["meta"]["location"] = _location(req, user["id"])
    if "groups" in user:  # new items: the stored user's are read again for a version (_current, then _write)
        user["groups"] = [{**group, "$ref": f"{scim_base(req)}/Groups/{group['value']}"} for group in user["groups"]]
    return user


def _user_body(body) -> tuple[dict, str | None]:
    user = normalize_user(body)
    validate_user(user)
    password = user.pop("password", None)
    if password is not None and not password:
        raise ScimError(400, "'password' must not be empty", "invalidValue")
    return user, password


def _write_one(req, resp, user: dict, status: int = 200) -> None:
    query = list_query(req.params)
    resp.set_header("ETag", user["meta"]["version"])
    write_json(resp, project(user, schemas.USER, query.attributes, query.excluded), status)


def search_users(req, storage: Storage, query: ListQuery) -> tuple[int, list[dict]]:
    if query.filter is not None:
        scim_filter.check_types(query.filter, schemas.USER)
    with storage.reading() as session:
        total, users = storage.users.search(session, query.filter, query.start, query.count, query.sort_by, query.descending)
    return total, [project(finish_user(req, u), schemas.USER, query.attributes, query.excluded) for u in users]


class UsersCollection:
    uses_database = True  # see http.middleware.DatabaseGate

    def __init__(self, storage: Storage):
        self.storage = storage

    @retrying
    def on_get(self, req, resp) -> None:
        query = list_query(req.params)
        total, users = search_users(req, self.storage, query)
        write_json(resp, list_response(users, total, query.start))

    @retrying
    def on_post_search(self, req, resp) -> None:
        query = list_query(read_json(req))
        total, users = search_users(req, self.storage, query)
        write_json(resp, list_response(users, total, query.start))

    @retrying
    def on_post(self, req, resp) -> None:
        body = read_json(req)
        user, password = _user_body(body)
        store = self.storage.users
        password_hash = store.hash_password(password) if password else None
        with self.storage.transaction(req.context.token_name, req.context.request_id) as tx:
            created = finish_user(req, store.create(tx, user, password_hash, password))
        resp.set_header("Location", created["meta"]["location"])
        _write_one(req, resp, created, 201)
        self.storage.observed.record(attribute_paths(body))


class UserItem:
    uses_database = True  # see http.middleware.DatabaseGate

    def __init__(self, storage: Storage):
        self.storage = storage

    def _current(self, req, tx, user_id: str) -> dict:
        """The user as stored, locked for this transaction; 404 if absent, 412 if If-Match names another
        version (of what clients read)."""
        user = self.storage.users.get_for_update(tx, user_id)
        if user is None:
            raise not_found(f"no user with id '{user_id}'")
        check_if_match(req.get_header("If-Match"), finish_user(req, user)["meta"]["version"])
        return user

    def _write(
        self, req, resp, tx, user_id: str, user: dict, password_hash: str | None, before: dict, unassigned: set[str] = frozenset()
    ) -> None:
        after = self.storage.users.replace(tx, user_id, user, password_hash, before, "active" in unassigned)
        if after is None:  # deprovisioning mode "delete": active=false removed the user
            after = {**finish_user(req, before), "active": False}
        _write_one(req, resp, finish_user(req, after))

    @retrying
    def on_get(self, req, resp, user_id: str) -> None:
        with self.storage.reading() as session:
            user = self.storage.users.get(session, user_id)
        if user is None:
            raise not_found(f"no user with id '{user_id}'")
        user = finish_user(req, user)
        if not_modified(req.get_header("If-None-Match"), user["meta"]["version"]):
            resp.status = 304
            resp.set_header("ETag", user["meta"]["version"])
            return
        _write_one(req, resp, user)

    @retrying
    def on_put(self, req, resp, user_id: str) -> None:
        body = read_json(req)
        user, password = _user_body(body)
        password_hash = self.storage.users.hash_password(password) if password else None
        with self.storage.transaction(req.context.token_name, req.context.request_id) as tx:
            before = self._current(req, tx, user_id)
            self._write(req, resp, tx, user_id, user, password_hash, before)
        self.storage.observed.record(attribute_paths(body))

    @retrying
    def on_patch(self, req, resp, user_id: str) -> None:
        body = read_json(req)
        with self.storage.transaction(req.context.token_name, req.context.request_id) as tx:
            before = self._current(req, tx, user_id)
            result = apply_patch(before, body)
            validate_user(result.resource)
            password_hash = self.storage.users.hash_password(result.password) if result.password else None
            self._write(req, resp, tx, user_id, result.resource, password_hash, before, result.unassigned)
        self.storage.observed.record(patch_paths(body))

    @retrying
    def on_delete(self, req, resp, user_id: str) -> None:
        with self.storage.transaction(req.context.token_name, req.context.request_id) as tx:
            self._current(req, tx, user_id)
            self.storage.users.delete(tx, user_id)
        resp.status = 204
