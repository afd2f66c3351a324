"""Versions (ETags) that change with every change of a group, even within one second, and the absolute
URLs wpscim writes (meta.location, Location, `$ref`, discovery, Bulk) as the client reached wpscim:
through the documented HTTPS proxy (X-Forwarded-Proto, Host; X-Forwarded-Host, Forwarded) or directly."""

from __future__ import annotations

import time

import pytest

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
PROXIED = {"Host": "sso.example.org", "X-Forwarded-Proto": "https"}  # what deploy/nginx-wpscim.conf sends


def make_users(api, n: int, prefix: str, headers: dict | None = None) -> list[str]:
    ids = []
    for i in range(n):
        name = f"{prefix}{i}@example.com"
        created = api.post("/Users", json={"userName": name, "emails": [{"value": name}]}, headers=headers or {})
        assert created.status_code == 201, created.text
        ids.append(created.json["id"])
    return ids


def at_start_of_a_second() -> None:
    """Wait until a new second has just begun, so the requests that follow share one second."""
    time.sleep(1 - time.time() % 1 + 0.01)


def members_op(op: str, uid: str) -> dict:
    if op == "add":
        return {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": uid}]}]}
    return {"schemas": [PATCH], "Operations": [{"op": "remove", "path": f'members[value eq "{uid}"]'}]}


def member_ids(api, group_id: str) -> set[str]:
    return {m["value"] for m in api.get(f"/Groups/{group_id}").json.get("members", [])}


# --- versions -------------------------------------------------------------------------------------


def test_group_versions_change_with_members_within_one_second(api):
    first, second = make_users(api, 2, "versions")
    at_start_of_a_second()
    start = time.time()
    before = api.get("/Groups/author").headers["etag"]
    added = api.patch("/Groups/author", json=members_op("add", first))
    removed = api.patch("/Groups/author", json=members_op("remove", first))
    other = api.patch("/Groups/author", json=members_op("add", second))
    assert time.time() - start < 1, "the PATCHes were meant to share one second"
    assert [r.status_code for r in (added, removed, other)] == [200, 200, 200]
    versions = [before, added.headers["etag"], removed.headers["etag"], other.headers["etag"]]
    assert len(set(versions)) == 4, versions
    for response in (added, removed, other):
        assert response.json["meta"]["version"] == response.headers["etag"]

    # A read gives the version the last write answered, with or without members.
    assert api.get("/Groups/author").headers["etag"] == other.headers["etag"]
    lean = api.get("/Groups/author", params={"excludedAttributes": "members"})
    assert lean.headers["etag"] == lean.json["meta"]["version"] == other.headers["etag"]
    assert api.get("/Groups/author", headers={"If-None-Match": added.headers["etag"]}).status_code == 200
    assert api.get("/Groups/author", headers={"If-None-Match": other.headers["etag"]}).status_code == 304

    # A client holding the version from after the first add has missed two changes: 412, nothing applied.
    stale = api.patch("/Groups/author", headers={"If-Match": added.headers["etag"]}, json=members_op("add", first))
    assert stale.status_code == 412 and stale.json["status"] == "412"
    stale_put = api.put("/Groups/author", headers={"If-Match": added.headers["etag"]}, json={"displayName": "Author", "members": []})
    assert stale_put.status_code == 412
    assert member_ids(api, "author") == {second}
    current = api.patch("/Groups/author", headers={"If-Match": other.headers["etag"]}, json=members_op("add", first))
    assert current.status_code == 200 and member_ids(api, "author") == {first, second}


def test_group_put_and_linking_post_change_the_version_within_one_second(api):
    (uid,) = make_users(api, 1, "linking")
    at_start_of_a_second()
    start = time.time()
    renamed = api.patch("/Groups/author", json={"schemas": [PATCH], "Operations": [{"op": "replace", "path": "externalId", "value": "x"}]})
    put = api.put("/Groups/author", json={"displayName": "Author", "externalId": "x", "members": [{"value": uid}]})
    linked = api.post("/Groups", json={"displayName": "Author", "externalId": "x", "members": [{"value": "1"}]})
    assert time.time() - start < 1, "the requests were meant to share one second"
    assert (renamed.status_code, put.status_code, linked.status_code) == (200, 200, 201)
    assert linked.json["id"] == "author"
    versions = [renamed.headers["etag"], put.headers["etag"], linked.headers["etag"]]
    assert len(set(versions)) == 3, versions
    assert api.get("/Groups/author").headers["etag"] == linked.headers["etag"]
    assert api.delete("/Groups/author", headers={"If-Match": put.headers["etag"]}).status_code == 412


@pytest.mark.xfail(
    strict=True,
    reason="a role granted or taken through /Users (roles) does not advance the group's change counter "
    "(Roles.revision, kept in the wpscim_groups option): user writes read the role options unlocked, and "
    "advancing it from them would make every create (which grants the default role) lock and rewrite that "
    "option, one create at a time",
)
def test_group_version_changes_when_a_user_write_changes_its_members(api):
    (uid,) = make_users(api, 1, "userside")
    before = api.get("/Groups/author").headers["etag"]
    granted = api.patch(
        f"/Users/{uid}", json={"schemas": [PATCH], "Operations": [{"op": "add", "path": "roles", "value": [{"value": "author"}]}]}
    )
    assert granted.status_code == 200 and uid in member_ids(api, "author")
    assert api.get("/Groups/author").headers["etag"] != before


def test_bulk_group_operations_answer_distinct_versions(api):
    first, second = make_users(api, 2, "bulkversions")
    operations = [
        {"method": "PATCH", "path": "/Groups/author", "data": members_op("add", first)},
        {"method": "PATCH", "path": "/Groups/author", "data": members_op("remove", first)},
        {"method": "PATCH", "path": "/Groups/author", "data": members_op("add", second)},
    ]
    at_start_of_a_second()
    answer = api.post("/Bulk", json={"schemas": [BULK], "Operations": operations})
    assert answer.status_code == 200
    versions = [op["version"] for op in answer.json["Operations"]]
    assert len(set(versions)) == 3, versions
    stale = api.post("/Bulk", json={"schemas": [BULK], "Operations": [{**operations[0], "version": versions[0]}]})
    assert stale.json["Operations"][0]["status"] == "412"


def test_user_versions_change_with_every_patch_within_one_second(api):
    """A user's version is a hash of everything a client reads of the user, so two changes in one
    second differ even though meta.lastModified has one-second resolution."""
    (uid,) = make_users(api, 1, "userversions")
    at_start_of_a_second()
    start = time.time()
    before = api.get(f"/Users/{uid}").headers["etag"]
    one = api.patch(f"/Users/{uid}", json={"schemas": [PATCH], "Operations": [{"op": "add", "path": "title", "value": "One"}]})
    two = api.patch(f"/Users/{uid}", json={"schemas": [PATCH], "Operations": [{"op": "add", "path": "title", "value": "Two"}]})
    granted = api.patch("/Groups/author", json=members_op("add", uid))  # the user's `groups` change
    assert time.time() - start < 1, "the requests were meant to share one second"
    after_grant = api.get(f"/Users/{uid}").headers["etag"]
    versions = [before, one.headers["etag"], two.headers["etag"], after_grant]
    assert granted.status_code == 200 and len(set(versions)) == 4, versions
    stale = api.patch(
        f"/Users/{uid}",
        headers={"If-Match": one.headers["etag"]},
        json={"schemas": [PATCH], "Operations": [{"op": "add", "path": "title", "value": "Lost"}]},
    )
    assert stale.status_code == 412 and api.get(f"/Users/{uid}").json["title"] == "Two"


# --- links ----------------------------------------------------------------------------------------


def _urls(value) -> list[str]:
    """Every string in a document that looks like an absolute URL of wpscim's (not, say, a profileUrl)."""
    if isinstance(value, str):
        return [value] if value.startswith(("http://", "https://")) and "/scim/" in value else []
    if isinstance(value, dict):
        return [url for v in value.values() for url in _urls(v)]
    if isinstance(value, list):
        return [url for v in value for url in _urls(v)]
    return []


def _check_links(api, headers: dict, base: str) -> None:
    """Every URL wpscim answers under `headers` starts with `base` (and some are there to check)."""
    seen: list[str] = []

    def links(response, status: int = 200) -> dict:
        assert response.status_code == status, response.text
        found = _urls(response.json) + ([response.headers["location"]] if "location" in response.headers else [])
        assert all(url.startswith(base + "/") for url in found), (base, found)
        seen.extend(found)
        return response.json

    (uid,) = make_users(api, 1, f"links{len(base)}", headers)
    created = api.post("/Users", json={"userName": f"l{len(base)}@example.com"}, headers=headers)
    user = links(created, 201)
    assert created.headers["location"] == user["meta"]["location"] == f"{base}/Users/{user['id']}"
    links(api.patch("/Groups/author", json=members_op("add", uid), headers=headers))
    group = links(api.get("/Groups/author", headers=headers))
    assert group["meta"]["location"] == f"{base}/Groups/author"
    assert {"value": uid, "$ref": f"{base}/Users/{uid}", "type": "User"} in group["members"]
    member = links(api.get(f"/Users/{uid}", headers=headers))
    assert {"value": "author", "$ref": f"{base}/Groups/author"} in [{k: g[k] for k in ("value", "$ref")} for g in member["groups"]]
    new_group = api.post("/Groups", json={"displayName": f"Links {len(base)}", "members": [{"value": uid}]}, headers=headers)
    made = links(new_group, 201)
    assert new_group.headers["location"] == made["meta"]["location"] == f"{base}/Groups/{made['id']}"
    links(api.put(f"/Users/{user['id']}", json={"userName": f"l{len(base)}@example.com", "title": "T"}, headers=headers))
    links(api.put(f"/Groups/{made['id']}", json={"displayName": f"Links {len(base)}"}, headers=headers))
    links(api.get("/Users", headers=headers))
    links(api.get("/Groups", headers=headers))
    links(api.post("/Users/.search", json={"filter": f'id eq "{uid}"'}, headers=headers))
    links(api.post("/Groups/.search", json={"filter": 'id eq "author"'}, headers=headers))
    links(api.post("/.search", json={"count": 1000}, headers=headers))
    assert links(api.get("/ServiceProviderConfig", headers=headers))["meta"]["location"] == f"{base}/ServiceProviderConfig"
    assert links(api.get("/ResourceTypes/User", headers=headers))["meta"]["location"] == f"{base}/ResourceTypes/User"
    links(api.get("/ResourceTypes", headers=headers))
    links(api.get("/Schemas", headers=headers))
    bulk = links(
        api.post(
            "/Bulk",
            json={
                "schemas": [BULK],
                "Operations": [
                    {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": f"b{len(base)}@example.com"}},
                    {"method": "PATCH", "path": "/Groups/author", "data": members_op("add", "bulkId:b")},
                    {"method": "PATCH", "path": "/Users/bulkId:b", "data": {"schemas": [PATCH], "Operations": []}},
                ],
            },
            headers=headers,
        )
    )
    locations = [op["location"] for op in bulk["Operations"]]
    new_id = locations[0].rsplit("/", 1)[-1]
    assert locations == [f"{base}/Users/{new_id}", f"{base}/Groups/author", f"{base}/Users/{new_id}"]
    assert len(seen) > 40  # the checks above looked at URLs, not at nothing


def test_urls_behind_the_https_proxy_use_its_scheme_and_host(api):
    _check_links(api, PROXIED, "https://sso.example.org/scim/v2")


def test_urls_without_a_proxy_use_the_request_itself(api):
    _check_links(api, {"Host": "sso.example.org:8080"}, "http://sso.example.org:8080/scim/v2")


def test_forwarded_host_and_rfc7239_forwarded_are_followed(api):
    forwarded_host = {**PROXIED, "X-Forwarded-Host": "idp-facing.example.org"}
    user = api.post("/Users", json={"userName": "fh@example.com"}, headers=forwarded_host)
    assert user.headers["location"] == f"https://idp-facing.example.org/scim/v2/Users/{user.json['id']}"
    forwarded = {"Host": "127.0.0.1:8080", "Forwarded": 'for=192.0.2.1;proto=https;host="sso.example.org"'}
    group = api.get("/Groups/author", headers=forwarded).json
    assert group["meta"]["location"] == "https://sso.example.org/scim/v2/Groups/author"
