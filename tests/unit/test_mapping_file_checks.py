"""A site's mapping file is checked whole before use: each problem is refused with the file, the line
and the problem (the tests against the database are in tests/test_mapping_file.py)."""

from __future__ import annotations

import pytest

from wpscim.wordpress.mapping_file import MappingError, parse_mapping


@pytest.mark.parametrize(
    "text, message",
    [
        ("[[attribute]]\nscim = 'title'\n", "line 1: give exactly one of 'column' or 'meta'"),
        (
            "\n\n[[attribute]]\nscim = 'title'\nmeta = 'a'\n\n[[attribute]]\nscim = 'nope'\nmeta = 'b'\n",
            "line 7: scim = 'nope' is not an attribute",
        ),
        ("[[attribute]]\nscim = 'title'\nmeta = 'wp_capabilities'\n", "holds WordPress's or wpscim's own state"),
        # MySQL compares keys without case: these are WordPress's and wpscim's own keys too.
        ("[[attribute]]\nscim = 'title'\nmeta = 'WP_CAPABILITIES'\n", "holds WordPress's or wpscim's own state"),
        ("[[attribute]]\nscim = 'title'\nmeta = 'WPSCIM_userName'\n", "holds WordPress's or wpscim's own state"),
        ("[[attribute]]\nscim = 'title'\nmeta = 'Session_Tokens'\n", "holds WordPress's or wpscim's own state"),
        ("[[attribute]]\nscim = 'title'\nmeta = 'First_Name'\n", "differs only in case from WordPress's 'first_name'"),
        ("[[attribute]]\nscim = 'title'\nmeta = 'x'\n[[attribute]]\nscim = 'userType'\nmeta = 'X'\n", "X is already the target of title"),
        # externalId is looked up where wpscim keeps it: a remapped one was written to the new key but
        # read and filtered from the old (409 on re-create).
        ("[[attribute]]\nscim = 'externalId'\nmeta = 'okta_id'\n", "always stored by wpscim itself"),
        ("[[attribute]]\nscim = 'EXTERNALID'\nmeta = 'okta_id'\n", "always stored by wpscim itself"),
        ("[[attribute]]\nscim = 'title'\ncolumn = 'user_pass'\n", "column must be one of display_name, user_url"),
        ("[[attribute]]\nscim = 'title'\nmeta = 'x'\ntransform = 'upper'\n", "transform must be one of"),
        ("[[attribute]]\nscim = 'title'\nmeta = 'x'\ndirection = 'sideways'\n", "direction must be one of"),
        (
            "[[attribute]]\nscim = 'title'\nmeta = 'x'\n[[attribute]]\nscim = 'userType'\nmeta = 'x'\n",
            "line 4: x is already the target of title",
        ),
        ("[[attribute]]\nscim = 'title'\nmeta = 'x'\ncolour = 'red'\n", "unknown keys colour"),
        ("[[attribute]]\nscim = 'userName'\nmeta = 'x'\n", "always stored by wpscim itself"),
        ("[[attribute]]\nscim = 'displayName'\ncolumn = 'display_name'\ntransform = 'join'\n", "needs from ="),
        ("[[attribute]]\nscim = 'phoneNumbers[type co \"w\"].value'\nmeta = 'x'\n", "may only use 'eq'"),
        ("[[attribute]]\nscim = 'name'\nmeta = 'x'\n", "is complex"),
        # A filter on an attribute that holds one value: reading it back failed (500) for every user.
        ("[[attribute]]\nscim = 'name[type eq \"x\"].givenName'\nmeta = 'x'\n", "filters name, which holds one value"),
        ("[[attribute]]\nscim = 'name[givenName eq \"G\"].familyName'\ncolumn = 'display_name'\n", "holds one value"),
        (
            "[[attribute]]\nscim = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value eq \"1\"].displayName'\nmeta = 'x'\n",
            "filters manager, which holds one value",
        ),
        # The core schema's URN names the same attributes.
        ("[[attribute]]\nscim = 'urn:ietf:params:scim:schemas:core:2.0:User:userName'\nmeta = 'x'\n", "always stored by wpscim itself"),
        ("[[attribute]]\nscim = 'urn:ietf:params:scim:schemas:core:2.0:User:externalId'\nmeta = 'x'\n", "always stored by wpscim itself"),
        ("[extension]\nurn = 'not-a-urn'\n", "urn must look like"),
        ("[[attribute]\nscim = 'title'\n", "Expected"),
        ("whatever = 1\n", "unknown top-level keys whatever"),
    ],
)
def test_broken_mapping_files_are_refused_with_line_and_problem(text, message):
    with pytest.raises(MappingError) as refused:
        parse_mapping(text, "site.toml")
    assert str(refused.value).startswith("site.toml") and message in str(refused.value)
