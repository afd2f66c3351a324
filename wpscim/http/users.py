"""/Users and /Users/{id}. Each request is one transaction; PATCH and PUT share the store's write path."""

from __future__ import annotations

from wpscim.http.media import read_json, write_json
from wpscim.scim import filter as scim_filter
from wpscim.scim.errors import ScimError, not_found
from wpscim.scim.listing import list_response, paging
from wpscim.scim.patch import apply_patch
from wpscim.scim.resource import normalize_user, validate_user
from wpscim.wordpress.users import UserStore


def _location(req, user_id: str) -> str:
    return f"{req.prefix}/scim/v2/Users/{user_id}"


def _located(req, user: dict) -> dict:
    user["meta"]["location"] = _location(req, user["id"])
    for group in user.get("groups", []):
        group["$ref"] = f"{req.prefix}/scim/v2/Groups/{group['value']}"
    return user


def _user_body(body) -> tuple[dict, str | None]:
    user = normalize_user(body)
    validate_user(user)
    password = user.pop("password", None)
    if password is not None and not password:
        raise ScimError(400, "'password' must not be empty", "invalidValue")
    return user, password


class UsersCollection:
    def __init__(self, store: UserStore):
        self.store = store

    def on_get(self, req, resp) -> None:
        start, count = paging(req.get_param("startIndex"), req.get_param("count"))
        raw_filter = req.get_param("filter")
        expr = scim_filter.parse(raw_filter) if raw_filter is not None else None
        with self.store.db.transaction() as cursor:
            total, users = self.store.search(cursor, expr, start, count)
        write_json(resp, list_response([_located(req, u) for u in users], total, start))

    def on_post(self, req, resp) -> None:
        user, password = _user_body(read_json(req))
        password_hash = self.store.hash_password(password) if password else None
        with self.store.db.transaction() as cursor:
            user_id = self.store.create(cursor, user, password_hash)
            created = self.store.get(cursor, user_id)
        resp.set_header("Location", _location(req, user_id))
        write_json(resp, _located(req, created), 201)


class UserItem:
    def __init__(self, store: UserStore):
        self.store = store

    def _current(self, cursor, user_id: str) -> dict:
        user = self.store.get(cursor, user_id, for_update=True)
        if user is None:
            raise not_found(f"no user with id '{user_id}'")
        return user

    def _write(self, req, resp, cursor, user_id: str, user: dict, password_hash: str | None, before: dict) -> None:
        self.store.replace(cursor, user_id, user, password_hash)
        after = self.store.get(cursor, user_id)
        if after is None:  # deprovisioning mode "delete": active=false removed the user
            after = {**before, "active": False}
        write_json(resp, _located(req, after))

    def on_get(self, req, resp, user_id: str) -> None:
        with self.store.db.transaction() as cursor:
            user = self.store.get(cursor, user_id)
        if user is None:
            raise not_found(f"no user with id '{user_id}'")
        write_json(resp, _located(req, user))

    def on_put(self, req, resp, user_id: str) -> None:
        user, password = _user_body(read_json(req))
        password_hash = self.store.hash_password(password) if password else None
        with self.store.db.transaction() as cursor:
            before = self._current(cursor, user_id)
            self._write(req, resp, cursor, user_id, user, password_hash, before)

    def on_patch(self, req, resp, user_id: str) -> None:
        body = read_json(req)
        with self.store.db.transaction() as cursor:
            before = self._current(cursor, user_id)
            result = apply_patch(before, body)
            validate_user(result.resource)
            password_hash = self.store.hash_password(result.password) if result.password else None
            self._write(req, resp, cursor, user_id, result.resource, password_hash, before)

    def on_delete(self, req, resp, user_id: str) -> None:
        with self.store.db.transaction() as cursor:
            self._current(cursor, user_id)
            self.store.delete(cursor, user_id)
        resp.status = 204
