"""Hostile input found in review, over a real WordPress database: ids that are digits to Python but
not to WordPress, JSON numbers Python reads but SCIM has no value for, control characters in the
identifiers IdPs match users by. Each gets a SCIM error and nothing is stored or changed."""

from __future__ import annotations

import json
import urllib.request

import pytest
from test_users_api import PATCH, assert_error, create, new_user

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def _counts(wp) -> tuple[int, int]:
    return wp.sql("SELECT COUNT(*) FROM wp_users")[0][0], wp.sql("SELECT COUNT(*) FROM wp_usermeta")[0][0]


@pytest.mark.parametrize(
    "user_id",
    [
        "%C2%B9",  # ¹: str.isdigit() is true, int() raised ValueError (500)
        "%D9%A3",  # ٣ (Arabic-Indic three): int() reads 3, and DELETE deleted user 3
        "%EF%BC%91",  # １ (fullwidth one): read as user 1
        "%E0%A5%A9",  # ३ (Devanagari three)
        "1" * 5_000,  # ASCII digits, but more than int() converts (and than a BIGINT holds): was a 500
    ],
    ids=["superscript-one", "arabic-indic-three", "fullwidth-one", "devanagari-three", "5000-digits"],
)
def test_user_ids_that_are_not_ascii_digits_name_no_user(api, wp, user_id):
    create(api, user_name="second@example.com")
    third = create(api, user_name="third@example.com")
    assert third["id"] == "3"
    before = _counts(wp)
    rename = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "userName", "value": "renamed@example.com"}]}
    assert_error(api.get(f"/Users/{user_id}"), 404)
    assert_error(api.patch(f"/Users/{user_id}", json=rename), 404)
    assert_error(api.put(f"/Users/{user_id}", json=new_user("renamed@example.com")), 404)
    assert_error(api.delete(f"/Users/{user_id}"), 404)
    assert _counts(wp) == before
    assert api.get("/Users/3").json["userName"] == "third@example.com"
    assert api.get("/Users/1").json["userName"] == "admin"


def test_ascii_ids_still_name_their_user(api):
    """Leading zeros were always read as the number (unchanged); the id returned is WordPress's."""
    user = create(api, user_name="plain@example.com")
    assert api.get(f"/Users/{user['id']}").json["userName"] == "plain@example.com"
    assert api.get(f"/Users/0{user['id']}").json["id"] == user["id"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
def test_json_numbers_with_no_value_are_invalid_syntax(api, wp, number):
    """The standard library reads NaN, ±Infinity and overflowing exponents as floats that JSON cannot
    write back: they were stored as null (201)."""
    user = create(api, user_name="numbers@example.com")
    before = _counts(wp)
    headers = {"Content-Type": "application/scim+json"}
    bodies = {
        ("POST", "/Users"): f'{{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "nan@example.com", "x": {number}}}',
        ("PUT", f"/Users/{user['id']}"): f'{{"userName": "numbers@example.com", "x": [{number}]}}',
        ("PATCH", f"/Users/{user['id']}"): f'{{"schemas": ["{PATCH}"], "Operations": [{{"op": "add", "path": "x", "value": {number}}}]}}',
        ("POST", "/Bulk"): (
            f'{{"schemas": ["{BULK}"], "Operations": [{{"method": "POST", "path": "/Users", "bulkId": "a", '
            f'"data": {{"userName": "bulk.nan@example.com", "x": {number}}}}}]}}'
        ),
    }
    for (method, path), body in bodies.items():
        result = api.request(method, path, body=body.encode(), headers=headers)
        assert_error(result, 400, "invalidSyntax")
        assert number.lstrip("-") in result.json["detail"] or "too large" in result.json["detail"], result.json
    assert _counts(wp) == before
    assert "x" not in api.get(f"/Users/{user['id']}").json


def test_an_integer_too_long_to_read_is_refused_in_plain_words(api, wp):
    """Python refuses to convert integers of over 4,300 digits; its message (about
    sys.set_int_max_str_digits) was the detail."""
    before = _counts(wp)
    body = '{"userName": "long.number@example.com", "x": ' + "9" * 5_000 + "}"
    result = api.post("/Users", body=body.encode(), headers={"Content-Type": "application/scim+json"})
    assert_error(result, 400, "invalidSyntax")
    assert result.json["detail"] == "a number in the body is too long", result.json
    assert _counts(wp) == before


@pytest.mark.parametrize(
    "attribute, value",
    [
        ("userName", "nul\u0000x"),
        ("userName", "user\u0001ctrl"),
        ("userName", "esc\u001b[31mred"),
        ("userName", "del\u007fete"),
        ("userName", "c1\u0085next"),
        ("userName", "c1\u009fend"),
        ("externalId", "ext\u0000id"),
        ("externalId", "ext\u0008id"),
    ],
)
def test_control_characters_in_identifiers_are_refused(api, wp, attribute, value):
    """userName and externalId are what IdPs match users by; a control character in one was stored as
    sent (a NUL in usermeta wpscim_userName)."""
    user = create(api, user_name="clean@example.com", externalId="clean-ext")
    before = _counts(wp)
    body = new_user("controlled@example.com")
    body[attribute] = value
    created = api.post("/Users", json=body)
    assert_error(created, 400, "invalidValue")
    assert attribute in created.json["detail"]
    replaced = api.put(f"/Users/{user['id']}", json={**new_user("clean@example.com"), attribute: value})
    assert_error(replaced, 400, "invalidValue")
    patch = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": attribute, "value": value}]}
    assert_error(api.patch(f"/Users/{user['id']}", json=patch), 400, "invalidValue")
    assert _counts(wp) == before
    read = api.get(f"/Users/{user['id']}").json
    assert (read["userName"], read["externalId"]) == ("clean@example.com", "clean-ext")


def test_identifiers_with_spaces_tabs_and_non_ascii_are_still_accepted(api):
    """Only control characters are refused: surrounding whitespace is trimmed as before, and
    non-ASCII letters are kept (WordPress gets a sanitized login)."""
    user = create(api, user_name="\tspaced@example.com\n", externalId="ext id ü")
    assert (user["userName"], user["externalId"]) == ("spaced@example.com", "ext id ü")
    emails = [{"value": "zoe@example.com", "primary": True}]
    assert create(api, user_name="Zoë Ångström", emails=emails)["userName"] == "Zoë Ångström"


def _members(api, slug):
    return sorted(m["value"] for m in api.get(f"/Groups/{slug}").json.get("members", []))


@pytest.mark.parametrize("value", ["¹", "٣", "１", "1" * 25])
def test_group_member_ids_that_are_not_ascii_digits_are_no_user(api, wp, value):
    create(api, user_name="second@example.com")
    third = create(api, user_name="third@example.com")
    assert third["id"] == "3"
    for ops in (
        [{"op": "add", "path": "members", "value": [{"value": value}]}],
        [{"op": "remove", "path": f'members[value eq "{value}"]'}],
        [{"op": "replace", "path": "members", "value": [{"value": value}]}],
    ):
        r = api.patch("/Groups/editor", json={"schemas": [PATCH], "Operations": ops})
        assert r.status_code in (200, 204), r.text
        assert "3" not in _members(api, "editor")
    bulk = {
        "schemas": [BULK],
        "Operations": [
            {
                "method": "PATCH",
                "path": "/Groups/editor",
                "data": {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": value}]}]},
            }
        ],
    }
    r = api.post("/Bulk", json=bulk)
    assert r.status_code == 200 and int(r.json["Operations"][0]["status"]) < 500, r.text
    assert "3" not in _members(api, "editor")
    # the administrators: removing "٣" must not take user 3's role (not admin) nor anyone's
    assert api.get("/Users/3").json["userName"] == "third@example.com"


@pytest.mark.parametrize("value", ["¹", "٣", "１", "1" * 25])
def test_id_filters_on_non_ascii_digits_match_nothing(api, value):
    create(api, user_name="second@example.com")
    create(api, user_name="third@example.com")
    r = api.get("/Users", params={"filter": f'id eq "{value}"'})
    assert r.status_code == 200, r.text
    assert r.json["totalResults"] == 0
    r = api.get("/Users", params={"filter": f'id ne "{value}"'})
    assert r.status_code == 200, r.text
    assert r.json["totalResults"] == 3


def test_a_newline_after_an_id_is_not_dropped(api):
    assert_error(api.get("/Users/1%0A"), 404)
    assert_error(api.delete("/Users/1%0A"), 404)
    assert api.get("/Users/1").status_code == 200
    assert api.get("/users/1/").status_code == 200


@pytest.mark.parametrize("value", ["¹", "٣", "3"])
def test_the_trail_of_a_user_named_by_an_odd_id(wp, api, value):
    create(api, user_name="second@example.com")
    create(api, user_name="third@example.com")
    storage = wp.storage()
    with storage.reading() as session:
        found = storage.changes.history(session, user=value)
    assert [e["resource_id"] for e in found] == (["3"] if value == "3" else [])


def test_a_client_cannot_write_lines_of_its_own_into_the_log(serve):
    """Member ids that are no user are logged (by default they are ignored): one carrying a line break
    and a line of its own, and one 100,000 characters long, leave one bounded line each."""
    base, token = serve()
    forged = "2026-12-04 19:30:00,000 CRITICAL wpscim: token 'okta' leaked, rotate it at http://evil.example"
    members = [{"value": f"7\n{forged}"}, {"value": "9" * 100_000 + "x"}]
    body = json.dumps({"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": members}]}).encode()
    request = urllib.request.Request(
        f"{base}/Groups/author",
        data=body,
        method="PATCH",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200
    lines = serve.logs[-1].read_text().splitlines()
    ignored = [line for line in lines if "ignored group member ids" in line]
    assert len(ignored) == 1, lines
    assert f"7\\x0a{forged}" in ignored[0]
    assert not any(line.startswith(forged) for line in lines)
    assert max(len(line) for line in lines) < 5_000
