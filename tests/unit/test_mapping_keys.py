"""Mapped usermeta keys are ones MySQL cannot take for another key: its collations ignore trailing spaces
and control characters, so `wp_capabilities ` would be WordPress's own capabilities row to an UPDATE."""

from __future__ import annotations

import pytest

from wpscim.wordpress.mapping_file import MappingError, mappable_meta, parse_mapping


@pytest.mark.parametrize(
    "key",
    [
        "wp_capabilities ",
        "wp_capabilities\\u0001",
        "wp_capabilities\\t",
        "session_tokens\\u0000",
        "billing phone",
        "billing.phone",
        "o'brien",
        "a/b",
    ],
)
def test_a_key_with_anything_but_letters_digits_underscores_and_hyphens_is_refused(key):
    with pytest.raises(MappingError) as refused:
        parse_mapping(f'[[attribute]]\nscim = "title"\nmeta = "{key}"\n', "site.toml")
    message = str(refused.value)
    assert message.startswith("site.toml: line 1: meta ") and "letters, digits, _ and -" in message
    assert not mappable_meta(key.encode().decode("unicode_escape"))


@pytest.mark.parametrize("key", ["billing_phone", "job-title", "Shop_Tier2", "_billing_company"])
def test_plain_keys_are_mapped(key):
    user_mapping, _ = parse_mapping(f'[[attribute]]\nscim = "title"\nmeta = "{key}"\n')
    assert user_mapping.by_path["title"].meta_key == key


@pytest.mark.parametrize("key", ["wp_capabilities", "WP_User_Level", "session_tokens", "wpscim_title", "wp_2_capabilities"])
def test_keys_of_wordpress_and_wpscim_state_stay_refused(key):
    with pytest.raises(MappingError, match="holds WordPress's or wpscim's own state"):
        parse_mapping(f'[[attribute]]\nscim = "title"\nmeta = "{key}"\n')
