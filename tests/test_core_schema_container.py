"""Core attributes given fully qualified (RFC 7643 §3): inside a `"urn:…:core:2.0:User": {…}` object, or
through a PATCH path naming the core schema. A password given so is the user's password, hashed as any
other, and appears nowhere in clear text: not in the answer, a later GET, or any usermeta row."""

from __future__ import annotations

import pytest

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PASSWORD = "S3cret-Core-Pa55"
INTERIM = "Interim-Core-Pa55"
OLD = "Old-Pa55word"


def stored_hash(wp, uid: str) -> str:
    return wp.sql("SELECT user_pass FROM wp_users WHERE ID = %s", (uid,))[0][0]


def leaked(text: str) -> bool:
    return any(secret in text for secret in (PASSWORD, INTERIM, OLD))


def assert_kept_nowhere(api, wp, uid: str, *answers) -> None:
    for answer in (*answers, api.get(f"/Users/{uid}"), api.get("/Users", params={"filter": f'id eq "{uid}"'})):
        assert not leaked(answer.text) and "password" not in answer.text.lower(), answer.text
    rows = wp.sql("SELECT meta_key, meta_value FROM wp_usermeta WHERE user_id = %s", (uid,))
    assert [key for key, value in rows if leaked(value) or CORE.lower() in key.lower()] == [], rows
    assert not leaked(repr(wp.sql("SELECT * FROM wp_users WHERE ID = %s", (uid,))) + repr(wp.sql("SELECT * FROM wp_wpscim_events")))


def assert_password(wp, uid: str, password: str) -> None:
    assert wp.oracle.check_password(password, stored_hash(wp, uid), int(uid))


@pytest.mark.parametrize("urn", [CORE, CORE.upper().replace("URN:", "urn:"), CORE.lower()])
def test_create_with_the_core_schema_object(api, wp, urn):
    body = {"schemas": [CORE], urn: {"userName": "core@example.com", "password": PASSWORD, "displayName": "Core Object"}}
    created = api.post("/Users", json=body)
    assert created.status_code == 201, created.text
    uid = created.json["id"]
    assert created.json["userName"] == "core@example.com" and created.json["displayName"] == "Core Object"
    assert_password(wp, uid, PASSWORD)
    assert_kept_nowhere(api, wp, uid, created)


def test_create_with_a_nested_core_object_and_a_qualified_password(api, wp):
    body = {"userName": "nested@example.com", CORE: {CORE: {"displayName": "Nested"}, f"{CORE}:password": PASSWORD}}
    created = api.post("/Users", json=body)
    assert created.status_code == 201, created.text
    assert created.json["displayName"] == "Nested"
    assert_password(wp, created.json["id"], PASSWORD)
    assert_kept_nowhere(api, wp, created.json["id"], created)


def test_replace_with_the_core_object(api, wp):
    uid = api.post("/Users", json={"userName": "put@example.com"}).json["id"]
    replaced = api.put(f"/Users/{uid}", json={CORE: {"userName": "put@example.com", "password": PASSWORD, "title": "Put"}})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json["title"] == "Put"
    assert_password(wp, uid, PASSWORD)
    assert_kept_nowhere(api, wp, uid, replaced)


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": CORE, "value": {"password": PASSWORD, "title": "Patched"}},
        {"op": "add", "path": CORE.lower(), "value": {"password": PASSWORD, "title": "Patched"}},
        {"op": "replace", "value": {CORE: {"password": PASSWORD, "title": "Patched"}}},
        {"op": "Replace", "path": CORE, "value": {CORE: {"password": PASSWORD}, f"{CORE}:title": "Patched"}},
    ],
    ids=["path", "lower-case path", "pathless", "nested"],
)
def test_patch_through_the_core_schema(api, wp, operation):
    uid = api.post("/Users", json={"userName": "patch@example.com", "password": OLD}).json["id"]
    patched = api.patch(f"/Users/{uid}", json={"schemas": [PATCH], "Operations": [operation]})
    assert patched.status_code == 200, patched.text
    assert patched.json["title"] == "Patched"
    assert_password(wp, uid, PASSWORD)
    assert not wp.oracle.check_password(OLD, stored_hash(wp, uid), int(uid))
    assert_kept_nowhere(api, wp, uid, patched)


def test_the_last_password_of_a_patch_wins_whichever_way_it_is_qualified(api, wp):
    uid = api.post("/Users", json={"userName": "qualified@example.com"}).json["id"]
    operations = [
        {"op": "replace", "path": CORE, "value": {"password": INTERIM}},
        {"op": "replace", "path": f"{CORE}:password", "value": PASSWORD},
    ]
    patched = api.patch(f"/Users/{uid}", json={"schemas": [PATCH], "Operations": operations})
    assert patched.status_code == 200, patched.text
    assert_password(wp, uid, PASSWORD)
    assert_kept_nowhere(api, wp, uid, patched)


@pytest.mark.parametrize(
    "send",
    [
        lambda api, uid: api.patch(f"/Users/{uid}", json={"schemas": [PATCH], "Operations": [{"op": "remove", "path": CORE}]}),
        lambda api, uid: api.patch(
            f"/Users/{uid}", json={"schemas": [PATCH], "Operations": [{"op": "add", "path": CORE, "value": PASSWORD}]}
        ),
        lambda api, uid: api.put(f"/Users/{uid}", json={"userName": "refused@example.com", CORE: [{"password": PASSWORD}]}),
    ],
    ids=["remove", "patch not an object", "put not an object"],
)
def test_the_core_schema_as_a_whole_is_refused_where_it_means_nothing(api, wp, send):
    uid = api.post("/Users", json={"userName": "refused@example.com"}).json["id"]
    before = stored_hash(wp, uid)
    refused = send(api, uid)
    assert refused.status_code == 400, refused.text
    assert refused.json["schemas"] == [ERROR] and refused.json["scimType"] in ("invalidPath", "invalidValue"), refused.json
    assert stored_hash(wp, uid) == before
    assert_kept_nowhere(api, wp, uid, refused)


def test_a_core_object_kept_before_is_not_taken_for_a_password_change(api, wp):
    """Rows written while core-schema objects were kept as sent: the next PATCH reads the object's
    attributes as core attributes, drops its password (never the client's change now) and its row."""
    uid = api.post("/Users", json={"userName": "kept@example.com", "password": OLD}).json["id"]
    wp.sql(
        "INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES (%s, %s, %s)",
        (uid, f"wpscim_{CORE}", f'{{"password": "{PASSWORD}", "userType": "Kept"}}'),
    )
    read = api.get(f"/Users/{uid}")  # before any write: read as core attributes, the password left out
    assert read.json["userType"] == "Kept" and not leaked(read.text) and read.json["schemas"] == [CORE], read.text
    operation = {"op": "replace", "path": "title", "value": "Later"}
    patched = api.patch(f"/Users/{uid}", json={"schemas": [PATCH], "Operations": [operation]})
    assert patched.status_code == 200, patched.text
    assert patched.json["title"] == "Later" and patched.json["userType"] == "Kept"
    assert_password(wp, uid, OLD)
    assert_kept_nowhere(api, wp, uid, patched)


def test_a_password_inside_any_kept_attribute_is_not_kept(api, wp):
    """An attribute wpscim keeps as sent (an unknown extension, a custom complex attribute) is stored in
    clear text and answered back: a member named password is left out of it, at any depth."""
    custom = "urn:example:params:scim:schemas:custom:2.0:User"
    body = {
        "userName": "custom@example.com",
        "schemas": [CORE, custom],
        custom: {"Password": PASSWORD, "badge": "B-7", "vault": [{"password": INTERIM, "label": "x"}]},
        "legacy": {"password": OLD, "since": 2019},
    }
    created = api.post("/Users", json=body)
    assert created.status_code == 201, created.text
    assert created.json[custom] == {"badge": "B-7", "vault": [{"label": "x"}]} and created.json["legacy"] == {"since": 2019}
    assert_kept_nowhere(api, wp, created.json["id"], created)
    # An old row that kept one is not answered with it either.
    uid = created.json["id"]
    wp.sql("UPDATE wp_usermeta SET meta_value = %s WHERE user_id = %s AND meta_key = 'wpscim_legacy'", (f'{{"password": "{OLD}"}}', uid))
    assert not leaked(api.get(f"/Users/{uid}").text)
