"""The /Users endpoints over a real WordPress database: CRUD, paging, filters, errors, media types."""

from __future__ import annotations

import json

import pytest

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def new_user(user_name="jane.doe@example.com", **extra) -> dict:
    body = {
        "schemas": [CORE],
        "userName": user_name,
        "name": {"givenName": "Jane", "familyName": "Doe"},
        "emails": [{"value": user_name if "@" in user_name else f"{user_name}@example.com", "type": "work", "primary": True}],
        "active": True,
    }
    body.update(extra)
    return body


def create(api, **kw) -> dict:
    result = api.post("/Users", json=new_user(**kw))
    assert result.status_code == 201, result.text
    return result.json


def assert_error(result, status: int, scim_type: str | None = None):
    assert result.status_code == status, result.text
    assert result.headers["content-type"].startswith("application/scim+json")
    body = result.json
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body["detail"]
    if scim_type:
        assert body.get("scimType") == scim_type, body


def test_create_returns_full_user_with_location(api):
    result = api.post("/Users", json=new_user(externalId="ext-1", displayName="Jane D.", title="Engineer"))
    assert result.status_code == 201
    body = result.json
    assert result.headers["location"] == body["meta"]["location"]
    assert body["meta"]["location"].endswith(f"/scim/v2/Users/{body['id']}")
    assert body["id"].isdigit()
    assert body["userName"] == "jane.doe@example.com"
    assert body["externalId"] == "ext-1"
    assert body["displayName"] == "Jane D."
    assert body["title"] == "Engineer"
    assert body["active"] is True
    assert "password" not in body
    assert body["meta"]["resourceType"] == "User" and body["meta"]["created"].endswith("Z")
    assert api.get(f"/Users/{body['id']}").json == body


def test_every_existing_wordpress_user_is_listed(api, wp):
    # The installer's admin was not created by wpscim: Okta's import must still see it.
    listing = api.get("/Users").json
    assert listing["totalResults"] == 1
    admin = listing["Resources"][0]
    assert admin["id"] == "1" and admin["userName"] == "admin"
    assert admin["emails"] == [{"value": "admin@example.com", "type": "work", "primary": True}]


def test_paging_is_stable_and_counts_are_integers(api):
    ids = [create(api, user_name=f"user{i:02d}")["id"] for i in range(7)]
    seen = []
    start = 1
    while True:
        page = api.get(f"/Users?startIndex={start}&count=3").json
        assert isinstance(page["totalResults"], int) and page["totalResults"] == 8
        assert page["itemsPerPage"] == len(page["Resources"]) and page["startIndex"] == start
        if not page["Resources"]:
            break
        seen += [u["id"] for u in page["Resources"]]
        start += 3
    assert seen == ["1", *ids]
    assert api.get("/Users?count=0").json["Resources"] == []
    assert api.get("/Users?startIndex=0&count=1").json["startIndex"] == 1
    assert_error(api.get("/Users?count=abc"), 400, "invalidValue")
    huge = api.get("/Users?startIndex=18446744073709551617")  # found by schemathesis: was a 500
    assert huge.status_code == 200 and huge.json["Resources"] == [] and huge.json["totalResults"] == 8


@pytest.mark.parametrize(
    "query",
    [
        'userName eq "Jane.Doe@Example.com"',
        'USERNAME EQ "jane.doe@example.com"',
        'externalId eq "ext-9"',
        "externalId eq ext-9",
        'emails.value eq "jane.doe@example.com"',
        'emails[type eq "work"].value eq "jane.doe@example.com"',
        'emails eq "jane.doe@example.com"',
        'displayName eq "Jane Doe"',
        'name.givenName eq "jane"',
        'name.familyName eq "Doe" and active eq true',
        'userName eq "nobody" or externalId eq "ext-9"',
        'urn:ietf:params:scim:schemas:core:2.0:User:userName eq "jane.doe@example.com"',
    ],
)
def test_filters_find_the_user(api, query):
    user = create(api, externalId="ext-9", displayName="Jane Doe")
    create(api, user_name="other@example.com", externalId="ext-10", name={"givenName": "Otto", "familyName": "Other"})
    result = api.get("/Users", params={"filter": query})
    assert result.status_code == 200, result.text
    assert [u["id"] for u in result.json["Resources"]] == [user["id"]], query
    assert result.json["totalResults"] == 1


def test_username_lookup_finds_users_whose_login_had_to_differ(api, wp):
    """A userName WordPress cannot use as its login is kept exactly in usermeta; `userName eq` finds it
    there too (read after the users whose login matches, UserStore._read_by_login)."""
    first = create(api, user_name="jane!")  # login "jane": the login of this user, not of a user named "jane"
    second = create(api, user_name="jane?")  # login "jane" is taken: "jane-2"
    logins = dict(wp.sql("SELECT ID, user_login FROM wp_users WHERE ID IN (%s, %s)", (first["id"], second["id"])))
    assert logins == {int(first["id"]): "jane", int(second["id"]): "jane-2"}
    for user in (first, second):
        found = api.get("/Users", params={"filter": f'userName eq "{user["userName"]}"'}).json
        assert found["totalResults"] == 1 and found["Resources"] == [api.get(f"/Users/{user['id']}").json]
    assert api.get("/Users", params={"filter": 'userName eq "jane"'}).json["totalResults"] == 0
    both = api.get("/Users", params={"filter": 'userName eq "jane!" or userName eq "jane?"'}).json
    assert [u["id"] for u in both["Resources"]] == [first["id"], second["id"]]


@pytest.mark.parametrize(
    "query",
    [
        'externalId eq "EXT-9"',  # externalId is caseExact
        'userName eq "7c3a7fd2-2a8e-4b0f-9a6a-2a3e0c1d9e11"',
        'id eq "7c3a7fd2"',
        'emails[type eq "home"].value eq "jane.doe@example.com"',
        "active eq false",
    ],
)
def test_filters_that_match_nothing_answer_an_empty_list(api, query):
    create(api, externalId="ext-9")
    result = api.get("/Users", params={"filter": query})
    assert result.status_code == 200
    assert result.json["totalResults"] == 0 and result.json["Resources"] == []


def test_filter_by_id_and_active_false(api):
    user = create(api)
    assert api.get("/Users", params={"filter": f'id eq "{user["id"]}"'}).json["totalResults"] == 1
    api.patch(f"/Users/{user['id']}", json={"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]})
    found = api.get("/Users", params={"filter": "active eq false"}).json["Resources"]
    assert [u["id"] for u in found] == [user["id"]]


@pytest.mark.parametrize("query", ["SOMEUSER", "userName eq", 'userName xx "a"', '(userName eq "a"', 'userName eq "a" and', '"a"'])
def test_unparseable_filters_are_400_invalid_filter(api, query):
    assert_error(api.get("/Users", params={"filter": query}), 400, "invalidFilter")


def test_duplicate_user_name_and_email_are_409(api):
    create(api)
    assert_error(api.post("/Users", json=new_user("JANE.DOE@example.com")), 409, "uniqueness")
    other = new_user("someone-else")
    other["emails"] = [{"value": "Jane.Doe@example.com", "primary": True}]
    assert_error(api.post("/Users", json=other), 409, "uniqueness")
    # The same userName with another e-mail: its login is taken by the user whose userName it is (409),
    # not by a user renamed since (which would get the next free login).
    same_name = new_user("jane.doe@example.com")
    same_name["emails"] = [{"value": "jane.other@example.com", "primary": True}]
    assert_error(api.post("/Users", json=same_name), 409, "uniqueness")


@pytest.mark.parametrize("content_type", ["application/scim+json; charset=utf-8", "application/json", None, "text/plain"])
def test_create_accepts_any_json_content_type(api, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    result = api.post("/Users", body=json.dumps(new_user()).encode(), headers=headers)
    assert result.status_code == 201, result.text
    assert result.headers["content-type"] == "application/scim+json"


@pytest.mark.parametrize(
    "body, scim_type",
    [
        (b"{not json", "invalidSyntax"),
        (b"", "invalidSyntax"),
        (b"[1, 2]", "invalidSyntax"),
        (b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}', "invalidValue"),
        (b'{"userName": ""}', "invalidValue"),
        (b'{"userName": 42.5, "active": "maybe"}', "invalidValue"),
        (b'{"userName": "x", "emails": "not-an-email"}', "invalidValue"),
        (b'{"userName": "x", "name": "flat"}', "invalidValue"),
        (b'{"userName": "x", "profileUrl": "https://example.com/' + b"a" * 120 + b'"}', "invalidValue"),
        (b'{"userName": "x", "_private": 1}', "invalidValue"),
        (b"\xff\xfe", "invalidSyntax"),
        (b'{"userName": "x", "urn:example:2.0:Thing": {"note": "a\\ud800b"}}', "invalidValue"),
        (b'{"userName": "x\\udfff"}', "invalidValue"),
    ],
)
def test_bad_create_bodies_are_400_and_write_nothing(api, wp, body, scim_type):
    before = wp.sql("SELECT COUNT(*) FROM wp_users")[0][0], wp.sql("SELECT COUNT(*) FROM wp_usermeta")[0][0]
    assert_error(api.post("/Users", body=body, headers={"Content-Type": "application/scim+json"}), 400, scim_type)
    after = wp.sql("SELECT COUNT(*) FROM wp_users")[0][0], wp.sql("SELECT COUNT(*) FROM wp_usermeta")[0][0]
    assert before == after


def test_long_names_give_a_display_name_within_wordpress_limits(api, wp):
    created = api.post("/Users", json={"userName": "longname", "name": {"givenName": "g" * 70000, "familyName": "f"}})
    assert created.status_code == 201, created.text
    assert len(wp.sql("SELECT display_name FROM wp_users WHERE ID = %s", (created.json["id"],))[0][0]) == 250


def test_usermeta_is_read_as_wordpress_reads_it(api, wp):
    """First row per key wins (get_user_meta(…, true)), whatever the values hold; a NULL value reads as empty.
    A few users are read as plain rows, a page as packed rows (UserStore._load_raw): both must agree."""
    for n in range(12):  # the page below holds more users than the plain read takes
        api.post("/Users", json={"userName": f"filler{n}"})
    uid = api.post("/Users", json={"userName": "metareader", "name": {"givenName": "Ann", "familyName": "Lee"}, "title": "t"}).json["id"]
    tricky = "12,3:Ann: 1,2 😀 ñ\\ '\"%_"
    wp.sql("UPDATE wp_usermeta SET meta_value = %s WHERE user_id = %s AND meta_key = 'first_name'", (tricky, uid))
    wp.sql(
        "INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES (%s, 'first_name', 'Second row'), (%s, 'wpscim_title', '\"ignored\"')",
        (uid, uid),
    )
    wp.sql("UPDATE wp_usermeta SET meta_value = NULL WHERE user_id = %s AND meta_key = 'last_name'", (uid,))
    page = api.get("/Users?count=100").json["Resources"]
    assert len(page) > 10
    read = [
        api.get(f"/Users/{uid}").json,
        api.get('/Users?filter=userName eq "metareader"').json["Resources"][0],
        next(u for u in page if u["id"] == uid),
    ]
    for user in read:
        assert user["name"]["givenName"] == tricky
        assert "familyName" not in user["name"] and user["title"] == "t"
    assert read[0] == read[1] == read[2]  # same representation, same meta.version, whichever way it was read
    assert [u for u in page if u["id"] != uid] == [api.get(f"/Users/{u['id']}").json for u in page if u["id"] != uid]


def test_attributes_kept_verbatim_round_trip_any_json(api):
    """Integers beyond 64 bits and escaped characters in an attribute wpscim keeps as sent."""
    thing = {"count": 10**30, "ratio": 0.1, "text": '\u00e9\U0001f600 \\ "q"', "nested": [None, True, {"k": []}]}
    created = api.post("/Users", json={"userName": "verbatim", "urn:example:2.0:Thing": thing})
    assert created.status_code == 201, created.text
    for user in (created.json, api.get(f"/Users/{created.json['id']}").json):
        assert user["urn:example:2.0:Thing"] == thing
    assert api.get(f"/Users/{created.json['id']}", headers={"If-None-Match": created.json["meta"]["version"]}).status_code == 304


def test_unknown_ids_and_paths(api):
    assert_error(api.get("/Users/99999"), 404)
    assert_error(api.get("/Users/abc"), 404)
    assert_error(api.put("/Users/99999", json=new_user()), 404)
    assert_error(api.patch("/Users/99999", json={"Operations": []}), 404)
    assert_error(api.delete("/Users/99999"), 404)
    assert_error(api.get("/Nothing"), 404)
    assert_error(api.request("DELETE", "/Users"), 405)


def test_paths_are_case_insensitive_and_tolerate_trailing_slash(api):
    user = create(api)
    assert api.get("/users").status_code == 200
    assert api.get("/SCIM/V2/USERS/").status_code == 200
    assert api.get(f"/users/{user['id']}/").json["id"] == user["id"]
    empty_filter = api.get("/Users/", params={"filter": ""})  # a blank parameter is no parameter: the plain listing
    assert empty_filter.status_code == 200 and empty_filter.json["totalResults"] == api.get("/Users").json["totalResults"]


def test_authentication(wp, api):
    plain = api.client.simulate_get("/scim/v2/Users", headers={"Authorization": ""})
    assert_error(plain, 401)
    assert plain.headers["www-authenticate"].startswith("Bearer")
    assert_error(api.client.simulate_get("/scim/v2/Users", headers={"Authorization": "Bearer wrong"}), 401)
    assert_error(api.client.simulate_get("/scim/v2/Users", headers={"Authorization": "Basic YTpi"}), 401)
    assert api.client.simulate_get("/scim/v2/Users").status_code == 200
    # Tokens are stored only as hashes.
    stored = wp.sql("SELECT option_value FROM wp_options WHERE option_name = 'wpscim_tokens'")[0][0]
    assert api.token not in stored


def test_put_replaces_the_profile(api, wp):
    user = create(api, title="Engineer", externalId="e1", nickName="JD")
    sent = dict(user)
    sent["name"] = {"givenName": "Janet", "familyName": "Doe-Smith"}
    sent["displayName"] = "Janet Doe-Smith"
    del sent["title"]
    del sent["nickName"]
    result = api.put(f"/Users/{user['id']}", json=sent)
    assert result.status_code == 200, result.text
    body = result.json
    assert body["name"] == {"givenName": "Janet", "familyName": "Doe-Smith"}
    assert body["displayName"] == "Janet Doe-Smith"
    assert "title" not in body
    # Unassigned by PUT: WordPress falls back to its default (the login), SCIM reads it back unassigned.
    assert "nickName" not in body
    assert wp.oracle.get_user(int(user["id"]))["nickname"] == "jane.doe@example.com"
    assert body["id"] == user["id"] and body["meta"]["created"] == user["meta"]["created"]
    assert wp.sql("SELECT COUNT(*) FROM wp_usermeta WHERE user_id = %s AND meta_key = 'wpscim_title'", (user["id"],))[0][0] == 0


def test_patch_shapes(api):
    user = create(api)
    uid = user["id"]
    ops = [
        {"op": "Replace", "path": "name.givenName", "value": "Janine"},
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "janine@example.com"},
        {"op": "add", "path": f"{ENTERPRISE}:department", "value": "Sales"},
        {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "1"},
        {"op": "replace", "value": {"name.familyName": "Roe", f"{CORE}:displayName": "Janine Roe", "title": "Lead"}},
        {"op": "add", "path": "phoneNumbers", "value": [{"value": "+1 555 0100", "type": "work"}]},
    ]
    result = api.patch(f"/Users/{uid}", json={"schemas": [PATCH], "Operations": ops})
    assert result.status_code == 200, result.text
    body = result.json
    assert body["name"] == {"givenName": "Janine", "familyName": "Roe"}
    assert body["displayName"] == "Janine Roe" and body["title"] == "Lead"
    assert body["emails"][0]["value"] == "janine@example.com"
    assert body[ENTERPRISE] == {"department": "Sales", "manager": {"value": "1"}}
    assert ENTERPRISE in body["schemas"]
    assert body["phoneNumbers"] == [{"value": "+1 555 0100", "type": "work"}]
    # Entra removes the manager with an empty replace; list-shaped manager values are accepted too.
    api.patch(f"/Users/{uid}", json={"Operations": [{"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": [{"value": "7"}]}]})
    assert api.get(f"/Users/{uid}").json[ENTERPRISE]["manager"] == {"value": "7"}
    cleared = api.patch(f"/Users/{uid}", json={"Operations": [{"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": ""}]})
    assert cleared.json[ENTERPRISE] == {"department": "Sales"}
    removed = api.patch(f"/Users/{uid}", json={"Operations": [{"op": "remove", "path": "phoneNumbers"}]})
    assert "phoneNumbers" not in removed.json
    # Empty Operations: nothing changes, 200 with the resource.
    same = api.patch(f"/Users/{uid}", json={"schemas": [PATCH], "Operations": []})
    assert same.status_code == 200 and same.json["name"] == body["name"]


@pytest.mark.parametrize(
    "operations, scim_type",
    [
        ([{"op": "remove"}], "noTarget"),
        ([{"op": "jump", "path": "title", "value": "x"}], "invalidSyntax"),
        ([{"op": "replace", "path": "name[", "value": "x"}], "invalidPath"),
        ([{"op": "replace", "value": "not an object"}], "invalidValue"),
        ([{"op": "replace", "path": "active", "value": "perhaps"}], "invalidValue"),
        ([{"op": "replace", "path": "userName", "value": ""}], "invalidValue"),
        ("nope", "invalidSyntax"),
        (None, "invalidSyntax"),
    ],
)
def test_bad_patches_are_400_and_change_nothing(api, operations, scim_type):
    user = create(api, title="Engineer")
    body = {"schemas": [PATCH], "Operations": operations} if operations is not None else {"schemas": [PATCH]}
    # A valid first operation must not be applied when a later one fails.
    if isinstance(operations, list):
        body["Operations"] = [{"op": "replace", "path": "title", "value": "Changed"}, *operations]
    assert_error(api.patch(f"/Users/{user['id']}", json=body), 400, scim_type)
    assert api.get(f"/Users/{user['id']}").json["title"] == "Engineer"


def test_user_name_change_is_allowed(api, wp):
    user = create(api)
    session = wp.oracle.create_session(int(user["id"]))
    assert session and wp.oracle.session_count(int(user["id"])) == 1
    result = api.patch(
        f"/Users/{user['id']}", json={"Operations": [{"op": "replace", "path": "userName", "value": "jane.roe@example.com"}]}
    )
    assert result.status_code == 200 and result.json["userName"] == "jane.roe@example.com"
    row = wp.sql("SELECT user_login, user_nicename FROM wp_users WHERE ID = %s", (user["id"],))[0]
    assert row == ("jane.roe@example.com", "jane-roeexample-com")
    assert wp.oracle.session_count(int(user["id"])) == 0
    assert api.get("/Users", params={"filter": 'userName eq "jane.doe@example.com"'}).json["totalResults"] == 0
    # A custom nicename (set in WordPress) is not re-derived.
    wp.sql("UPDATE wp_users SET user_nicename = 'jane-custom' WHERE ID = %s", (user["id"],))
    api.patch(f"/Users/{user['id']}", json={"Operations": [{"op": "replace", "path": "userName", "value": "jr"}]})
    assert wp.sql("SELECT user_login, user_nicename FROM wp_users WHERE ID = %s", (user["id"],))[0] == ("jr", "jane-custom")
    other = create(api, user_name="other@example.com")
    assert_error(
        api.patch(f"/Users/{other['id']}", json={"Operations": [{"op": "replace", "path": "userName", "value": "JR"}]}), 409, "uniqueness"
    )


def test_a_change_to_a_value_another_user_holds_is_409_and_changes_nothing(api, wp):
    zoe = create(api, user_name="Zoë", emails=[{"value": "zoe@example.com", "primary": True}])  # login "Zoe" + exact userName
    other = create(api, user_name="other@example.com")

    def patch(path, value):
        return api.patch(f"/Users/{other['id']}", json={"Operations": [{"op": "replace", "path": path, "value": value}]})

    before = wp.sql("SELECT user_login, user_email FROM wp_users WHERE ID = %s", (other["id"],))
    assert_error(patch("userName", "Zoë"), 409, "uniqueness")  # another user's exact userName
    assert_error(patch("emails", [{"value": zoe["emails"][0]["value"].upper(), "primary": True}]), 409, "uniqueness")
    assert wp.sql("SELECT user_login, user_email FROM wp_users WHERE ID = %s", (other["id"],)) == before
    # The user's own values are not "another user's": a change of one keeps the other.
    assert patch("emails", [{"value": "other.new@example.com", "primary": True}]).status_code == 200
    assert patch("userName", "OTHER@example.com").status_code == 200


def test_delete_removes_the_user(api, wp):
    user = create(api)
    assert api.delete(f"/Users/{user['id']}").status_code == 204
    assert_error(api.get(f"/Users/{user['id']}"), 404)
    assert wp.sql("SELECT COUNT(*) FROM wp_usermeta WHERE user_id = %s", (user["id"],))[0][0] == 0


def test_users_wordpress_made_without_names_read_with_derived_names(api, wp):
    """Okta's import (and its spec test, which reads the first user of GET /Users) needs givenName,
    familyName and an e-mail; the installer's admin and most self-registered users have no names.
    Users stored without names read with names derived from the display name; nothing is written."""
    admin = api.get("/Users/1").json
    assert admin["name"] == {"givenName": "admin", "familyName": "admin"} and admin["emails"][0]["value"] == "admin@example.com"
    assert wp.sql("SELECT meta_value FROM wp_usermeta WHERE user_id = 1 AND meta_key IN ('first_name', 'last_name')") == [("",), ("",)]
    shown = wp.oracle.insert_user({"user_login": "mjones", "user_email": "mj@example.com", "display_name": "Mary Ann Jones"})["id"]
    assert api.get(f"/Users/{shown}").json["name"] == {"givenName": "Mary", "familyName": "Ann Jones"}
    mailed = wp.oracle.insert_user({"user_login": "kim@example.com", "user_email": "kim@example.com"})["id"]
    assert api.get(f"/Users/{mailed}").json["name"] == {"givenName": "kim", "familyName": "kim"}
    first = api.get("/Users", params={"startIndex": 1, "count": 1}).json["Resources"][0]
    assert first["name"]["givenName"] and first["name"]["familyName"] and first["emails"]
    # Shown, not stored: filters do not see them, and a PATCH of something else does not write them.
    assert api.get("/Users", params={"filter": 'name.givenName eq "admin"'}).json["totalResults"] == 0
    etag = api.get("/Users/1").headers["etag"]
    patched = api.patch(
        "/Users/1", json={"schemas": [PATCH], "Operations": [{"op": "add", "path": "title", "value": "Owner"}]}, headers={"If-Match": etag}
    )
    assert patched.status_code == 200 and patched.json["name"]["givenName"] == "admin"
    assert wp.sql("SELECT meta_value FROM wp_usermeta WHERE user_id = 1 AND meta_key IN ('first_name', 'last_name')") == [("",), ("",)]
    assert api.get("/Users/1").json["name"] == {"givenName": "admin", "familyName": "admin"}  # still shown


def test_a_patch_that_leaves_display_name_alone_keeps_it(api, wp):
    """wp_update_user() keeps display_name unless one is given; a PATCH of name.givenName used to reset
    it to the login, changing the author name on the user's posts behind the editor's back."""
    user = create(api, user_name="keeper@example.com")  # WordPress's default display name: "Jane Doe"
    uid = user["id"]
    assert wp.sql("SELECT display_name FROM wp_users WHERE ID = %s", (uid,))[0][0] == "Jane Doe"
    patched = api.patch(
        f"/Users/{uid}", json={"schemas": [PATCH], "Operations": [{"op": "replace", "path": "name.givenName", "value": "Janet"}]}
    )
    assert patched.status_code == 200, patched.text
    assert wp.sql("SELECT display_name FROM wp_users WHERE ID = %s", (uid,))[0][0] == "Jane Doe"
    assert wp.oracle.get_user(int(uid))["display_name"] == "Jane Doe"
    named = api.patch(
        f"/Users/{uid}", json={"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "J. Doe"}]}
    )
    assert named.json["displayName"] == "J. Doe" and wp.oracle.get_user(int(uid))["display_name"] == "J. Doe"


def test_an_e_mail_changed_only_in_letter_case_is_stored_as_sent(api, wp):
    user = create(api, user_name="recased@example.com")
    changed = api.patch(
        f"/Users/{user['id']}",
        json={
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "path": "emails[primary eq true].value", "value": "ReCased@Example.COM"}],
        },
    )
    assert changed.status_code == 200, changed.text
    assert [e["value"] for e in changed.json["emails"]] == ["ReCased@Example.COM"]
    assert wp.oracle.get_user(int(user["id"]))["user_email"] == "ReCased@Example.COM"
    assert api.get(f"/Users/{user['id']}").json["emails"][0]["value"] == "ReCased@Example.COM"
