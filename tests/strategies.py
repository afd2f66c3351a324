"""Hypothesis strategies shared by the property tests: SCIM filters over the attributes where SQL
collations and Python disagree (accents, case, trailing spaces, ß/ss, LIKE wildcards, entities)."""

from __future__ import annotations

from hypothesis import strategies as st

from wpscim.scim.filter import AttrPath, Compare, Logical, Not, ValuePath

ALPHABET = "aAbBéÉß &%_@.-<>'\"\\zZ0"
text = st.text(alphabet=ALPHABET, max_size=8)
ops = st.sampled_from(["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"])
paths = st.sampled_from(
    [
        AttrPath("userName"),
        AttrPath("displayName"),
        AttrPath("nickName"),
        AttrPath("name", "givenName"),
        AttrPath("name", "familyName"),
        AttrPath("externalId"),
        AttrPath("title"),
        AttrPath("profileUrl"),
        AttrPath("locale"),
        AttrPath("emails", "value"),
        AttrPath("emails"),
        AttrPath("id"),
        AttrPath("meta", "created"),
        AttrPath("department", None, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
    ]
)
# Values near the stored ones, where collations and Python disagree: accents, case, trailing spaces,
# ß/ss, LIKE wildcards, HTML entities, locale spellings, dates.
NEAR = [
    "alice",
    "ALICE",
    "alice ",
    "Alice Zé",
    "alice ze",
    "Ze",
    "zé",
    "emile",
    "Emile",
    "émile",
    "ÉMILE",
    "ss",
    "ß",
    "tom & jerry",
    "Tom &amp; Jerry",
    "&amp;",
    "&",
    "a1",
    "A1",
    "c3",
    "bob_b",
    "bob%b",
    "bobxb",
    "Bob",
    "_",
    "%",
    "100% <c>",
    "100% ",
    "<c>",
    "c>",
    "en-US",
    "en_US",
    "EN-us",
    "de-DE",
    "boss",
    "Boss",
    "boss ",
    "ops",
    "Ops",
    "@example.com",
    "alice@example.com",
    "al@home.example",
    "bob@example.com",
    "https://b.example/%_x",
    "%_x",
    "1",
    "2",
    "3",
    "10",
    "2000-01-01T00:00:00Z",
    "2999-01-01T00:00:00Z",
    "work",
    "home",
    "",
]
values = st.one_of(st.sampled_from(NEAR), text, st.integers(-3, 30), st.booleans(), st.none())


def comparisons():
    plain = st.builds(Compare, paths, ops, values)
    present = st.builds(lambda p: Compare(p, "pr"), paths)
    active = st.builds(
        lambda op, v: Compare(AttrPath("active"), op, None if op == "pr" else v), st.sampled_from(["eq", "ne", "pr"]), st.booleans()
    )
    item = st.builds(Compare, st.sampled_from([AttrPath("value"), AttrPath("type"), AttrPath("primary")]), ops, values)
    value_path = st.builds(lambda f: ValuePath(AttrPath("emails"), f), item)
    return st.one_of(plain, present, active, value_path)


filters = st.recursive(
    comparisons(),
    lambda inner: st.one_of(st.builds(Logical, st.sampled_from(["and", "or"]), inner, inner), st.builds(Not, inner)),
    max_leaves=6,
)
