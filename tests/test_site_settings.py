"""The admin page's settings in the site's database (wpscim.wordpress.settings), in-process: which value
wins, how the mapping's layers stack, that the façade rebuilds its user store when the mapping changes and
reads the policies per request; and that a token's last use is written at most once a minute."""

from __future__ import annotations

import json
import time

import pytest

from wpscim.wordpress import settings as settings_module
from wpscim.wordpress.db import Database
from wpscim.wordpress.errors import Invalid
from wpscim.wordpress.mapping_file import MappingError, parse_entries
from wpscim.wordpress.roles import RolePolicy
from wpscim.wordpress.settings import SiteSettings
from wpscim.wordpress.storage import Storage
from wpscim.wordpress.tokens import USED_OPTION, TokenStore
from wpscim.wordpress.users import Policy

FILE = '[[attribute]]\nscim = "title"\nmeta = "job_title"\n'


def test_given_flags_win_then_the_page_then_the_defaults(wp):
    cli = Policy(deprovision="deactivate"), RolePolicy(never_grant=frozenset({"administrator"}), never_remove=frozenset({"editor"}))
    settings = SiteSettings(wp.db, wp.site, *cli, fixed=frozenset({"never_remove"}))
    settings.save_policy({"deprovision": "delete", "reassign_to": 1, "never_grant": ["author"]})
    with pytest.raises(Invalid, match="set by the command line"):
        settings.save_policy({"never_remove": []})
    with pytest.raises(Invalid, match="deprovision must be one of"):
        settings.save_policy({"deprovision": "vanish"})
    with pytest.raises(Invalid, match="there is no user 999999"):
        settings.save_policy({"reassign_to": 999999})
    current = settings.current()
    assert current.policy == Policy(deprovision="delete", reassign_to=1)
    assert current.role_policy.never_grant == frozenset({"author"}) and current.role_policy.never_remove == frozenset({"editor"})
    # Another process sees the page's values within CACHE_SECONDS, without a restart.
    other = SiteSettings(wp.db, wp.site, *cli)
    assert other.current().policy.deprovision == "delete"
    settings.save_policy({"deprovision": "deactivate"})
    assert other.current().policy.deprovision == "delete"  # cached …
    other._cache = (time.monotonic() - settings_module.CACHE_SECONDS - 1, other._cache[1])
    assert other.current().policy.deprovision == "deactivate"  # … for a few seconds only


def test_mapping_layers_and_the_stores_follow_them(wp):
    file_fields, _ = parse_entries(FILE, "site.toml")
    settings = SiteSettings(wp.db, wp.site, file_fields=file_fields, file_source="site.toml")
    storage = Storage(wp.db, wp.site, settings=settings)
    first = storage.users
    assert storage.users is first  # unchanged mapping: the same store
    # The page's entries are checked as a file's are, and the file's own entries are fixed.
    with pytest.raises(MappingError, match="meta 'wp_capabilities' holds WordPress's or wpscim's own state"):
        settings.save_mapping([{"scim": "nickName", "meta": "wp_capabilities"}])
    with pytest.raises(MappingError, match="title -> job_title is set by the mapping file site.toml"):
        settings.save_mapping([{"scim": "title", "meta": "position"}])
    with pytest.raises(MappingError, match="job_title is set by the mapping file"):
        settings.save_mapping([{"scim": "nickName", "meta": "job_title"}])
    # A path a client can make the page list (name sent as a list): mapped, every user read answered 500.
    with pytest.raises(MappingError, match="filters name, which holds one value"):
        settings.save_mapping([{"scim": 'name[type eq "x"].givenName', "meta": "first_name"}])
    settings.save_mapping([{"scim": "nickName", "meta": "alias"}, {"scim": "profileUrl", "meta": "homepage"}])
    mapping = storage.users.mapping
    assert storage.users is not first  # rebuilt for the new mapping
    assert mapping.by_path["nickname"].meta_key == "alias" and mapping.by_path["title"].meta_key == "job_title"
    assert mapping.by_path["profileurl"].meta_key == "homepage"
    assert "alias" in storage.users.reader.wanted[1] and mapping.source == "built-in + admin page + site.toml"
    assert json.loads(wp.sql("SELECT option_value FROM wp_options WHERE option_name = 'wpscim_settings'")[0][0])["mapping"][0] == {
        "scim": "nickName",
        "meta": "alias",
    }


def test_the_policies_are_read_per_request(wp):
    settings = SiteSettings(wp.db, wp.site)
    storage = Storage(wp.db, wp.site, Policy(), RolePolicy(), settings=settings)
    assert storage.users.policy.deprovision == "deactivate" and storage.roles.policy.never_grant == frozenset({"administrator"})
    settings.save_policy({"deprovision": "delete", "never_grant": []})
    assert storage.users.policy.deprovision == "delete" and storage.roles.policy.never_grant == frozenset()


def test_settings_due_are_read_before_a_request_takes_its_connection(wp):
    """With every read connection taken, a request that found the settings due inside its block waited
    for a second connection (the pool's timeout) before it could go on."""
    single = Database(wp.address, max_connections=1)
    settings = SiteSettings(single, wp.site)
    storage = Storage(single, wp.site, Policy(), RolePolicy(), settings=settings)
    try:
        for _ in range(2):
            settings.forget()  # due now
            started = time.monotonic()
            with storage.reading() as session:
                assert storage.users.policy.deprovision == "deactivate" and storage.roles.policy.never_grant == frozenset({"administrator"})
                session.execute("SELECT 1")
            assert time.monotonic() - started < 2
    finally:
        single.close()


def test_a_tokens_last_use_is_written_at_most_once_a_minute(wp):
    tokens = TokenStore(wp.db, wp.site)
    value = tokens.create("okta")
    assert tokens.list()[0]["last_used"] == ""

    def used() -> str:
        rows = wp.sql("SELECT option_value FROM wp_options WHERE option_name = %s", (USED_OPTION,))
        return rows[0][0] if rows else ""

    assert tokens.verify(value) == "okta"
    deadline = time.monotonic() + 5
    while not used():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first = used()
    assert value not in first and tokens.list()[0]["last_used"].endswith("Z")
    wp.sql("UPDATE wp_options SET option_value = '{}' WHERE option_name = %s", (USED_OPTION,))
    for _ in range(20):
        assert tokens.verify(value) == "okta"
    time.sleep(0.3)
    assert used() == "{}"  # not written again within the minute
    tokens._noted = {key: when - 61 for key, when in tokens._noted.items()}  # a minute later
    tokens.verify(value)
    deadline = time.monotonic() + 5
    while used() == "{}":
        assert time.monotonic() < deadline
        time.sleep(0.05)
