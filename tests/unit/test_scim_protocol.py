"""The WordPress-agnostic SCIM layer: filter parsing and evaluation, PATCH, body normalization."""

from __future__ import annotations

import pytest

from wpscim.scim.errors import ScimError
from wpscim.scim.filter import AttrPath, Compare, Logical, Not, ValuePath, matches, parse
from wpscim.scim.patch import apply_patch
from wpscim.scim.resource import normalize_user

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

USER = {
    "userName": "Bjensen",
    "externalId": "AbC",
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}, {"value": "babs@home.example", "type": "home"}],
    "active": True,
    "meta": {"created": "2024-01-02T03:04:05Z"},
    ENTERPRISE: {"department": "Tour Operations", "manager": {"value": "26118915"}},
}


def test_parse_tree():
    assert parse('userName Eq "x"') == Compare(AttrPath("userName"), "eq", "x")
    assert parse("externalId eq jyoung") == Compare(AttrPath("externalId"), "eq", "jyoung")
    assert parse("title pr and not (active eq false)") == Logical(
        "and", Compare(AttrPath("title"), "pr"), Not(Compare(AttrPath("active"), "eq", False))
    )
    assert parse("a eq 1 or b eq 2 and c eq 3") == Logical(
        "or", Compare(AttrPath("a"), "eq", 1), Logical("and", Compare(AttrPath("b"), "eq", 2), Compare(AttrPath("c"), "eq", 3))
    )
    assert parse('emails[type eq "work"]') == ValuePath(AttrPath("emails"), Compare(AttrPath("type"), "eq", "work"))
    assert parse(f'{ENTERPRISE}:manager.value eq "1"').path == AttrPath("manager", "value", ENTERPRISE)
    assert parse('userName eq "quote \\" inside"').value == 'quote " inside'


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "SOMEUSER",
        "userName",
        "userName eq",
        'userName xx "a"',
        "(a eq 1",
        "a eq 1)",
        "a eq 1 and",
        "not a eq 1",
        'emails[type eq "work"',
        '"x" eq "y"',
        "a eq 1 b eq 2",
        "(" * 40 + "a eq 1" + ")" * 40,
        "a eq " + '"' + "x" * 5000 + '"',
    ],
)
def test_parse_errors_are_invalid_filter(text):
    with pytest.raises(ScimError) as caught:
        parse(text)
    assert caught.value.status == 400 and caught.value.scim_type == "invalidFilter"


@pytest.mark.parametrize(
    "text, expected",
    [
        ('userName eq "bjensen"', True),
        ('externalId eq "abc"', True),  # the default case rule is case-insensitive…
        ('name.familyName co "ens"', True),
        ('name.familyName sw "J"', True),
        ('name.familyName ew "sen"', True),
        ('emails[type eq "home" and value co "babs"]', True),
        ('emails[type eq "home"].value eq "bjensen@example.com"', False),
        ('emails.value eq "babs@home.example"', True),
        ("active eq true and not (title pr)", True),
        ('meta.created gt "2023-12-31T00:00:00Z"', True),
        ('meta.created lt "2023-12-31T00:00:00Z"', False),
        (f'{ENTERPRISE}:department eq "tour operations"', True),
        (f'{ENTERPRISE}:manager.value eq "26118915"', True),
        ('title ne "x"', True),
        ('userName ne "bjensen"', False),
    ],
)
def test_evaluation(text, expected):
    assert matches(parse(text), USER) is expected


def test_case_exact_attributes():
    exact = lambda path: path.attr == "externalId"  # noqa: E731
    assert not matches(parse('externalId eq "abc"'), USER, exact)
    assert matches(parse('externalId eq "AbC"'), USER, exact)


def patch(operations, user=None):
    return apply_patch(user or normalize_user(USER), {"Operations": operations})


def test_patch_operations():
    result = patch(
        [
            {"op": "Replace", "path": "name.givenName", "value": "Babs"},
            {"op": "add", "path": "emails", "value": [{"value": "third@example.com", "type": "other"}]},
            {"op": "remove", "path": 'emails[type eq "home"]'},
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": "new@example.com"},
            {"op": "replace", "value": {"name.familyName": "J.", f"{ENTERPRISE}:department": "Sales", "active": "False"}},
            {"op": "add", "path": "password", "value": "s3cret"},
        ]
    )
    user = result.resource
    assert user["name"] == {"givenName": "Babs", "familyName": "J."}
    assert [e["value"] for e in user["emails"]] == ["new@example.com", "third@example.com"]
    assert user[ENTERPRISE] == {"department": "Sales", "manager": {"value": "26118915"}}
    assert user["active"] is False
    assert result.password == "s3cret" and "password" not in user


def test_patch_complex_replace_merges_and_empty_replace_removes():
    user = patch([{"op": "replace", "path": "name", "value": {"givenName": "B"}}]).resource
    assert user["name"] == {"givenName": "B", "familyName": "Jensen"}
    user = patch([{"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": ""}]).resource
    assert "manager" not in user[ENTERPRISE]
    user = patch([{"op": "replace", "path": f"{ENTERPRISE}:manager", "value": "42"}]).resource
    assert user[ENTERPRISE]["manager"] == {"value": "42"}


def test_patch_seeds_a_missing_work_email():
    base = normalize_user({"userName": "x"})
    user = patch([{"op": "replace", "path": 'emails[type eq "work"].value', "value": "w@example.com"}], base).resource
    assert user["emails"] == [{"type": "work", "value": "w@example.com"}]


def test_patch_ignores_read_only_echoes():
    user = patch([{"op": "replace", "value": {"id": "999", "meta": {}, "schemas": [], "groups": [], "displayName": "B J"}}]).resource
    assert user["displayName"] == "B J" and "id" not in user


@pytest.mark.parametrize(
    "body, scim_type",
    [
        ({"Operations": [{"op": "remove"}]}, "noTarget"),
        ({"Operations": [{"op": "remove", "path": ""}]}, "noTarget"),
        ({"Operations": [{"op": "copy", "path": "title"}]}, "invalidSyntax"),
        ({"Operations": [{"path": "title"}]}, "invalidSyntax"),
        ({"Operations": [{"op": "add", "path": "emails[type eq]", "value": "x"}]}, "invalidPath"),
        ({"Operations": [{"op": "add", "path": "a.b.c", "value": "x"}]}, "invalidPath"),
        ({"Operations": [{"op": "replace", "path": 'phoneNumbers[type eq "fax" or value pr]', "value": "x"}]}, "noTarget"),
        ({"Operations": [{"op": "replace", "path": "password", "value": ""}]}, "invalidValue"),
        ({"Operations": [{"op": "remove", "path": "password"}]}, "mutability"),
        ({"Operations": "x"}, "invalidSyntax"),
        ({}, "invalidSyntax"),
        ([], "invalidSyntax"),
    ],
)
def test_patch_errors(body, scim_type):
    with pytest.raises(ScimError) as caught:
        apply_patch(normalize_user(USER), body)
    assert caught.value.status == 400 and caught.value.scim_type == scim_type


def test_normalize_user_is_tolerant_but_typed():
    user = normalize_user(
        {
            "UserName": "x",
            "DisplayName": "X",
            "active": "TRUE",
            "nickName": None,
            "title": "",
            "emails": [{"Value": "a@b.c", "Primary": "true"}, None],
            "schemas": ["urn:unknown"],
            "id": "1",
            "groups": [],
            "urn:example:ext:1.0:User": {"badge": 7},
            f"{ENTERPRISE}:employeeNumber": 701984,
        }
    )
    assert user == {
        "userName": "x",
        "displayName": "X",
        "active": True,
        "emails": [{"value": "a@b.c", "primary": True}],
        "urn:example:ext:1.0:User": {"badge": 7},
        ENTERPRISE: {"employeeNumber": "701984"},
    }
    for bad in ({"userName": "x", "active": "maybe"}, {"userName": "x", "emails": [1.5]}, {"userName": {"a": 1}}):
        with pytest.raises(ScimError):
            normalize_user(bad)


def test_primary_is_true_at_most_once():
    user = normalize_user({"userName": "x", "emails": [{"value": "a@x", "primary": True}]})
    patched = apply_patch(user, {"Operations": [{"op": "add", "path": "emails", "value": [{"value": "b@x", "primary": True}]}]})
    assert patched.resource["emails"] == [{"value": "a@x"}, {"value": "b@x", "primary": True}]
