"""Groups are WordPress roles: Okta and Entra group push replayed, with WordPress itself (user_can,
its role list) judging every step."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import Api

from wpscim.app import create_app
from wpscim.wordpress.db import Database
from wpscim.wordpress.roles import RolePolicy
from wpscim.wordpress.site import serialize, unserialize
from wpscim.wordpress.storage import Storage
from wpscim.wordpress.tokens import TokenStore

pytestmark = pytest.mark.oracle

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BUILT_IN = ["administrator", "editor", "author", "contributor", "subscriber"]


def make_users(api, n: int, prefix: str = "member") -> list[str]:
    ids = []
    for i in range(n):
        result = api.post("/Users", json={"userName": f"{prefix}{i}@example.com", "emails": [{"value": f"{prefix}{i}@example.com"}]})
        assert result.status_code == 201, result.text
        ids.append(result.json["id"])
    return ids


def wp_roles(wp, user_id) -> list[str]:
    return wp.oracle.get_user(int(user_id))["roles"]


def members(api, group_id: str) -> list[str]:
    result = api.get(f"/Groups/{group_id}")
    assert result.status_code == 200, result.text
    return [m["value"] for m in result.json.get("members", [])]


def test_every_role_is_listed_for_import(api, wp):
    listing = api.get("/Groups", params={"startIndex": 1, "count": 100})
    assert listing.status_code == 200
    body = listing.json
    assert body["totalResults"] == 5 and [g["id"] for g in body["Resources"]] == BUILT_IN
    assert [g["displayName"] for g in body["Resources"]] == [wp.oracle.roles()["roles"][s]["name"] for s in BUILT_IN]
    admins = body["Resources"][0]["members"]
    assert admins == [{"value": "1", "$ref": admins[0]["$ref"], "type": "User"}]
    assert admins[0]["$ref"].endswith("/scim/v2/Users/1")
    page = api.get("/Groups", params={"startIndex": 2, "count": 2, "excludedAttributes": "members"}).json
    assert [g["id"] for g in page["Resources"]] == ["editor", "author"] and page["itemsPerPage"] == 2
    assert all("members" not in g for g in page["Resources"])
    found = api.get("/Groups", params={"filter": 'displayName eq "editor"', "excludedAttributes": "members"}).json
    assert [g["id"] for g in found["Resources"]] == ["editor"]
    assert api.get("/Groups", params={"filter": 'displayName eq "Nope"'}).json["totalResults"] == 0
    assert api.get("/Groups", params={"filter": 'members[value eq "1"]'}).json["Resources"][0]["id"] == "administrator"
    assert api.get("/Groups/nope").status_code == 404


def test_pages_of_groups_read_members_one_group_at_a_time(api, wp):
    """Okta's group import on any real site: more roles with members than the read pool has connections
    (2 here; `wpscim serve` has one per thread), and several pages asked for at once. Each request holds
    one connection at a time, and none is left taken."""
    small = Database(wp.address, max_connections=2)
    lister = Api(create_app(Storage(small, wp.site)), TokenStore(wp.db, wp.site).create("lister"))
    editor, author = (
        api.post("/Users", json={"userName": f"{role}1", "roles": [{"value": role}]}).json["id"] for role in ("editor", "author")
    )
    subscriber = make_users(api, 1, "plain")[0]
    expected = {"administrator": ["1"], "editor": [editor], "author": [author], "contributor": [], "subscriber": [subscriber]}
    try:
        listing = lister.get("/Groups", params={"startIndex": 1, "count": 100})
        assert listing.status_code == 200, listing.text
        assert {g["id"]: [m["value"] for m in g.get("members", [])] for g in listing.json["Resources"]} == expected
        searched = lister.post("/Groups/.search", json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]})
        assert searched.status_code == 200 and len(searched.json["Resources"]) == 5, searched.text
        for count, groups_listed in ((4, 0), (6, 2), (100, 5)):  # the four users fill a page first
            root = lister.post("/.search", json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "count": count})
            assert root.status_code == 200, root.text
            assert root.json["totalResults"] == 9
            assert [r["id"] for r in root.json["Resources"] if "displayName" in r and "userName" not in r] == list(expected)[:groups_listed]
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: lister.get("/Groups"), range(8)))
        assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers if a.status_code != 200]
        assert small.reads.in_use == 0
    finally:
        small.close()


def test_bulk_group_operations_read_no_members(api, wp):
    """A /Bulk result carries no resource: its group operations read no members, so they neither take a
    read connection each nor leave one half-read (a half-read connection is closed, and the next
    operation would connect again)."""
    small = Database(wp.address, max_connections=2)
    bulk = Api(create_app(Storage(small, wp.site)), TokenStore(wp.db, wp.site).create("bulk"))
    member = make_users(api, 1, "bulkmember")[0]
    add = {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": member}]}]}
    remove = {"schemas": [PATCH], "Operations": [{"op": "remove", "path": f'members[value eq "{member}"]'}]}
    operations = [{"method": "PATCH", "path": "/Groups/author", "data": add if i % 2 == 0 else remove} for i in range(10)]

    try:
        assert bulk.get("/Groups/subscriber").status_code == 200  # the read pool's first connection
        before = small.reads.opened
        answer = bulk.post("/Bulk", json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": operations})
        assert answer.status_code == 200 and [op["status"] for op in answer.json["Operations"]] == ["200"] * 10, answer.text
        assert small.reads.opened == before == 1
        assert small.reads.in_use == 0
    finally:
        small.close()


def test_okta_group_push(api, wp):
    alice, bob, carol = make_users(api, 3)
    created = api.post("/Groups", json={"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []})
    assert created.status_code == 201, created.text
    gid = created.json["id"]
    assert gid == "test_scimv2" and created.headers["location"].endswith(f"/Groups/{gid}")
    roles = wp.oracle.roles()["roles"]
    assert roles[gid]["name"] == "Test SCIMv2"
    assert roles[gid]["capabilities"] == roles["subscriber"]["capabilities"]  # the template role

    add = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "replace", "value": {"id": gid, "displayName": "Test SCIMv2"}},
            {"op": "add", "path": "members", "value": [{"value": alice, "display": "member0@example.com"}, {"value": bob, "display": "b"}]},
        ],
    }
    assert api.patch(f"/Groups/{gid}", json=add).status_code == 200
    assert members(api, gid) == [alice, bob]
    assert sorted(wp_roles(wp, alice)) == sorted(["subscriber", gid])
    assert wp.oracle.user_can(int(alice), "read")

    swap = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "replace", "value": {"id": gid, "displayName": "Test SCIMv2"}},
            {"op": "remove", "path": f'members[value eq "{alice}"]'},
            {"op": "add", "path": "members", "value": [{"value": carol}]},
        ],
    }
    assert api.patch(f"/Groups/{gid}", json=swap).status_code == 200
    assert members(api, gid) == [bob, carol]
    assert wp_roles(wp, alice) == ["subscriber"]  # the other role is kept

    rename = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"id": gid, "displayName": "Renamed"}}]}
    assert api.patch(f"/Groups/{gid}", json=rename).status_code == 200
    assert wp.oracle.roles()["roles"][gid]["name"] == "Renamed"
    assert api.get(f"/Users/{bob}").json["groups"][-1] == {
        "value": gid,
        "display": "Renamed",
        "type": "direct",
        "$ref": api.get(f"/Users/{bob}").json["groups"][-1]["$ref"],
    }

    full = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "members", "value": [{"value": alice}]}]}
    assert api.patch(f"/Groups/{gid}", json=full).status_code == 200
    assert members(api, gid) == [alice]

    put = api.put(
        f"/Groups/{gid}", json={"schemas": [GROUP], "id": gid, "displayName": "Put Name", "members": [{"value": bob}, {"value": carol}]}
    )
    assert put.status_code == 200 and [m["value"] for m in put.json["members"]] == [bob, carol]
    assert wp.oracle.roles()["roles"][gid]["name"] == "Put Name"

    assert api.delete(f"/Groups/{gid}").status_code == 204
    assert gid not in wp.oracle.roles()["roles"]
    for user in (alice, bob, carol):
        assert wp_roles(wp, user) == ["subscriber"]
    assert api.get(f"/Groups/{gid}").status_code == 404


def test_entra_group_push(api, wp):
    alice, bob, carol = make_users(api, 3)
    created = api.post(
        "/Groups",
        json={
            "schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/Group"],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "Marketing",
            "members": [],
        },
    )
    assert created.status_code == 201, created.text
    gid = created.json["id"]
    assert created.json["externalId"] == "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
    found = api.get("/Groups", params={"filter": 'displayName eq "Marketing"', "excludedAttributes": "members"}).json
    assert [g["id"] for g in found["Resources"]] == [gid] and "members" not in found["Resources"][0]

    add = {
        "schemas": [PATCH],
        "Operations": [
            {
                "op": "Add",
                "path": "members",
                "value": [{"$ref": None, "value": alice}, {"$ref": None, "value": bob}, {"$ref": None, "value": carol}],
            }
        ],
    }
    assert api.patch(f"/Groups/{gid}", json=add).status_code == 200
    remove = {"schemas": [PATCH], "Operations": [{"op": "Remove", "path": "members", "value": [{"value": bob}]}]}
    assert api.patch(f"/Groups/{gid}", json=remove).status_code == 200
    assert members(api, gid) == [alice, carol]  # only the listed member left
    assert gid in wp_roles(wp, alice) and gid not in wp_roles(wp, bob)

    rename = {"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "displayName", "value": "Marketing EU"}]}
    assert api.patch(f"/Groups/{gid}", json=rename).status_code == 200
    assert wp.oracle.roles()["roles"][gid]["name"] == "Marketing EU"
    assert api.delete(f"/Groups/{gid}").status_code == 204
    assert gid not in wp.oracle.roles()["roles"] and wp_roles(wp, alice) == ["subscriber"]


def test_linking_to_editor_grants_editor_capabilities(api, wp):
    (uid,) = make_users(api, 1)
    linked = api.post("/Groups", json={"schemas": [GROUP], "displayName": "EDITOR", "externalId": "okta-123", "members": [{"value": uid}]})
    assert linked.status_code == 201, linked.text
    assert linked.json["id"] == "editor" and linked.json["displayName"] == "Editor"
    assert sorted(wp_roles(wp, uid)) == ["editor", "subscriber"]
    assert wp.oracle.user_can(int(uid), "edit_posts") and wp.oracle.user_can(int(uid), "edit_others_posts")
    assert wp.oracle.get_user(int(uid))["user_level"] == 7
    level = wp.sql("SELECT meta_value FROM wp_usermeta WHERE user_id = %s AND meta_key = 'wp_user_level'", (uid,))[0][0]
    assert level == "7"
    assert "editor" in wp.oracle.roles()["roles"] and len(wp.oracle.roles()["roles"]) == 5  # nothing new created
    # Removing the link's member takes the capability away again, and the level falls back.
    api.patch("/Groups/editor", json={"Operations": [{"op": "remove", "path": f'members[value eq "{uid}"]'}]})
    assert not wp.oracle.user_can(int(uid), "edit_posts") and wp.oracle.get_user(int(uid))["user_level"] == 0

    # The audit trail: the link noted its externalId; linking again as it stands records nothing.
    def actions():
        return wp.sql(
            "SELECT action, attributes FROM wp_wpscim_events WHERE resource_type = 'Group' AND resource_id = 'editor' ORDER BY id"
        )

    assert actions()[0] == ("update", '["externalId"]')
    before = actions()
    assert api.post("/Groups", json={"schemas": [GROUP], "displayName": "Editor", "externalId": "okta-123"}).status_code == 201
    assert api.post("/Groups", json={"schemas": [GROUP], "displayName": "editor"}).status_code == 201
    assert actions() == before


@pytest.mark.parametrize("role", BUILT_IN)
def test_deleting_a_built_in_role_is_refused(api, wp, role):
    before = wp.oracle.roles()
    result = api.delete(f"/Groups/{role}")
    assert result.status_code == 400 and result.json["scimType"] == "mutability" and "built into WordPress" in result.json["detail"]
    assert wp.oracle.roles() == before


def test_role_deletion_settings(wp):
    # A role some plugin created (not wpscim): refused unless --allow-role-delete.
    raw = wp.sql("SELECT option_value FROM wp_options WHERE option_name = 'wp_user_roles'")[0][0]
    definitions = unserialize(raw)
    definitions["shop_mgr"] = {"name": "Shop Manager", "capabilities": {"read": True}}
    wp.sql("UPDATE wp_options SET option_value = %s WHERE option_name = 'wp_user_roles'", (serialize(definitions),))
    assert "shop_mgr" in wp.oracle.roles()["roles"]
    refused = wp.client().delete("/Groups/shop_mgr")
    assert refused.status_code == 400 and "not created by wpscim" in refused.json["detail"]
    relaxed = wp.client(role_policy=RolePolicy(allow_delete=True))
    assert relaxed.delete("/Groups/shop_mgr").status_code == 204
    assert "shop_mgr" not in wp.oracle.roles()["roles"]
    assert relaxed.delete("/Groups/subscriber").status_code == 409  # still the default role


def test_unknown_members_are_ignored_and_recorded_by_default(api, wp):
    """Real sites delete users locally: one stale member id must not block a whole group push."""
    (uid,) = make_users(api, 1)
    gid = api.post("/Groups", json={"displayName": "Team", "members": [{"value": "31337"}]}).json["id"]
    added = api.patch(
        f"/Groups/{gid}", json={"Operations": [{"op": "add", "path": "members", "value": [{"value": uid}, {"value": "99999"}]}]}
    )
    assert added.status_code == 200, added.text
    assert members(api, gid) == [uid] and gid in wp_roles(wp, uid)
    recorded = wp.sql("SELECT detail FROM wp_wpscim_events WHERE resource_type = 'Group' AND action = 'add_members' ORDER BY id")
    details = [json.loads(detail) for (detail,) in recorded]
    assert details[0]["ignored"] == ["31337"] and details[0]["users"] == []
    assert details[1]["ignored"] == ["99999"] and details[1]["users"] == [int(uid)]


def test_unknown_members_are_refused_and_nothing_is_applied_when_rejected(wp):
    api = wp.client(role_policy=RolePolicy(unknown_members="reject"))
    (uid,) = make_users(api, 1)
    gid = api.post("/Groups", json={"displayName": "Team"}).json["id"]
    bad = api.patch(
        f"/Groups/{gid}",
        json={"Operations": [{"op": "add", "path": "members", "value": [{"value": uid}, {"value": "99999"}, {"value": "abc"}]}]},
    )
    assert bad.status_code == 400 and bad.json["scimType"] == "invalidValue"
    assert "99999" in bad.json["detail"] and "abc" in bad.json["detail"]
    assert members(api, gid) == [] and wp_roles(wp, uid) == ["subscriber"]
    assert api.post("/Groups", json={"displayName": "Other", "members": [{"value": "424242"}]}).status_code == 400
    assert api.get("/Groups", params={"filter": 'displayName eq "Other"'}).json["totalResults"] == 0


def test_administrator_is_never_granted_but_may_be_removed(api, wp):
    (uid,) = make_users(api, 1)
    grant = api.patch("/Groups/administrator", json={"Operations": [{"op": "add", "path": "members", "value": [{"value": uid}]}]})
    assert grant.status_code == 400 and "never grants" in grant.json["detail"]
    assert not wp.oracle.user_can(int(uid), "manage_options")
    via_user = api.patch(f"/Users/{uid}", json={"Operations": [{"op": "add", "path": "roles", "value": [{"value": "administrator"}]}]})
    assert via_user.status_code == 400 and not wp.oracle.user_can(int(uid), "manage_options")
    second_admin = wp.oracle.insert_user(
        {"user_login": "admin2", "user_email": "a2@example.com", "user_pass": "pw", "role": "administrator"}
    )["id"]
    removed = api.patch("/Groups/administrator", json={"Operations": [{"op": "remove", "path": f'members[value eq "{second_admin}"]'}]})
    assert removed.status_code == 200
    assert wp_roles(wp, second_admin) == [] and not wp.oracle.user_can(second_admin, "manage_options")
    assert wp.oracle.get_user(second_admin)["exists"]  # a user left with no role still exists


def test_user_roles_attribute_maps_onto_capabilities(api, wp):
    created = api.post("/Users", json={"userName": "writer", "roles": [{"value": "author"}, {"value": "Contributor"}]})
    assert created.status_code == 201, created.text
    uid = created.json["id"]
    assert sorted(wp_roles(wp, uid)) == ["author", "contributor"] and wp.oracle.get_user(int(uid))["user_level"] == 2
    assert [g["value"] for g in created.json["groups"]] == ["author", "contributor"]
    # Per-user capabilities survive role changes.
    wp.sql(
        'UPDATE wp_usermeta SET meta_value = \'a:3:{s:6:"author";b:1;s:11:"contributor";b:1;s:12:"upload_files";b:1;}\' '
        "WHERE user_id = %s AND meta_key = 'wp_capabilities'",
        (uid,),
    )
    replaced = api.patch(f"/Users/{uid}", json={"Operations": [{"op": "replace", "path": "roles", "value": [{"value": "editor"}]}]})
    assert replaced.status_code == 200, replaced.text
    assert wp_roles(wp, uid) == ["editor"] and wp.oracle.get_user(int(uid))["user_level"] == 7
    assert wp.oracle.user_can(int(uid), "upload_files")
    assert api.post("/Users", json={"userName": "x", "roles": [{"value": "pope"}]}).status_code == 400
    # Okta PUTs back what it read: groups (read-only) and roles echo without changing anything.
    user = api.get(f"/Users/{uid}").json
    assert api.put(f"/Users/{uid}", json=user).status_code == 200
    assert wp_roles(wp, uid) == ["editor"]


def test_group_patch_errors(api):
    gid = api.post("/Groups", json={"displayName": "Errs"}).json["id"]
    cases = [
        ({"Operations": [{"op": "remove"}]}, "noTarget"),
        ({"Operations": [{"op": "jump", "path": "members"}]}, "invalidSyntax"),
        ({"Operations": [{"op": "add", "path": "owner", "value": "x"}]}, "invalidPath"),
        ({"Operations": [{"op": "add", "path": 'members[value eq "1"]', "value": "x"}]}, "invalidPath"),
        ({"Operations": [{"op": "replace", "path": "displayName", "value": ""}]}, "invalidValue"),
        ({"Operations": [{"op": "add", "path": "members", "value": [{"display": "no value"}]}]}, "invalidValue"),
        ({}, "invalidSyntax"),
    ]
    for body, scim_type in cases:
        result = api.patch(f"/Groups/{gid}", json=body)
        assert result.status_code == 400 and result.json["scimType"] == scim_type, (body, result.text)
    assert api.post("/Groups", json={"members": []}).status_code == 400
    assert api.patch("/Groups/nope", json={"Operations": []}).status_code == 404
    assert api.post("/Groups", json={"displayName": "errs"}).json["id"] == gid  # same name (any case) links


def test_members_are_streamed_not_buffered(wp):
    """A role's members (there may be 100,000) are sent as they are read: the first chunk of the answer
    leaves while the server still holds the unbuffered cursor the rest comes from."""
    import falcon.testing
    from test_serving import _add_users

    ids = _add_users(wp, 3000)  # ~200 KB of members: several 64 KiB chunks
    storage = wp.storage()
    app = create_app(storage)
    token = TokenStore(wp.db, wp.site).create("stream")
    environ = falcon.testing.create_environ("/scim/v2/Groups/subscriber", headers={"Authorization": f"Bearer {token}"})
    started = []
    body = app(environ, lambda status, headers: started.append((status, dict(headers))))
    chunks = iter(body)
    first = next(chunks)
    assert started[0][0].startswith("200") and "Content-Length" not in started[0][1]
    assert storage.db.reads.in_use == 1  # the members are still being read while the first chunk is out
    rest = list(chunks)
    body.close() if hasattr(body, "close") else None
    assert rest and storage.db.reads.in_use == 0
    members = json.loads(b"".join([first, *rest]))["members"]
    assert [m["value"] for m in members][-len(ids) :] == [str(i) for i in ids]
    assert wp.client().get("/Groups/subscriber", params={"attributes": "displayName"}).json.get("members") is None


def test_lean_group_patch_answers_without_members(wp):
    lean = wp.client(role_policy=RolePolicy(lean_patch_response=True))
    body = {"Operations": [{"op": "add", "path": "members", "value": [{"value": "1"}]}]}
    plain = lean.patch("/Groups/editor", json=body)
    assert plain.status_code == 200 and "members" not in plain.json and plain.json["id"] == "editor"
    asked = lean.patch("/Groups/editor", params={"attributes": "members"}, json=body)
    assert [m["value"] for m in asked.json["members"]] == ["1"]


def test_members_read_through_the_lookup_index_are_the_same(api, wp):
    """With `wpscim index create` a role's members come from index lookups (single-role values and the
    few users holding several roles); they must be exactly the users WordPress counts as members."""
    from wpscim.wordpress.site import detect, lookup_index

    custom = api.post("/Groups", json={"schemas": [GROUP], "displayName": "shop_manager"}).json["id"]
    twelve = {f"cap_{i}": True for i in range(11)} | {"editor": True}
    capabilities = [
        {"editor": True},
        {"author": True, "editor": True},
        {"author": True},
        {},
        twelve,
        {custom: True},
        {"subscriber": True, custom: True},
    ]
    ids = make_users(api, len(capabilities), "indexed")
    for user_id, caps in zip(ids, capabilities):
        wp.sql("UPDATE wp_usermeta SET meta_value = %s WHERE user_id = %s AND meta_key = 'wp_capabilities'", (serialize(caps), user_id))
    expected = {role: sorted((i for i in ["1", *ids] if role in wp_roles(wp, i)), key=int) for role in ("editor", custom, "author")}
    assert expected["editor"] == [ids[0], ids[1], ids[4]] and expected[custom] == [ids[5], ids[6]]
    assert not wp.site.meta_value_index
    without = {role: members(api, role) for role in expected}
    lookup_index(wp.db, wp.site, "create")
    site = detect(wp.db, "wp_")
    assert site.meta_value_index
    indexed = Api(create_app(wp.storage(site=site)), api.token)
    assert {role: members(indexed, role) for role in expected} == without == expected


def test_role_names_are_plain_text_when_wordpress_prints_them(api, wp):
    """wp_dropdown_roles() prints role names unescaped: a group named with markup used to put script
    into the administrator's browser on Users → Add New, user-edit and Settings → General."""
    created = api.post("/Groups", json={"displayName": "Staff</option><script>alert(1)</script>"})
    assert created.status_code == 201, created.text
    gid = created.json["id"]
    assert created.json["displayName"] == "Staff"
    renamed = api.patch(
        f"/Groups/{gid}",
        json={"Operations": [{"op": "replace", "path": "displayName", "value": 'R&D <img src=x onerror=alert(2)> "Team"'}]},
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json["displayName"] == 'R&D "Team"'
    html = wp.oracle.dropdown_roles()
    assert "<script" not in html and "<img" not in html and "onerror" not in html
    assert "R&amp;D &quot;Team&quot;</option>" in html or 'R&amp;D "Team"</option>' in html, html
    assert api.get("/Groups", params={"filter": 'displayName eq "R&D \\"Team\\""'}).json["totalResults"] == 1
    assert api.post("/Groups", json={"displayName": "<script>x</script>"}).status_code == 400
    # A name matches the role it names, however it is spelt: Okta links a pushed "r&d \"team\"" to this role.
    linked = api.post("/Groups", json={"displayName": 'r&d "team"'})
    assert linked.status_code == 201 and linked.json["id"] == gid
