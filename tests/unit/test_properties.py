"""Property-based tests (hypothesis) of what needs no database: the filter parser, the PATCH engine,
and the fast paths of WordPress's sanitizers against the full filters (which the oracle tier judges
against WordPress itself)."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st
from strategies import filters, text

from wpscim.scim.errors import ScimError
from wpscim.scim.filter import parse, unparse
from wpscim.scim.patch import apply_patch
from wpscim.scim.resource import normalize_user


@given(filters)
def test_unparse_then_parse_round_trips(expr):
    assert parse(unparse(expr)) == expr


@given(st.text(max_size=60))
def test_the_parser_never_crashes(raw):
    try:
        parse(raw)
    except ScimError as error:
        assert error.status == 400 and error.scim_type == "invalidFilter"


@given(st.text(alphabet='abc eqnotrp()[]"\\.:', max_size=40))
def test_the_parser_never_crashes_on_filter_like_text(raw):
    try:
        parse(raw)
    except ScimError as error:
        assert error.status == 400 and error.scim_type == "invalidFilter"


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), text),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)),
    max_leaves=8,
)
operations = st.lists(
    st.fixed_dictionaries(
        {"op": st.sampled_from(["add", "replace", "remove", "Replace", "bogus"])},
        optional={
            "path": st.one_of(
                st.sampled_from(
                    [
                        "title",
                        "name.givenName",
                        "emails",
                        'emails[type eq "work"].value',
                        "active",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                        "members[",
                        "password",
                        "id",
                        "userName",
                    ]
                ),
                text,
            ),
            "value": json_values,
        },
    ),
    max_size=4,
)


@given(operations)
# Found by CI: a sub-attribute holding only nulls left an empty complex value that a second
# normalisation removed (normalize_user was not idempotent).
@example([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": {"": None}}])
def test_patch_never_crashes_and_leaves_a_canonical_user(ops_list):
    user = normalize_user({"userName": "u", "emails": [{"value": "u@example.com", "type": "work"}], "title": "T"})
    try:
        result = apply_patch(user, {"Operations": ops_list})
    except ScimError as error:
        assert 400 <= error.status < 500
        return
    assert normalize_user(result.resource) == result.resource  # already canonical


# The naming fast paths (texts no WordPress filter step changes) must give what the full filters
# give; the full filters are judged against WordPress itself in test_naming_oracle.py.
NAME_ALPHABET = "aZ09 _.@-éß\u00a0\t\n<>&%'\"\\;#x\x00\x7f\ud800"
names = st.text(alphabet=NAME_ALPHABET, max_size=12) | st.from_regex(r"[A-Za-z0-9_.@-]{1,5}( [A-Za-z0-9_.@é-]{1,5}){0,3}", fullmatch=True)


@settings(max_examples=3000, deadline=None)
@given(names)
def test_naming_fast_paths_agree_with_the_full_filters(text):
    from wpscim.wordpress import naming

    assert naming.sanitize_user(text) == naming._sanitize_user(text)
    assert naming.sanitize_title(text) == naming._sanitize_title(text)
    assert naming.store_name.__wrapped__(text) == naming._store_name(text)


# Texts the user_url / user_email / description fast paths take, near misses, and random text.
URL_ALPHABET = "aZ09-._~:/?#@!$()*+,=%dDAj &;'\"<>\\[]\x00\té"
urls = (
    st.builds(
        "".join,
        st.lists(
            st.sampled_from(
                [
                    "http://",
                    "https://",
                    "HTTP://",
                    "http:",
                    "//",
                    "%0d",
                    "%0A",
                    "%0",
                    "%",
                    "d",
                    "a",
                    "x.test",
                    ":80",
                    "/",
                    "?",
                    "#",
                    "&",
                    ";",
                    "[",
                    "]",
                    "'",
                    " ",
                    "javascript:",
                    ".php",
                    "~",
                    "@",
                    "=",
                ]
            ),
            max_size=8,
        ),
    )
    | st.text(alphabet=URL_ALPHABET, max_size=16)
    | st.from_regex(r"https?://[A-Za-z0-9\-._~:/?#@!$()*+,=%]{0,12}", fullmatch=True)
)
EMAIL_ALPHABET = "aZ09._+-@ \t'\"&<>;#%\\é[]\x00"
emails = st.text(alphabet=EMAIL_ALPHABET, max_size=16) | st.from_regex(
    r"[A-Za-z0-9._+-]{1,6}@[A-Za-z0-9-]{1,5}(\.[A-Za-z0-9-]{1,4}){1,3}", fullmatch=True
)
DESCRIPTION_ALPHABET = "ab <>/=\"'&;#!-\n\r\t\\\x00\x01\x0b\x7féwp:{}"
descriptions = (
    st.text(alphabet=DESCRIPTION_ALPHABET, max_size=20)
    | st.text(max_size=20)
    | st.builds(
        "".join,
        st.lists(
            st.sampled_from(["<b>", "</b>", "<a href='x'>", "<!--", "-->", "<!-- wp:p -->", "&amp;", "&", "x", " ", "\n", '\\"', "\x00"]),
            max_size=6,
        ),
    )
)


@settings(max_examples=3000, deadline=None)
@given(urls, emails, descriptions)
def test_user_field_fast_paths_agree_with_the_full_filters(url, email, description):
    from wpscim.wordpress import userfields

    assert userfields.store_url.__wrapped__(url) == userfields._store_url(url)
    assert userfields.store_email.__wrapped__(email) == userfields._store_email(email)
    assert userfields.store_description.__wrapped__(description) == userfields._store_description(description)
