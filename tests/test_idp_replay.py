"""Replays what Okta and Microsoft Entra ID really send (see /work/shared/reference/idp-clients.md)
through the HTTP API, and after each step asks a real WordPress 6.1 (the oracle) whether it agrees.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"

OKTA_HEADERS = {"User-Agent": "Okta SCIM Client 1.0.0"}
OKTA_PASSWORD = "1mz050nq"


def okta_body(user_name="test.user@okta.local", external_id="00ujl29u0le5T6Aj10h7", given="Test", family="User") -> dict:
    """Okta's create body, verbatim apart from the values."""
    return {
        "schemas": [CORE],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": f"{given} {family}",
        "locale": "en-US",
        "externalId": external_id,
        "groups": [],
        "password": OKTA_PASSWORD,
        "active": True,
    }


def scim(result, status: int) -> dict | None:
    """Assert the status and the SCIM media type; return the JSON body (None for 204)."""
    assert result.status_code == status, f"{result.status_code} {result.text}"
    if status == 204:
        assert result.text == ""
        return None
    assert result.headers.get("content-type", "").startswith("application/scim+json"), result.headers
    return result.json


def error(result, status: int, scim_type: str | None = None) -> dict:
    body = scim(result, status)
    assert body["schemas"] == [ERROR], body
    assert body["status"] == str(status) and isinstance(body["status"], str), body
    assert isinstance(body.get("detail"), str) and body["detail"], body
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body


def listing(result) -> dict:
    body = scim(result, 200)
    assert body["schemas"] == [LIST], body
    assert isinstance(body["totalResults"], int)
    assert isinstance(body["startIndex"], int) and isinstance(body["itemsPerPage"], int)
    assert body["itemsPerPage"] == len(body["Resources"])
    return body


def ids(body: dict) -> list[str]:
    return [u["id"] for u in body["Resources"]]


def patch_ops(api, uid: str, ops: list, path_prefix: str = "/Users", **kw):
    return api.patch(f"{path_prefix}/{uid}", json={"schemas": [PATCH], "Operations": ops}, **kw)


def logs_in(wp, login: str, password: str, uid: str | None = None) -> bool:
    answer = wp.oracle.authenticate(login, password)
    if answer["ok"] and uid is not None:
        assert answer["user_id"] == int(uid)
    return bool(answer["ok"])


# ---------------------------------------------------------------------------------------------
# Okta
# ---------------------------------------------------------------------------------------------


def test_okta_full_user_cycle(api, wp):
    # 1. Test API Credentials.
    page = listing(api.get("/Users?startIndex=1&count=2", headers=OKTA_HEADERS))
    assert page["totalResults"] == 1 and page["startIndex"] == 1 and ids(page) == ["1"]
    assert page["Resources"][0]["userName"] == "admin"

    # 2. Existence check before the create: an empty ListResponse, not a 404.
    check = "filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100"
    empty = listing(api.get(f"/Users?{check}", headers=OKTA_HEADERS))
    assert empty["totalResults"] == 0 and empty["Resources"] == []

    # 3. Create, verbatim, with Okta's charset content type.
    response = api.post(
        "/Users", body=json.dumps(okta_body()).encode(), headers={**OKTA_HEADERS, "Content-Type": "application/scim+json; charset=utf-8"}
    )
    created = scim(response, 201)
    assert response.headers["location"] == created["meta"]["location"]
    uid = created["id"]
    assert uid.isdigit()
    assert created["userName"] == "test.user@okta.local"
    assert created["name"] == {"givenName": "Test", "familyName": "User"}
    assert created["emails"] == [{"primary": True, "value": "test.user@okta.local", "type": "work"}]
    assert created["displayName"] == "Test User"
    assert created["locale"] == "en-US"
    assert created["externalId"] == "00ujl29u0le5T6Aj10h7"
    assert created["active"] is True
    assert "password" not in created
    assert created["meta"]["resourceType"] == "User"
    assert created["meta"]["location"].endswith(f"/scim/v2/Users/{uid}")

    # ... and a second user with no Content-Type header at all.
    second_body = okta_body("second.user@okta.local", "00ujl29u0le5T6Aj10h8", "Second", "Person")
    second = scim(api.post("/Users", body=json.dumps(second_body).encode(), headers=OKTA_HEADERS), 201)
    assert second["userName"] == "second.user@okta.local" and second["id"] != uid
    assert second["name"] == {"givenName": "Second", "familyName": "Person"}

    # 4. Duplicate → 409 uniqueness; nothing written.
    users_before = wp.sql("SELECT COUNT(*) FROM wp_users")[0][0]
    error(api.post("/Users", json=okta_body(), headers=OKTA_HEADERS), 409, "uniqueness")
    assert wp.sql("SELECT COUNT(*) FROM wp_users")[0][0] == users_before == 3

    # 5. WordPress agrees about the new user.
    assert logs_in(wp, "test.user@okta.local", OKTA_PASSWORD, uid)
    assert logs_in(wp, "second.user@okta.local", OKTA_PASSWORD, second["id"])
    assert not logs_in(wp, "test.user@okta.local", "wrong-password")
    wpu = wp.oracle.get_user(int(uid))
    assert wpu["exists"] is True
    assert wpu["user_login"] == "test.user@okta.local"
    assert wpu["user_email"] == "test.user@okta.local"
    assert wpu["first_name"] == "Test" and wpu["last_name"] == "User"
    assert wpu["display_name"] == "Test User"
    assert wpu["locale"] == "en_US" and wpu["user_locale"] == "en_US"
    assert wpu["roles"] == ["subscriber"] and wpu["user_level_meta"] == "0"
    assert wp.oracle.user_can(int(uid), "read") and not wp.oracle.user_can(int(uid), "edit_posts")

    # Okta's spec test: the listing now counts the new users.
    page = listing(api.get("/Users?startIndex=1&count=2", headers=OKTA_HEADERS))
    assert page["totalResults"] == 3 and ids(page) == ["1", uid]
    found = listing(api.get(f"/Users?{check}", headers=OKTA_HEADERS))
    assert ids(found) == [uid] and found["totalResults"] == 1

    # 6. Profile update: GET, then PUT the whole resource back (id, meta, groups included).
    current = scim(api.get(f"/Users/{uid}", headers=OKTA_HEADERS), 200)
    sent = dict(current)
    sent["groups"] = []
    sent["name"] = {"givenName": "Tess", "familyName": "Usher"}
    sent["displayName"] = "Tess Usher"
    updated = scim(api.put(f"/Users/{uid}", json=sent, headers=OKTA_HEADERS), 200)
    assert updated["id"] == uid
    assert updated["name"] == {"givenName": "Tess", "familyName": "Usher"}
    assert updated["displayName"] == "Tess Usher"
    assert updated["externalId"] == "00ujl29u0le5T6Aj10h7" and updated["locale"] == "en-US"
    assert updated["meta"]["created"] == created["meta"]["created"]
    assert updated["active"] is True
    wpu = wp.oracle.get_user(int(uid))
    assert (wpu["first_name"], wpu["last_name"], wpu["display_name"]) == ("Tess", "Usher", "Tess Usher")
    assert wpu["user_login"] == "test.user@okta.local" and wpu["roles"] == ["subscriber"]
    # A PUT without a password keeps the password.
    assert logs_in(wp, "test.user@okta.local", OKTA_PASSWORD, uid)

    # 7. Deactivate: pathless replace with an object value. Existing sessions must end.
    wp.oracle.create_session(int(uid))
    assert wp.oracle.session_count(int(uid)) == 1
    result = scim(patch_ops(api, uid, [{"op": "replace", "value": {"active": False}}], headers=OKTA_HEADERS), 200)
    assert result["active"] is False and result["id"] == uid
    got = scim(api.get(f"/Users/{uid}", headers=OKTA_HEADERS), 200)
    assert got["active"] is False and got["name"] == {"givenName": "Tess", "familyName": "Usher"}
    assert not logs_in(wp, "test.user@okta.local", OKTA_PASSWORD)
    assert wp.oracle.session_count(int(uid)) == 0
    assert wp.oracle.get_user(int(uid))["exists"] is True
    # The other user is untouched.
    assert logs_in(wp, "second.user@okta.local", OKTA_PASSWORD, second["id"])

    # 8. Password sync while deactivated: pathless, then with path "password".
    result = scim(patch_ops(api, uid, [{"op": "replace", "value": {"password": "Interim-Pa55"}}], headers=OKTA_HEADERS), 200)
    assert result["active"] is False and "password" not in result
    assert not logs_in(wp, "test.user@okta.local", "Interim-Pa55")
    result = scim(patch_ops(api, uid, [{"op": "replace", "path": "password", "value": "N3w-Okta-Secret"}], headers=OKTA_HEADERS), 200)
    assert result["active"] is False and "password" not in result
    assert not logs_in(wp, "test.user@okta.local", "N3w-Okta-Secret")
    assert not logs_in(wp, "test.user@okta.local", OKTA_PASSWORD)

    # 9. Reactivate: same id, the NEW password works, the old ones do not, roles unchanged.
    result = scim(patch_ops(api, uid, [{"op": "replace", "value": {"active": True}}], headers=OKTA_HEADERS), 200)
    assert result["active"] is True and result["id"] == uid
    assert logs_in(wp, "test.user@okta.local", "N3w-Okta-Secret", uid)
    assert not logs_in(wp, "test.user@okta.local", OKTA_PASSWORD)
    assert not logs_in(wp, "test.user@okta.local", "Interim-Pa55")
    wpu = wp.oracle.get_user(int(uid))
    assert wpu["roles"] == ["subscriber"] and wpu["user_level_meta"] == "0"
    assert wpu["first_name"] == "Tess" and wpu["user_email"] == "test.user@okta.local"
    assert scim(api.get(f"/Users/{uid}"), 200)["active"] is True

    # 10. Wizard apps: PUT the whole resource with active:false, then active:true.
    wp.oracle.create_session(int(uid))
    sent = scim(api.get(f"/Users/{uid}"), 200)
    sent["active"] = False
    sent["groups"] = []
    result = scim(api.put(f"/Users/{uid}", json=sent, headers=OKTA_HEADERS), 200)
    assert result["active"] is False
    assert scim(api.get(f"/Users/{uid}"), 200)["active"] is False
    assert not logs_in(wp, "test.user@okta.local", "N3w-Okta-Secret")
    assert wp.oracle.session_count(int(uid)) == 0
    sent["active"] = True
    result = scim(api.put(f"/Users/{uid}", json=sent, headers=OKTA_HEADERS), 200)
    assert result["active"] is True and result["id"] == uid
    assert logs_in(wp, "test.user@okta.local", "N3w-Okta-Secret", uid)
    assert wp.oracle.get_user(int(uid))["roles"] == ["subscriber"]

    # 11. Okta's spec-test probes.
    upper = listing(api.get("/Users", params={"filter": 'userName eq "TEST.USER@OKTA.LOCAL"', "startIndex": "1", "count": "100"}))
    assert ids(upper) == [uid] and upper["Resources"][0]["userName"] == "test.user@okta.local"
    error(api.get("/Users", params={"filter": "SOMEUSER"}), 400, "invalidFilter")
    error(api.client.simulate_get("/scim/v2/Users", headers={**OKTA_HEADERS, "Authorization": "Bearer not-the-token"}), 401)
    error(api.get("/Users/010101010101", headers=OKTA_HEADERS), 404)
    error(api.get("/Users/00u1bogus-not-an-id"), 404)
    # Okta never DELETEs: after all of it the user is still there.
    assert wp.oracle.get_user(int(uid))["exists"] is True


def test_okta_create_without_content_type_is_what_wordpress_would_write(api, wp):
    body = scim(api.post("/Users", body=json.dumps(okta_body()).encode()), 201)
    assert body["userName"] == "test.user@okta.local" and body["active"] is True
    row = wp.sql("SELECT user_login, user_email, user_nicename, display_name FROM wp_users WHERE ID = %s", (body["id"],))
    assert row == [("test.user@okta.local", "test.user@okta.local", "test-userokta-local", "Test User")]
    assert logs_in(wp, "test.user@okta.local", OKTA_PASSWORD, body["id"])
    meta = dict(wp.oracle.user_meta_rows(int(body["id"]))["meta"])
    assert meta["first_name"] == "Test" and meta["last_name"] == "User"
    assert meta["locale"] == "en_US" and meta["nickname"] == "test.user@okta.local"
    assert meta["wp_capabilities"] == 'a:1:{s:10:"subscriber";b:1;}' and meta["wp_user_level"] == "0"


@pytest.mark.parametrize(
    "op",
    [
        {"op": "replace", "value": {"password": "Fresh-Pa55word"}},
        {"op": "replace", "path": "password", "value": "Fresh-Pa55word"},
    ],
    ids=["pathless", "path"],
)
def test_okta_password_sync_on_an_active_user(api, wp, op):
    uid = scim(api.post("/Users", json=okta_body()), 201)["id"]
    result = scim(patch_ops(api, uid, [op], headers=OKTA_HEADERS), 200)
    assert result["active"] is True and "password" not in result
    assert logs_in(wp, "test.user@okta.local", "Fresh-Pa55word", uid)
    assert not logs_in(wp, "test.user@okta.local", OKTA_PASSWORD)
    # The password hash is one WordPress 6.1 itself can verify (phpass, not $wp$).
    stored = wp.sql("SELECT user_pass FROM wp_users WHERE ID = %s", (uid,))[0][0]
    assert not stored.startswith("$wp")
    assert wp.oracle.check_password("Fresh-Pa55word", stored)


def test_deactivation_keeps_a_wordpress_role_that_scim_never_touched(api, wp):
    uid = scim(api.post("/Users", json=okta_body()), 201)["id"]
    # An administrator promoted the user to editor inside WordPress.
    wp.sql("UPDATE wp_usermeta SET meta_value = %s WHERE user_id = %s AND meta_key = 'wp_capabilities'", ('a:1:{s:6:"editor";b:1;}', uid))
    wp.sql("UPDATE wp_usermeta SET meta_value = '7' WHERE user_id = %s AND meta_key = 'wp_user_level'", (uid,))
    assert wp.oracle.user_can(int(uid), "edit_others_posts")
    scim(patch_ops(api, uid, [{"op": "replace", "value": {"active": False}}]), 200)
    assert not logs_in(wp, "test.user@okta.local", OKTA_PASSWORD)
    scim(patch_ops(api, uid, [{"op": "replace", "value": {"active": True}}]), 200)
    assert logs_in(wp, "test.user@okta.local", OKTA_PASSWORD, uid)
    wpu = wp.oracle.get_user(int(uid))
    assert wpu["roles"] == ["editor"] and wpu["user_level_meta"] == "7"
    assert wp.oracle.user_can(int(uid), "edit_others_posts")


def test_okta_import_pages_of_100(api, wp):
    started = time.monotonic()
    created = []
    for i in range(249):
        body = okta_body(f"import.{i:03d}@okta.local", f"00uimport{i:03d}", "Imp", f"Ort{i:03d}")
        del body["password"]  # keeps the loop fast; hashing is tested elsewhere
        created.append(scim(api.post("/Users", json=body), 201)["id"])
    assert len(set(created)) == 249
    total_expected = 250  # plus the installer's admin

    seen: list[str] = []
    start = 1
    pages = 0
    while True:
        page = listing(api.get(f"/Users?startIndex={start}&count=100", headers=OKTA_HEADERS))
        pages += 1
        assert page["totalResults"] == total_expected
        assert page["startIndex"] == start
        assert page["itemsPerPage"] == min(100, total_expected - start + 1)
        seen += ids(page)
        start += 100
        if start > page["totalResults"]:
            break
        assert pages < 10
    assert pages == 3
    assert len(seen) == len(set(seen)) == total_expected
    assert seen == ["1", *created]  # stable order: the order the users were created in (by id)
    # A second pass sees exactly the same order.
    again = []
    for start in (1, 101, 201):
        again += ids(listing(api.get(f"/Users?startIndex={start}&count=100")))
    assert again == seen
    # Past the end: an empty page, still 200 with the total.
    tail = listing(api.get("/Users?startIndex=251&count=100"))
    assert tail["Resources"] == [] and tail["totalResults"] == total_expected
    assert wp.sql("SELECT COUNT(*) FROM wp_users")[0][0] == total_expected
    assert time.monotonic() - started < 60


# ---------------------------------------------------------------------------------------------
# Microsoft Entra ID
# ---------------------------------------------------------------------------------------------

CUSTOM_URN = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"


def entra_body(external_id: str, user_name="Test_User_Entra@contoso.com") -> dict:
    return {
        "schemas": [CORE, ENTERPRISE, CUSTOM_URN],
        "externalId": external_id,
        "userName": user_name,
        "active": True,
        "DisplayName": "Ryan Leenay",
        "emails": [{"Primary": True, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Ryan Leenay", "familyName": "Leenay", "givenName": "Ryan"},
        "roles": [],
        "title": None,
        "nickName": None,
        "preferredLanguage": None,
        "password": "Entra-Gen3rated!",
        ENTERPRISE: {"employeeNumber": "701984", "department": "Tour Operations", "manager": {"value": "1"}},
    }


def test_entra_full_cycle(api, wp):
    # 1. Test Connection: random GUIDs, 200 + empty list (never 404).
    for attr in ("userName", "externalId"):
        probe = listing(api.get("/Users", params={"filter": f'{attr} eq "{uuid.uuid4()}"'}))
        assert probe["totalResults"] == 0 and probe["Resources"] == []

    # 2. Create with Entra's body shape.
    ext = str(uuid.uuid4())
    created = scim(api.post("/Users", json=entra_body(ext), headers={"Content-Type": "application/scim+json"}), 201)
    uid = created["id"]
    assert created["userName"] == "Test_User_Entra@contoso.com"
    assert created["externalId"] == ext
    assert created["displayName"] == "Ryan Leenay"
    assert created["name"]["givenName"] == "Ryan" and created["name"]["familyName"] == "Leenay"
    assert created["emails"][0]["value"] == "Test_User_Entra@contoso.com"
    assert created["emails"][0]["primary"] is True
    assert created["active"] is True
    assert "title" not in created and "preferredLanguage" not in created  # null = unassigned
    # `roles: []` leaves the site's default role; `roles` and `groups` report the WordPress roles held.
    assert created["roles"] == [{"value": "subscriber", "display": "Subscriber"}]
    assert [g["value"] for g in created["groups"]] == ["subscriber"]
    assert "password" not in created
    assert created[ENTERPRISE] == {"employeeNumber": "701984", "department": "Tour Operations", "manager": {"value": "1"}}
    assert ENTERPRISE in created["schemas"] and CORE in created["schemas"]
    assert created["meta"]["resourceType"] == "User" and created["meta"]["created"].endswith("Z")
    wpu = wp.oracle.get_user(int(uid))
    assert wpu["user_login"] == "Test_User_Entra@contoso.com"
    assert wpu["user_email"] == "Test_User_Entra@contoso.com"
    assert (wpu["first_name"], wpu["last_name"], wpu["display_name"]) == ("Ryan", "Leenay", "Ryan Leenay")
    assert wpu["nickname"] == "Test_User_Entra@contoso.com"  # null nickName: WordPress's default
    assert wpu["roles"] == ["subscriber"]  # "roles": [] must not strip the WordPress role
    assert logs_in(wp, "Test_User_Entra@contoso.com", "Entra-Gen3rated!", uid)

    # 3. Entra's filters.
    for query in (
        f'externalId eq "{ext}"',
        f"externalId eq {ext}",
        'emails[type eq "work"].value eq "Test_User_Entra@contoso.com"',
        'userName eq "test_user_entra@contoso.com"',
    ):
        found = listing(api.get("/Users", params={"filter": query}))
        assert ids(found) == [uid] and found["totalResults"] == 1, query
        assert found["Resources"][0]["externalId"] == ext
    found = listing(api.get("/users", params={"filter": f'externalId eq "{ext}"'}))
    assert ids(found) == [uid]
    found = listing(api.get("/Users/", params={"filter": 'userName eq "Test_User_Entra@contoso.com"'}))
    assert ids(found) == [uid]
    found = listing(api.get("/Users/?filter=" + f'externalId eq "{ext}"'.replace(" ", "%20").replace('"', "%22")))
    assert ids(found) == [uid]

    # 4. Capitalised ops on paths.
    result = scim(
        patch_ops(
            api,
            uid,
            [
                {"op": "Replace", "path": "name.givenName", "value": "Bryan"},
                {"op": "Add", "path": f"{ENTERPRISE}:employeeNumber", "value": "701985"},
                {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "bryan.leenay@contoso.com"},
            ],
        ),
        200,
    )
    assert result["name"]["givenName"] == "Bryan"
    assert result[ENTERPRISE]["employeeNumber"] == "701985"
    assert result["emails"][0]["value"] == "bryan.leenay@contoso.com"
    wpu = wp.oracle.get_user(int(uid))
    assert wpu["first_name"] == "Bryan" and wpu["user_email"] == "bryan.leenay@contoso.com"

    # 5. String booleans: "False" deactivates, "True" restores.
    wp.oracle.create_session(int(uid))
    result = scim(patch_ops(api, uid, [{"op": "Replace", "path": "active", "value": "False"}]), 200)
    assert result["active"] is False
    assert scim(api.get(f"/Users/{uid}"), 200)["active"] is False
    assert not logs_in(wp, "Test_User_Entra@contoso.com", "Entra-Gen3rated!")
    assert wp.oracle.session_count(int(uid)) == 0
    result = scim(patch_ops(api, uid, [{"op": "Replace", "path": "active", "value": "True"}]), 200)
    assert result["active"] is True
    assert logs_in(wp, "Test_User_Entra@contoso.com", "Entra-Gen3rated!", uid)

    # 6. aadOptscim062020: one pathless Replace with dotted and URN-qualified keys.
    result = scim(
        patch_ops(
            api,
            uid,
            [
                {
                    "op": "Replace",
                    "value": {
                        "name.givenName": "Ryanne",
                        "name.familyName": "Leenay-Smith",
                        f"{ENTERPRISE}:department": "Finance",
                        f"{CORE}:displayName": "Ryanne Leenay-Smith",
                    },
                }
            ],
        ),
        200,
    )
    assert result["name"]["givenName"] == "Ryanne" and result["name"]["familyName"] == "Leenay-Smith"
    assert result["displayName"] == "Ryanne Leenay-Smith"
    assert result[ENTERPRISE]["department"] == "Finance"
    assert result[ENTERPRISE]["employeeNumber"] == "701985"
    assert "name.givenName" not in result and f"{ENTERPRISE}:department" not in result
    wpu = wp.oracle.get_user(int(uid))
    assert (wpu["first_name"], wpu["last_name"], wpu["display_name"]) == ("Ryanne", "Leenay-Smith", "Ryanne Leenay-Smith")

    # 7. Manager: bare string, list of one, removal by Replace with an empty value.
    other = scim(api.post("/Users", json=entra_body(str(uuid.uuid4()), "Manager_Two@contoso.com")), 201)["id"]
    result = scim(patch_ops(api, uid, [{"op": "Add", "path": f"{ENTERPRISE}:manager", "value": other}]), 200)
    assert result[ENTERPRISE]["manager"] == {"value": other}
    result = scim(patch_ops(api, uid, [{"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": [{"value": "1"}]}]), 200)
    assert result[ENTERPRISE]["manager"] == {"value": "1"}
    result = scim(patch_ops(api, uid, [{"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": ""}]), 200)
    assert result[ENTERPRISE] == {"employeeNumber": "701985", "department": "Finance"}
    assert scim(api.get(f"/Users/{uid}"), 200)[ENTERPRISE] == {"employeeNumber": "701985", "department": "Finance"}

    # 8. "Add" on active (boolean and string).
    result = scim(patch_ops(api, uid, [{"op": "Add", "path": "active", "value": False}]), 200)
    assert result["active"] is False
    assert not logs_in(wp, "Test_User_Entra@contoso.com", "Entra-Gen3rated!")
    result = scim(patch_ops(api, uid, [{"op": "Add", "path": "active", "value": "True"}]), 200)
    assert result["active"] is True
    assert logs_in(wp, "Test_User_Entra@contoso.com", "Entra-Gen3rated!", uid)

    # 9. Empty Operations: 200 with the unchanged resource, on the lowercase path too.
    before = scim(api.get(f"/Users/{uid}"), 200)
    same = scim(patch_ops(api, uid, [], path_prefix="/users"), 200)
    assert same["id"] == uid and same["name"] == before["name"] and same[ENTERPRISE] == before[ENTERPRISE]
    assert same["active"] is True

    # 10. Roles were never touched by any of it.
    assert wp.oracle.get_user(int(uid))["roles"] == ["subscriber"]

    # 11. The purge, 30 days later: DELETE → 204, then 404 everywhere, and WordPress agrees.
    scim(api.delete(f"/Users/{uid}"), 204)
    error(api.get(f"/Users/{uid}"), 404)
    error(api.delete(f"/Users/{uid}"), 404)
    error(patch_ops(api, uid, [{"op": "Replace", "path": "active", "value": "False"}]), 404)
    gone = listing(api.get("/Users", params={"filter": f'externalId eq "{ext}"'}))
    assert gone["totalResults"] == 0 and gone["Resources"] == []
    assert wp.oracle.get_user(int(uid))["exists"] is False
    rows = wp.oracle.user_meta_rows(int(uid))
    assert rows["meta"] == [] and rows["user"] is None
    assert not logs_in(wp, "Test_User_Entra@contoso.com", "Entra-Gen3rated!")
    # The other user survives.
    assert wp.oracle.get_user(int(other))["exists"] is True


@pytest.mark.parametrize("value, active", [("False", False), ("false", False), (False, False), ("True", True)])
def test_entra_string_booleans(api, wp, value, active):
    uid = scim(api.post("/Users", json=entra_body(str(uuid.uuid4()))), 201)["id"]
    if active:
        scim(patch_ops(api, uid, [{"op": "Replace", "path": "active", "value": False}]), 200)
    result = scim(patch_ops(api, uid, [{"op": "Replace", "path": "active", "value": value}]), 200)
    assert result["active"] is active
    assert scim(api.get(f"/Users/{uid}"), 200)["active"] is active
    assert logs_in(wp, "Test_User_Entra@contoso.com", "Entra-Gen3rated!") is active


def test_entra_test_connection_never_404(api):
    guid = str(uuid.uuid4())
    for path in ("/Users", "/users", "/Users/"):
        for attr in ("userName", "externalId", "id"):
            body = listing(api.get(path, params={"filter": f'{attr} eq "{guid}"'}))
            assert body["totalResults"] == 0 and body["Resources"] == []
    body = listing(api.get("/Users", params={"filter": f"externalId eq {guid}"}))
    assert body["totalResults"] == 0


def test_entra_create_on_lowercase_path_and_error_shapes(api, wp):
    ext = str(uuid.uuid4())
    created = scim(api.post("/users", json=entra_body(ext)), 201)
    assert wp.oracle.get_user(int(created["id"]))["user_login"] == "Test_User_Entra@contoso.com"
    dup = entra_body(str(uuid.uuid4()))
    dup["userName"] = "TEST_USER_ENTRA@CONTOSO.COM"
    dup["emails"] = [{"Primary": True, "type": "work", "value": "different@contoso.com"}]
    error(api.post("/Users", json=dup), 409, "uniqueness")
    error(patch_ops(api, created["id"], [{"op": "Remove"}]), 400, "noTarget")
    error(api.client.simulate_get("/scim/v2/Users", headers={"Authorization": ""}), 401)
    error(api.get("/Users/999999"), 404)
    assert wp.sql("SELECT COUNT(*) FROM wp_users")[0][0] == 2


def test_entra_attribute_names_are_case_insensitive_and_nulls_are_unassigned(api, wp):
    body = entra_body(str(uuid.uuid4()))
    body["Active"] = body.pop("active")
    body["name"]["middleName"] = None
    body["phoneNumbers"] = None
    body[ENTERPRISE] = {"Department": "Tour Operations", "Manager": "1", "employeeNumber": None}
    body[CUSTOM_URN] = {"costCenter": "42"}
    created = scim(api.post("/Users", json=body), 201)
    assert created["active"] is True and created["displayName"] == "Ryan Leenay"
    assert created[ENTERPRISE] == {"department": "Tour Operations", "manager": {"value": "1"}}
    assert "middleName" not in created["name"] and "phoneNumbers" not in created
    assert created[CUSTOM_URN] == {"costCenter": "42"}  # an unknown extension is kept, not dropped
    # Path names are case-insensitive too.
    result = scim(patch_ops(api, created["id"], [{"op": "Replace", "path": "Name.GivenName", "value": "Rhian"}]), 200)
    assert result["name"]["givenName"] == "Rhian"
    wpu = wp.oracle.get_user(int(created["id"]))
    assert (wpu["first_name"], wpu["display_name"], wpu["roles"]) == ("Rhian", "Ryan Leenay", ["subscriber"])
    assert logs_in(wp, "Test_User_Entra@contoso.com", "Entra-Gen3rated!", created["id"])
