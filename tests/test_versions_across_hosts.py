"""A version (ETag) is the resource's, not the URL the client reached it through: the same user read
through two host names (or a proxy) has one version, so If-Match and If-None-Match work across them."""

from __future__ import annotations

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_HOST = {"Host": "scim.example.com"}
WP_HOST = {"Host": "wp.example.com"}
PROXIED = {"Host": "127.0.0.1:8080", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "sso.example.org"}


def member_of_a_group(api) -> str:
    created = api.post("/Users", json={"userName": "etag@example.com", "emails": [{"value": "etag@example.com"}]})
    assert created.status_code == 201, created.text
    uid = created.json["id"]
    added = api.patch(
        "/Groups/editor", json={"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": uid}]}]}
    )
    assert added.status_code in (200, 204), added.text
    return uid


def read(api, path: str, headers: dict) -> tuple[str, dict]:
    result = api.get(path, headers=headers)
    assert result.status_code == 200, result.text
    assert result.headers["etag"] == result.json["meta"]["version"]
    return result.headers["etag"], result.json


def test_a_users_version_is_the_same_through_every_host(api):
    uid = member_of_a_group(api)
    etags, links = set(), set()
    for headers in (SCIM_HOST, WP_HOST, PROXIED):
        etag, user = read(api, f"/Users/{uid}", headers)
        etags.add(etag)
        links.add(next(g["$ref"] for g in user["groups"] if g["value"] == "editor"))
    # The links name the host each client used; the version does not.
    assert links == {
        "http://scim.example.com/scim/v2/Groups/editor",
        "http://wp.example.com/scim/v2/Groups/editor",
        "https://sso.example.org/scim/v2/Groups/editor",
    }
    assert len(etags) == 1, etags
    listed = api.get("/Users", params={"filter": f'id eq "{uid}"'}, headers=WP_HOST).json["Resources"][0]
    assert {listed["meta"]["version"]} == etags
    # The same for the group (its version leaves out its members' links).
    group_etags = {read(api, "/Groups/editor", headers)[0] for headers in (SCIM_HOST, WP_HOST, PROXIED)}
    assert len(group_etags) == 1, group_etags
    assert api.get("/Groups/editor", headers={**WP_HOST, "If-None-Match": group_etags.pop()}).status_code == 304


def test_if_none_match_from_one_host_is_304_on_another(api):
    uid = member_of_a_group(api)
    etag, _ = read(api, f"/Users/{uid}", SCIM_HOST)
    again = api.get(f"/Users/{uid}", headers={**WP_HOST, "If-None-Match": etag})
    assert again.status_code == 304, again.text
    assert again.headers["etag"] == etag


def test_if_match_from_one_host_is_accepted_on_another(api):
    uid = member_of_a_group(api)
    etag, _ = read(api, f"/Users/{uid}", SCIM_HOST)
    change = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "Moved"}]}
    patched = api.patch(f"/Users/{uid}", json=change, headers={**WP_HOST, "If-Match": etag})
    assert patched.status_code == 200, patched.text
    assert patched.json["displayName"] == "Moved" and patched.headers["etag"] != etag
    # The old version is now stale through either host.
    for headers in (SCIM_HOST, WP_HOST):
        stale = api.patch(f"/Users/{uid}", json=change, headers={**headers, "If-Match": etag})
        assert stale.status_code == 412, stale.text
    body = {"userName": "etag@example.com", "emails": [{"value": "etag@example.com"}], "title": "Put"}
    put = api.put(f"/Users/{uid}", json=body, headers={**PROXIED, "If-Match": patched.headers["etag"]})
    assert put.status_code == 200, put.text
    assert put.headers["etag"] == read(api, f"/Users/{uid}", WP_HOST)[0]
    deleted = api.delete(f"/Users/{uid}", headers={**SCIM_HOST, "If-Match": put.headers["etag"]})
    assert deleted.status_code == 204, deleted.text
