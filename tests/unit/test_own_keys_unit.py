"""A kept (unmapped) attribute's usermeta key `wpscim_<name>` is never one MySQL would take for a key
wpscim or WordPress keeps its own state in (it compares keys without case, accents or width); SCIM's
own read-only attributes are ignored (the database tests are in tests/test_own_keys.py)."""

from __future__ import annotations

import pytest

from wpscim.scim.resource import normalize_user
from wpscim.wordpress.errors import Invalid
from wpscim.wordpress.mapping import DEFAULT, DEFAULT_FIELDS, Field, Mapping
from wpscim.wordpress.mapping_file import MappingError, mappable_meta, parse_mapping


def _kept(mapping: Mapping, **attributes) -> dict:
    return mapping.to_storage({"userName": "u", **attributes}).residue


@pytest.mark.parametrize(
    "name", ["meta.lastModified", "meta.LASTMODIFIED", "META.created", "Meta.x", "id.value", "ID.x", "schemas.v", "groups.value"]
)
def test_scim_own_attributes_are_not_kept(name):
    assert _kept(DEFAULT, **{name: "1999-01-01T00:00:00Z"}) == {}


def test_the_core_urn_qualified_form_is_not_kept_either():
    user = normalize_user({"userName": "u", "urn:ietf:params:scim:schemas:core:2.0:User:meta.lastModified": "x"})
    assert DEFAULT.to_storage(user).residue == {}


@pytest.mark.parametrize(
    "name, message",
    [
        # Past the protocol's canonical spelling (a PATCH on a stored resource, a future caller):
        # still wpscim's own keys to MySQL.
        ("USERNAME", "wpscim's own usermeta keys"),
        ("EMAILS", "wpscim's own usermeta keys"),
        ("externalID", "wpscim's own usermeta keys"),
        ("_defaulted", "not a valid attribute name"),
        ("méta.lastModified", "not a valid attribute name"),
        ("userNáme", "not a valid attribute name"),
        ("meta.lastModiﬁed", "not a valid attribute name"),
    ],
)
def test_names_of_wpscim_keys_are_refused(name, message):
    with pytest.raises(Invalid, match=message) as refused:
        _kept(DEFAULT, **{name: "x"})
    assert name in str(refused.value)


def test_a_mapped_wpscim_key_is_not_kept_twice():
    """A key the mapping writes is wpscim's too: a kept attribute landing on it is refused."""
    mapping = Mapping((*DEFAULT_FIELDS, Field("title", meta_key="wpscim_badge")))
    with pytest.raises(Invalid, match="wpscim's own usermeta keys"):
        _kept(mapping, BADGE="x")


def test_two_spellings_of_one_key_are_refused():
    with pytest.raises(Invalid, match="spelled differently"):
        _kept(DEFAULT, badgeColour="red", BADGECOLOUR="blue")


def test_ordinary_attributes_are_kept():
    kept = _kept(DEFAULT, emails=[{"value": "a@example.com"}], badgeColour="red", identity="x", metadata=1, idp="okta")
    assert set(kept) == {"wpscim_emails", "wpscim_badgeColour", "wpscim_identity", "wpscim_metadata", "wpscim_idp"}


def test_a_legacy_row_of_scim_own_attributes_is_not_read_back():
    row = {"ID": 7, "user_login": "u", "user_email": "", "user_registered": "2020-01-01T00:00:00Z", "display_name": "u"}
    meta = {"wpscim_meta.LASTMODIFIED": '"x"', "wpscim_badge": '"b"'}
    user = DEFAULT.from_storage(row, meta)
    assert "meta.LASTMODIFIED" not in user and user["badge"] == "b"


@pytest.mark.parametrize(
    "entry, message",
    [
        ("scim = 'title'\nmeta = 'wp_capabilitiés'", "must be ASCII"),
        ("scim = 'title'\nmeta = 'ｗpscim_userName'", "must be ASCII"),
        ("scim = 'id'\nmeta = 'x'", "read-only"),
        ("scim = 'groups.value'\nmeta = 'x'", "read-only"),
    ],
)
def test_a_mapping_cannot_reach_those_keys_either(entry, message):
    with pytest.raises(MappingError, match=message):
        parse_mapping(f"[[attribute]]\n{entry}\n")
    assert not mappable_meta("wp_capabilitiés") and mappable_meta("billing_phone")
