"""Unquoted numbers in filters, core attributes given inside the core schema's URN, and versions that
do not follow the host a client used."""

from __future__ import annotations

import pytest

from wpscim.scim import schemas
from wpscim.scim.errors import ScimError
from wpscim.scim.filter import AttrPath, Compare, check_types, matches, parse, unparse
from wpscim.scim.patch import PatchPath, apply_patch, parse_patch_path
from wpscim.scim.resource import normalize_user

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def test_an_unquoted_word_json_reads_as_no_number_is_a_string():
    assert parse("externalId eq 00123") == Compare(AttrPath("externalId"), "eq", "00123")
    assert parse("userName eq -007").value == "-007"
    assert parse("externalId eq 1") == Compare(AttrPath("externalId"), "eq", 1)  # spelled as str(1): no text kept


def test_an_unquoted_number_keeps_its_spelling():
    for text, number in (("1e5", 100000.0), ("1.50", 1.5), ("-0", 0), ("1E+2", 100.0)):
        expr = parse(f"externalId eq {text}")
        assert (expr.value, expr.text) == (number, text)
        assert unparse(expr) == f"externalId eq {text}" and parse(unparse(expr)) == expr
    assert parse("externalId eq 1e5") != parse("externalId eq 100000.0")


def test_an_unquoted_number_is_its_text_to_a_string_and_a_number_to_a_number():
    assert matches(parse("externalId eq 1e5"), {"externalId": "1e5"})
    assert not matches(parse("externalId eq 1e5"), {"externalId": "100000.0"})
    assert matches(parse("externalId ne 1e5"), {"externalId": "100000"})
    assert matches(parse("externalId eq 00123"), {"externalId": "00123"})
    assert matches(parse("externalId sw 12"), {"externalId": "12345"})
    assert matches(parse("emails[value eq 1.50]"), {"emails": [{"value": "1.50"}]})
    assert matches(parse("level eq 1e5"), {"level": 100000}) and matches(parse("level gt 99999.5"), {"level": 100000})
    assert not matches(parse("level lt 1e5"), {"level": 100000})


@pytest.mark.parametrize("text", ['userName eq "\\ud800"', 'userName eq "x\\udfff"', "externalId eq 007 and", "userName eq 007)"])
def test_unparseable_filters_are_invalid_filter(text):
    with pytest.raises(ScimError) as refused:
        parse(text)
    assert refused.value.status == 400 and refused.value.scim_type == "invalidFilter"


def test_the_core_schema_object_holds_top_level_attributes():
    body = {
        "schemas": [CORE],
        CORE.upper(): {"userName": "bjensen", "password": "secret", CORE: {"displayName": "Babs"}},
        f"{CORE}:{CORE}:title": "Boss",
    }
    assert normalize_user(body) == {"userName": "bjensen", "password": "secret", "displayName": "Babs", "title": "Boss"}
    assert normalize_user({"userName": "bjensen", CORE: None}) == {"userName": "bjensen"}
    with pytest.raises(ScimError) as refused:
        normalize_user({"userName": "bjensen", CORE: "secret"})
    assert refused.value.scim_type == "invalidValue"


def test_a_patch_path_naming_the_core_schema_names_the_resource():
    assert parse_patch_path(CORE.lower()) == PatchPath(None, "", None, None)
    current = {"userName": "bjensen", "title": "Old"}
    result = apply_patch(
        current, {"schemas": [PATCH], "Operations": [{"op": "replace", "path": CORE, "value": {"password": "secret", "title": "New"}}]}
    )
    assert (result.resource, result.password) == ({"userName": "bjensen", "title": "New"}, "secret")
    with pytest.raises(ScimError) as refused:
        apply_patch(current, {"schemas": [PATCH], "Operations": [{"op": "remove", "path": CORE}]})
    assert refused.value.scim_type == "invalidPath"


def test_a_password_kept_inside_a_core_schema_object_is_no_patch_of_the_password():
    current = {"userName": "bjensen", CORE: {"password": "kept", "nickName": "Babs"}}
    result = apply_patch(current, {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "New"}]})
    assert (result.resource, result.password) == ({"userName": "bjensen", "nickName": "Babs", "title": "New"}, None)
    assert CORE in result.unassigned


@pytest.mark.parametrize(
    "text",
    [
        'meta.created gt "+275760-09-13T00:00:00Z"',
        'meta.created gt "2020-13-45T99:99:99Z"',
        'meta.lastModified ge "not a date"',
        "meta.created lt 5",
        'userName eq "x" or not (meta.created eq "yesterday")',
        "urn:ietf:params:scim:schemas:core:2.0:User:active gt true",
        'x509Certificates[value lt "AAAA"]',
    ],
)
def test_a_comparison_the_attribute_type_cannot_make_is_an_invalid_filter(text):
    with pytest.raises(ScimError) as refused:
        check_types(parse(text), schemas.USER)
    assert (refused.value.status, refused.value.scim_type) == (400, "invalidFilter")


@pytest.mark.parametrize(
    "text",
    [
        'meta.created gt "2026-12-04T10:00:00Z"',
        'meta.lastModified le "2026-12-04T10:00:00+02:00"',
        "meta.created pr",
        'meta.created sw "2026-12"',
        'meta.lastModified co "T10"',
        'meta.created eq "2026-12-04T10:00:00.1234567Z"',  # .NET's seven digits of fractions
        "active eq true",
        'emails[type eq "work" and value co "@"]',
        'nickName gt "m"',
        'someExtensionAttribute gt "whatever"',  # unknown to the schema: the search decides
    ],
)
def test_comparisons_the_attribute_type_can_make_pass(text):
    check_types(parse(text), schemas.USER)


def test_group_filters_are_checked_against_the_group_schema():
    check_types(parse('displayName gt "A"'), schemas.GROUP)
    with pytest.raises(ScimError):
        check_types(parse('meta.lastModified gt "soon"'), schemas.GROUP)
