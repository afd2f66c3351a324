"""An attribute wpscim does not map is kept as usermeta `wpscim_<name>`; a bearer token must never
reach wpscim's own keys that way. `{"meta.lastModified": "1999-…"}` was stored as
`wpscim_meta.lastModified`, the key wpscim keeps the user's lastModified in: reads showed the client's
value, `sortBy`/`filter` on meta.lastModified (IdP delta syncs) went wrong, and `meta.LASTMODIFIED`
made a second row MySQL's case-insensitive meta_key treats as the same key. SCIM's own attributes
(`meta.…`, `id.…`, `schemas.…`, in any case) are read-only: ignored when sent, as `meta` and `id` are
(RFC 7643 §3.1); other names MySQL would take for one of wpscim's keys are refused."""

from __future__ import annotations

import pytest
from test_users_api import CORE, PATCH, assert_error, create, new_user

BOGUS = "1999-01-01T00:00:00Z"


def _own_rows(wp, user_id) -> list[tuple[str, str]]:
    """wpscim's lastModified rows of a user, however their key is spelled."""
    return wp.sql(
        "SELECT meta_key, meta_value FROM wp_usermeta WHERE user_id = %s AND meta_key COLLATE utf8mb4_bin LIKE %s",
        (int(user_id), "wpscim\\_%"),
    )


def _assert_own_state_intact(api, wp, user_id, user_name):
    rows = dict(_own_rows(wp, user_id))
    meta_rows = [k for k in rows if k.lower().startswith(("wpscim_meta", "wpscim_id", "wpscim_schemas"))]
    assert meta_rows == ["wpscim_meta.lastModified"], rows
    assert rows["wpscim_meta.lastModified"].startswith("20") and BOGUS not in rows["wpscim_meta.lastModified"]
    read = api.get(f"/Users/{user_id}").json
    assert read["meta"]["lastModified"] == rows["wpscim_meta.lastModified"]
    assert not [k for k in read if k.lower().startswith(("meta.", "id.", "schemas."))], read
    # IdP delta syncs and sorting see wpscim's lastModified, not the client's.
    since = api.get("/Users", params={"filter": f'userName eq "{user_name}" and meta.lastModified gt "2000-01-01T00:00:00Z"'}).json
    assert since["totalResults"] == 1, since
    ordered = api.get("/Users", params={"sortBy": "meta.lastModified", "sortOrder": "descending", "count": 1}).json
    # The newest first: this user or one made within the same second (lastModified has one-second resolution).
    assert ordered["Resources"][0]["meta"]["lastModified"] == read["meta"]["lastModified"]


@pytest.mark.parametrize(
    "name",
    [
        "meta.lastModified",
        "meta.LASTMODIFIED",
        "META.lastModified",
        "Meta.created",
        "meta.version",
        "id.value",
        "ID.x",
        "schemas.value",
        f"{CORE}:meta.lastModified",
        f"{CORE.upper()}:Meta.LastModified",
    ],
)
def test_scim_own_attributes_sent_as_unknown_ones_are_ignored(api, wp, name):
    user_name = "keyt0@example.com"
    result = api.post("/Users", json=new_user(user_name, **{name: BOGUS}))
    assert result.status_code == 201, result.text
    assert BOGUS not in result.text
    _assert_own_state_intact(api, wp, result.json["id"], user_name)


@pytest.mark.parametrize(
    "name",
    [
        "méta.lastModified",  # MySQL's collation ignores accents: the same key as wpscim_meta.lastModified
        "ｍeta.lastModified",  # …and compatibility forms
        "meta.lastModiﬁed",
        "userNaｍe",
        "userNáme",
        "externalİd",
    ],
)
def test_names_mysql_would_take_for_wpscim_keys_are_refused(api, wp, name):
    before = wp.sql("SELECT COUNT(*) FROM wp_users")[0][0], wp.sql("SELECT COUNT(*) FROM wp_usermeta")[0][0]
    result = api.post("/Users", json=new_user("keyt1@example.com", **{name: BOGUS}))
    assert_error(result, 400, "invalidValue")
    assert name[:20] in result.json["detail"]
    assert (wp.sql("SELECT COUNT(*) FROM wp_users")[0][0], wp.sql("SELECT COUNT(*) FROM wp_usermeta")[0][0]) == before


def test_two_attributes_differing_only_in_case_are_refused(api, wp):
    """MySQL keeps `wpscim_Nickname2` and `wpscim_NICKNAME2` as one key: two rows would be read back as
    two attributes and updated together."""
    before = wp.sql("SELECT COUNT(*) FROM wp_usermeta")[0][0]
    result = api.post("/Users", json=new_user("keyt2@example.com", badgeColour="red", BADGECOLOUR="blue"))
    assert_error(result, 400, "invalidValue")
    assert "badgecolour" in result.json["detail"].lower()
    assert wp.sql("SELECT COUNT(*) FROM wp_usermeta")[0][0] == before


def test_an_ordinary_unknown_attribute_is_still_kept(api, wp):
    user = create(api, user_name="keyt3@example.com", badgeColour="red", identityProvider="okta", metadata={"a": 1})
    assert user["badgeColour"] == "red" and user["identityProvider"] == "okta" and user["metadata"] == {"a": 1}
    keys = {k for k, _ in _own_rows(wp, user["id"])}
    assert {"wpscim_badgeColour", "wpscim_identityProvider", "wpscim_metadata"} <= keys


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "add", "path": "meta.lastModified", "value": BOGUS},
        {"op": "replace", "path": "meta.LASTMODIFIED", "value": BOGUS},
        {"op": "add", "path": f"{CORE}:meta.lastModified", "value": BOGUS},
        {"op": "add", "value": {"meta.lastModified": BOGUS}},
        {"op": "add", "value": {"meta.LASTMODIFIED": BOGUS, "ID.x": BOGUS, "schemas.value": BOGUS}},
        {"op": "replace", "value": {f"{CORE}:meta.lastModified": BOGUS}},
        {"op": "add", "path": "id.value", "value": BOGUS},
    ],
)
def test_patch_cannot_reach_wpscim_keys_either(api, wp, operation):
    user_name = "keyt4@example.com"
    user = create(api, user_name=user_name)
    patched = api.patch(f"/Users/{user['id']}", json={"schemas": [PATCH], "Operations": [operation]})
    assert patched.status_code == 200, patched.text
    assert BOGUS not in patched.text
    _assert_own_state_intact(api, wp, user["id"], user_name)


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "add", "value": {"méta.lastModified": BOGUS}},
        {"op": "add", "value": {"userNáme": BOGUS}},
        {"op": "replace", "value": {"ｅmails": BOGUS}},
    ],
)
def test_patch_refuses_what_post_refuses(api, wp, operation):
    user = create(api, user_name="keyt5@example.com")
    before = sorted(_own_rows(wp, user["id"]))
    patched = api.patch(f"/Users/{user['id']}", json={"schemas": [PATCH], "Operations": [operation]})
    assert patched.status_code == 400, patched.text
    assert sorted(_own_rows(wp, user["id"])) == before


def test_patch_names_differing_only_in_case_name_one_attribute(api, wp):
    """PATCH finds attributes without case (RFC 7644 §3.10): both spellings land in one usermeta row."""
    user = create(api, user_name="keyt7@example.com", badgeColour="green")
    operation = {"op": "add", "value": {"BADGECOLOUR": "red", "badgecolour": "blue"}}
    patched = api.patch(f"/Users/{user['id']}", json={"schemas": [PATCH], "Operations": [operation]})
    assert patched.status_code == 200, patched.text
    assert [(k, v) for k, v in _own_rows(wp, user["id"]) if k.lower() == "wpscim_badgecolour"] == [("wpscim_badgeColour", '"blue"')]


def test_put_ignores_scim_own_attributes_too(api, wp):
    user_name = "keyt6@example.com"
    user = create(api, user_name=user_name)
    put = api.put(f"/Users/{user['id']}", json=new_user(user_name, **{"meta.lastModified": BOGUS, "Meta.LastModified": BOGUS}))
    assert put.status_code == 200, put.text
    _assert_own_state_intact(api, wp, user["id"], user_name)
