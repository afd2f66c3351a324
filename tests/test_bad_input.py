"""A careless or hostile client gets a SCIM error (4xx, scimType, detail) and nothing is stored:
bodies nested too deep, passwords WordPress would refuse, too many or too large attributes. And
what SCIM reads of `active` always matches whether WordPress lets the user in."""

from __future__ import annotations

import json

import pytest
from test_users_api import PATCH, assert_error, create, new_user


def _counts(wp) -> tuple[int, int]:
    return wp.sql("SELECT COUNT(*) FROM wp_users")[0][0], wp.sql("SELECT COUNT(*) FROM wp_usermeta")[0][0]


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,  # used to be a 500 (RecursionError)
        ('{"a":' * 5_000 + "1" + "}" * 5_000).encode(),
        json.dumps({"userName": "deep", "x": json.loads("[" * 40 + "]" * 40)}).encode(),  # valid JSON, deeper than any SCIM body
    ],
    ids=["100k-brackets", "5k-objects", "40-levels"],
)
def test_bodies_nested_too_deep_are_refused(api, wp, body):
    before = _counts(wp)
    for method, path in (("POST", "/Users"), ("PUT", "/Users/1"), ("PATCH", "/Users/1"), ("POST", "/Bulk"), ("POST", "/Groups")):
        result = api.request(method, path, body=body, headers={"Content-Type": "application/scim+json"})
        assert_error(result, 400, "invalidSyntax")
        assert "nested" in result.json["detail"]
    assert _counts(wp) == before


def test_a_password_longer_than_wordpress_accepts_is_refused(api, wp):
    """WordPress's hashers refuse passwords over 4,096 bytes (no login could follow); it was a 500."""
    before = _counts(wp)
    assert_error(api.post("/Users", json=new_user("long.pw@example.com", password="x" * 5_000)), 400, "invalidValue")
    assert_error(api.post("/Users", json=new_user("long.pw@example.com", password="é" * 2_049)), 400, "invalidValue")  # 4,098 bytes
    assert _counts(wp) == before
    user = create(api, user_name="fits@example.com", password="x" * 4_096)
    assert wp.oracle.authenticate("fits@example.com", "x" * 4_096)["ok"]
    patched = api.patch(
        f"/Users/{user['id']}", json={"schemas": [PATCH], "Operations": [{"op": "replace", "path": "password", "value": "y" * 5_000}]}
    )
    assert_error(patched, 400, "invalidValue")
    assert wp.oracle.authenticate("fits@example.com", "x" * 4_096)["ok"]


def test_too_many_or_too_large_attributes_are_refused(api, wp):
    """Every attribute not mapped to WordPress is a usermeta row: 5,000 unknown attributes were stored
    as 5,000 rows. Kept attributes are bounded (README: Limits)."""
    before = _counts(wp)
    many = new_user("many@example.com", **{f"custom{i}": "v" for i in range(5_000)})
    assert_error(api.post("/Users", json=many), 400, "invalidValue")
    assert_error(api.post("/Users", json=new_user("large@example.com", biography="x" * 70_000)), 400, "invalidValue")
    assert _counts(wp) == before
    user = create(api, user_name="bounded@example.com", **{f"custom{i}": "v" for i in range(60)})
    assert user["custom59"] == "v"
    patch = {"schemas": [PATCH], "Operations": [{"op": "add", "value": {f"extra{i}": "v" for i in range(10)}}]}
    assert_error(api.patch(f"/Users/{user['id']}", json=patch), 400, "invalidValue")
    assert "extra0" not in api.get(f"/Users/{user['id']}").json


def test_a_put_without_active_leaves_a_suspended_user_suspended_and_reading_so(api, wp):
    """PUT without `active` on a suspended user kept the suspension but read back without `active`, and
    `active eq false` no longer found the user: SCIM must read what WordPress enforces."""
    user = create(api, user_name="sleeper@example.com", password="Sleeper pw 1")
    deactivate = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}
    assert api.patch(f"/Users/{user['id']}", json=deactivate).json["active"] is False
    body = new_user("sleeper@example.com")
    del body["active"]
    put = api.put(f"/Users/{user['id']}", json=body)
    assert put.status_code == 200, put.text
    assert put.json["active"] is False
    assert api.get(f"/Users/{user['id']}").json["active"] is False
    assert not wp.oracle.authenticate("sleeper@example.com", "Sleeper pw 1")["ok"]
    for expression, found in (("active eq false", True), ("active eq true", False), ("active pr", True), ("active ne true", True)):
        listed = api.get("/Users", params={"filter": f'userName eq "sleeper@example.com" and {expression}'}).json
        assert listed["totalResults"] == (1 if found else 0), expression
        scanned = api.get("/Users", params={"filter": expression, "count": 1000}).json  # through SQL, not the lookup path
        assert (user["id"] in {u["id"] for u in scanned["Resources"]}) == found, expression


def test_a_patch_that_removes_active_reactivates_and_reads_without_it(api, wp):
    """Removing `active` leaves it unassigned: WordPress's default, an active user, is then what the
    client asked for, and the user reads back without `active` — as WordPress lets them in."""
    user = create(api, user_name="unset@example.com", password="Unset pw 1")
    deactivate = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}
    assert api.patch(f"/Users/{user['id']}", json=deactivate).json["active"] is False
    assert not wp.oracle.authenticate("unset@example.com", "Unset pw 1")["ok"]
    removed = api.patch(f"/Users/{user['id']}", json={"schemas": [PATCH], "Operations": [{"op": "remove", "path": "active"}]})
    assert removed.status_code == 200 and "active" not in removed.json
    assert wp.oracle.authenticate("unset@example.com", "Unset pw 1")["ok"]
    assert api.get("/Users", params={"filter": 'userName eq "unset@example.com" and active eq false'}).json["totalResults"] == 0


@pytest.mark.parametrize("email", ["a b@example.com", "zoë@example.com", "x@localhost", "a@b@c.com", "a&b@example.com"])
def test_an_email_wordpress_would_store_otherwise_is_refused(api, wp, email):
    """wp_insert_user() stores sanitize_email()'s repair of an address; the e-mail is an identity
    (unique, matched by IdPs), so wpscim refuses such an address instead of storing another one."""
    before = _counts(wp)
    result = api.post("/Users", json=new_user("mailer", emails=[{"value": email, "primary": True}]))
    assert_error(result, 400, "invalidValue")
    assert "e-mail address WordPress stores as it is" in result.json["detail"]
    assert _counts(wp) == before
