"""RFC 7643/7644 beyond the IdPs' needs: discovery, sorting, projection, versions, search, bulk."""

from __future__ import annotations

import json
import threading

from test_concurrency import call

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def users(api, *names, **extra):
    ids = []
    for name in names:
        body = {"userName": name, "name": {"familyName": name.split("@")[0][::-1]}, "emails": [{"value": f"{name}@example.com"}], **extra}
        result = api.post("/Users", json=body)
        assert result.status_code == 201, result.text
        ids.append(result.json["id"])
    return ids


def test_service_provider_config(api):
    spc = api.get("/ServiceProviderConfig")
    assert spc.status_code == 200 and spc.headers["content-type"] == "application/scim+json"
    body = spc.json
    for feature in ("patch", "filter", "sort", "etag", "bulk", "changePassword"):
        assert body[feature]["supported"] is True, feature
    assert body["bulk"]["maxOperations"] == 1000 and body["bulk"]["maxPayloadSize"] == 1048576
    assert body["filter"]["maxResults"] == 1000
    assert body["authenticationSchemes"][0]["type"] == "oauthbearertoken"


def test_resource_types_and_schemas(api):
    types = api.get("/ResourceTypes").json
    assert types["totalResults"] == 2 and {t["id"] for t in types["Resources"]} == {"User", "Group"}
    user_type = api.get("/ResourceTypes/User").json
    assert user_type["endpoint"] == "/Users" and user_type["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]
    listed = api.get("/Schemas").json
    assert {s["id"] for s in listed["Resources"]} == {CORE, ENTERPRISE, GROUP}
    user = api.get(f"/Schemas/{CORE}").json
    attrs = {a["name"]: a for a in user["attributes"]}
    assert "id" not in attrs
    assert attrs["userName"]["required"] and attrs["userName"]["uniqueness"] == "server"
    assert attrs["password"]["mutability"] == "writeOnly" and attrs["password"]["returned"] == "never"
    assert attrs["groups"]["mutability"] == "readOnly"
    assert attrs["externalId"]["caseExact"] is True and attrs["active"]["type"] == "boolean"
    assert {s["name"] for s in attrs["emails"]["subAttributes"]} == {"value", "display", "type", "primary"}
    assert api.get("/Schemas/urn:nope").status_code == 404
    for path in ("/ServiceProviderConfig", "/ResourceTypes", "/Schemas"):
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            result = api.request(method, path, json={})
            assert result.status_code == 405, (method, path)
            assert result.json["status"] == "405" and result.headers["content-type"] == "application/scim+json"


def test_sorting(api):
    ids = users(api, "carol", "alice", "bob")
    by_name = api.get("/Users", params={"sortBy": "userName", "filter": 'userName ne "admin"'}).json["Resources"]
    assert [u["userName"] for u in by_name] == ["alice", "bob", "carol"]
    down = api.get("/Users", params={"sortBy": "userName", "sortOrder": "descending", "count": 2}).json
    assert [u["userName"] for u in down["Resources"]] == ["carol", "bob"] and down["totalResults"] == 4
    by_family = api.get("/Users", params={"sortBy": "name.familyName", "count": 3}).json["Resources"]
    assert [u["userName"] for u in by_family] == ["bob", "alice", "carol"]  # bob, ecila, lorac; admin has none: last
    by_title = api.get("/Users", params={"sortBy": "title"}).json  # not in SQL: sorted in memory
    assert by_title["totalResults"] == 4
    assert [u["id"] for u in api.get("/Users", params={"sortBy": "id", "sortOrder": "descending"}).json["Resources"]][:3] == ids[::-1]
    groups = api.get("/Groups", params={"sortBy": "displayName", "excludedAttributes": "members"}).json["Resources"]
    assert [g["displayName"] for g in groups] == sorted(g["displayName"] for g in groups)
    assert api.get("/Users", params={"sortOrder": "sideways"}).status_code == 400


def test_attributes_and_excluded_attributes(api):
    (uid,) = users(api, "proj", title="Boss", **{ENTERPRISE: {"department": "Ops", "costCenter": "7"}})
    only = api.get(f"/Users/{uid}", params={"attributes": "userName,name.familyName,emails.value"}).json
    assert only == {
        "schemas": only["schemas"],
        "id": uid,
        "userName": "proj",
        "name": {"familyName": "jorp"},
        "emails": [{"value": "proj@example.com"}],
    }
    ext = api.get(f"/Users/{uid}", params={"attributes": f"{ENTERPRISE}:department"}).json
    assert ext[ENTERPRISE] == {"department": "Ops"} and "userName" not in ext
    whole = api.get(f"/Users/{uid}", params={"attributes": ENTERPRISE}).json
    assert whole[ENTERPRISE] == {"department": "Ops", "costCenter": "7"}
    without = api.get(f"/Users/{uid}", params={"excludedAttributes": "title,emails,meta,id"}).json
    assert "title" not in without and "emails" not in without and "meta" not in without and without["id"] == uid
    listing = api.get("/Users", params={"attributes": "userName", "filter": 'userName eq "proj"'}).json["Resources"]
    assert listing == [{"schemas": listing[0]["schemas"], "id": uid, "userName": "proj"}]
    created = api.post("/Users", params={"attributes": "userName"}, json={"userName": "fresh"})
    assert created.status_code == 201 and set(created.json) == {"schemas", "id", "userName"}
    patched = api.patch(f"/Users/{uid}", params={"excludedAttributes": "groups,roles"}, json={"Operations": []}).json
    assert "groups" not in patched and patched["userName"] == "proj"


def test_versions_and_conditional_requests(api):
    (uid,) = users(api, "etag")
    first = api.get(f"/Users/{uid}")
    etag = first.headers["etag"]
    assert etag.startswith('W/"') and first.json["meta"]["version"] == etag
    assert api.get(f"/Users/{uid}", headers={"If-None-Match": etag}).status_code == 304
    assert api.get(f"/Users/{uid}", headers={"If-None-Match": 'W/"other"'}).status_code == 200
    changed = api.patch(f"/Users/{uid}", headers={"If-Match": etag}, json={"Operations": [{"op": "add", "path": "title", "value": "T"}]})
    assert changed.status_code == 200 and changed.headers["etag"] != etag and changed.json["meta"]["version"] == changed.headers["etag"]
    stale = api.put(f"/Users/{uid}", headers={"If-Match": etag}, json={"userName": "etag", "title": "lost update"})
    assert stale.status_code == 412 and stale.json["status"] == "412"
    assert api.get(f"/Users/{uid}").json["title"] == "T"
    assert api.delete(f"/Users/{uid}", headers={"If-Match": etag}).status_code == 412
    assert api.put(f"/Users/{uid}", headers={"If-Match": "*"}, json={"userName": "etag"}).status_code == 200
    group = api.get("/Groups/editor")
    assert group.headers["etag"] == group.json["meta"]["version"]
    assert api.patch("/Groups/editor", headers={"If-Match": 'W/"nope"'}, json={"Operations": []}).status_code == 412
    assert api.get("/Groups/editor", headers={"If-None-Match": group.headers["etag"]}).status_code == 304


def test_two_concurrent_puts_with_one_etag(live_server, wp):
    base, token = live_server
    status, user = call(base, token, "POST", "/Users", {"userName": "contended"})
    etag = user["meta"]["version"]
    barrier = threading.Barrier(2)
    outcomes = {}

    def put(title):
        import urllib.error
        import urllib.request

        request = urllib.request.Request(
            f"{base}/Users/{user['id']}",
            method="PUT",
            data=json.dumps({"userName": "contended", "title": title}).encode(),
            headers={"Authorization": f"Bearer {token}", "If-Match": etag},
        )
        barrier.wait()
        try:
            with urllib.request.urlopen(request) as response:
                outcomes[title] = (response.status, json.loads(response.read()))
        except urllib.error.HTTPError as error:
            outcomes[title] = (error.code, json.loads(error.read()))

    threads = [threading.Thread(target=put, args=(t,)) for t in ("first", "second")]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(s for s, _ in outcomes.values()) == [200, 412]
    winner = next(title for title, (s, _) in outcomes.items() if s == 200)
    stored = call(base, token, "GET", f"/Users/{user['id']}")[1]
    assert stored["title"] == winner and stored["meta"]["version"] == outcomes[winner][1]["meta"]["version"]


def test_search_endpoints(api):
    ids = users(api, "s1", "s2")
    request = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": 'userName sw "s"',
        "attributes": ["userName"],
        "sortBy": "userName",
        "sortOrder": "descending",
        "startIndex": 1,
        "count": 10,
    }
    found = api.post("/Users/.search", json=request)
    assert found.status_code == 200 and [u["id"] for u in found.json["Resources"]] == ids[::-1]
    groups = api.post("/Groups/.search", json={"filter": 'displayName sw "Ad"', "excludedAttributes": ["members"]}).json
    assert [g["id"] for g in groups["Resources"]] == ["administrator"]
    both = api.post("/.search", json={"filter": 'userName eq "s1" or displayName eq "Editor"', "excludedAttributes": ["members"]}).json
    assert both["totalResults"] == 2 and [r["id"] for r in both["Resources"]] == [ids[0], "editor"]
    assert api.post("/Users/.search", json={"filter": 42}).status_code == 400
    # A dateTime compared with what is no dateTime: invalidFilter on every endpoint, not a text comparison.
    for method, path, body in (
        ("GET", "/Users", None),
        ("POST", "/Users/.search", {}),
        ("GET", "/Groups", None),
        ("POST", "/.search", {}),
    ):
        bad = 'meta.lastModified gt "2020-13-45T99:99:99Z"'
        answer = api.get(path, params={"filter": bad}) if method == "GET" else api.post(path, json={**body, "filter": bad})
        assert answer.status_code == 400 and answer.json["scimType"] == "invalidFilter", (path, answer.text)
    recent = api.get("/Users", params={"filter": 'meta.created gt "2000-01-01T00:00:00Z"'})
    assert recent.status_code == 200 and recent.json["totalResults"] >= 3


def test_bulk_creates_a_user_and_adds_it_to_a_group(api, wp):
    request = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {
                "method": "PATCH",
                "path": "/Groups/bulkId:g1",
                "data": {"Operations": [{"op": "add", "path": "members", "value": [{"value": "bulkId:u1"}]}]},
            },
            {"method": "POST", "path": "/Users", "bulkId": "u1", "data": {"schemas": [CORE], "userName": "bulky"}},
            {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": {"displayName": "Bulk Team"}},
            {"method": "POST", "path": "/Users", "bulkId": "dup", "data": {"userName": "bulky"}},
        ],
    }
    result = api.post("/Bulk", json=request)
    assert result.status_code == 200, result.text
    ops = result.json["Operations"]
    assert [(o["method"], o["status"]) for o in ops] == [("PATCH", "200"), ("POST", "201"), ("POST", "201"), ("POST", "409")]
    assert ops[1]["location"].endswith("/Users/" + ops[1]["location"].rsplit("/", 1)[-1]) and ops[1]["version"].startswith("W/")
    assert ops[3]["response"]["scimType"] == "uniqueness"
    uid = int(ops[1]["location"].rsplit("/", 1)[-1])
    assert sorted(wp.oracle.get_user(uid)["roles"]) == ["bulk_team", "subscriber"]
    # Each operation's change events carry the bulk request's X-Request-Id and the operation's number.
    logged = wp.sql("SELECT request_id, action, resource_type FROM wp_wpscim_events ORDER BY id")
    outer = result.headers["X-Request-Id"]
    assert [(rid, action, kind) for rid, action, kind in logged if rid.startswith(outer + "-")] == [
        (outer + "-2", "create", "User"),
        (outer + "-3", "create", "Group"),
        (outer + "-1", "add_members", "Group"),
    ], logged


def test_bulk_limits_and_fail_on_errors(api):
    too_many = {"Operations": [{"method": "POST", "path": "/Users", "bulkId": str(i), "data": {"userName": f"u{i}"}} for i in range(1001)]}
    assert api.post("/Bulk", json=too_many).status_code == 413
    big = api.post("/Bulk", body=b'{"Operations": [], "pad": "' + b"x" * (1024 * 1024) + b'"}')
    assert big.status_code == 413 and big.json["status"] == "413"
    stop = {
        "failOnErrors": 1,
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": ""}},
            {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "never-created"}},
        ],
    }
    ops = api.post("/Bulk", json=stop).json["Operations"]
    assert [o["status"] for o in ops] == ["400"]
    assert api.get("/Users", params={"filter": 'userName eq "never-created"'}).json["totalResults"] == 0
    circular = {
        "Operations": [
            {"method": "POST", "path": "/Groups", "bulkId": "x", "data": {"displayName": "X", "members": [{"value": "bulkId:y"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "y", "data": {"displayName": "Y", "members": [{"value": "bulkId:x"}]}},
        ]
    }
    assert [o["status"] for o in api.post("/Bulk", json=circular).json["Operations"]] == ["409", "409"]
    bad = {"Operations": [{"method": "GET", "path": "/Users"}, {"method": "DELETE", "path": "/Users"}, "x"]}
    assert [o["status"] for o in api.post("/Bulk", json=bad).json["Operations"]] == ["400", "400", "400"]
    assert api.post("/Bulk", json={"Operations": "nope"}).status_code == 400
    twice = {
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "same", "data": {"userName": "twice-1"}},
            {"method": "POST", "path": "/Users", "bulkId": "same", "data": {"userName": "twice-2"}},
            {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"displayName": "Twice", "members": [{"value": "bulkId:same"}]}},
        ]
    }
    ops = api.post("/Bulk", json=twice).json["Operations"]
    assert [o["status"] for o in ops] == ["400", "400", "409"] and "more than one operation" in ops[0]["response"]["detail"]
    assert api.get("/Users", params={"filter": 'userName sw "twice-"'}).json["totalResults"] == 0
