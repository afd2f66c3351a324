"""Writes that must not get past the site's protections: the last administrator locked out by a role
change and a deactivation in one PATCH, a create sent again with another password, a locale WordPress
would load a file by, a joined value WordPress would have filtered, and the observed paths option."""

from __future__ import annotations

import json
import time

import pytest
from conftest import ADMIN_PASSWORD, Api
from test_users_api import ENTERPRISE, PATCH, new_user

from wpscim.app import create_app
from wpscim.scim.resource import normalize_user, validate_user
from wpscim.wordpress import observed
from wpscim.wordpress.errors import Conflict
from wpscim.wordpress.mapping_file import parse_mapping
from wpscim.wordpress.tokens import TokenStore
from wpscim.wordpress.users import writing

ADMIN_AND_OWN_CAP = 'a:2:{s:13:"administrator";b:1;s:14:"manage_options";b:1;}'
DEMOTE_AND_DEACTIVATE = {
    "schemas": [PATCH],
    "Operations": [
        {"op": "replace", "path": "roles", "value": [{"value": "subscriber"}]},
        {"op": "replace", "path": "active", "value": False},
    ],
}


def _caps(wp, user_id: int) -> str:
    return wp.sql("SELECT meta_value FROM wp_usermeta WHERE user_id = %s AND meta_key = 'wp_capabilities'", (user_id,))[0][0]


def _meta(wp, user_id: int, key: str) -> str | None:
    rows = wp.sql("SELECT meta_value FROM wp_usermeta WHERE user_id = %s AND meta_key = %s", (user_id, key))
    return rows[0][0] if rows else None


# --- the last administrator --------------------------------------------------------------------


def test_demoting_and_deactivating_the_last_administrator_at_once_is_refused(wp, api):
    # manage_options of its own keeps the user an administrator once the role is gone: the suspension
    # would lock out the site's last one.
    wp.sql("UPDATE wp_usermeta SET meta_value = %s WHERE user_id = 1 AND meta_key = 'wp_capabilities'", (ADMIN_AND_OWN_CAP,))
    for operations in (DEMOTE_AND_DEACTIVATE["Operations"], DEMOTE_AND_DEACTIVATE["Operations"][::-1]):
        result = api.patch("/Users/1", json={"schemas": [PATCH], "Operations": operations})
        assert result.status_code == 409, result.text
        assert result.json["scimType"] == "mutability" and "administrator who can log in" in result.json["detail"]
    assert _caps(wp, 1) == ADMIN_AND_OWN_CAP
    assert wp.oracle.authenticate("admin", ADMIN_PASSWORD)["ok"] and wp.oracle.user_can(1, "manage_options")
    assert not wp.sql("SELECT 1 FROM wp_wpscim_events WHERE resource_id = '1'")


def test_demoting_and_deactivating_one_of_two_administrators_at_once_is_allowed(wp, api):
    second = wp.oracle.insert_user(
        {"user_login": "admin2", "user_email": "a2@example.com", "user_pass": "Second pw 1", "role": "administrator"}
    )
    wp.sql("UPDATE wp_usermeta SET meta_value = %s WHERE user_id = 1 AND meta_key = 'wp_capabilities'", (ADMIN_AND_OWN_CAP,))
    result = api.patch("/Users/1", json=DEMOTE_AND_DEACTIVATE)
    assert result.status_code == 200, result.text
    assert result.json["active"] is False and not wp.oracle.authenticate("admin", ADMIN_PASSWORD)["ok"]
    assert wp.oracle.authenticate("admin2", "Second pw 1")["ok"] and wp.oracle.user_can(second["id"], "manage_options")


# --- a create sent again ---------------------------------------------------------------------


@pytest.fixture
def replay_after_a_second(monkeypatch):
    monkeypatch.setattr(writing, "REPLAY_AFTER_SECONDS", 1)  # a create sent again after 1 s is a retry, not 5 s


def test_a_create_sent_again_with_another_password_is_a_duplicate(wp, api, replay_after_a_second):
    body = new_user("replay.pw@example.com", password="First-Passw0rd")
    first = api.post("/Users", json=body)
    assert first.status_code == 201, first.text
    time.sleep(writing.REPLAY_AFTER_SECONDS + 0.2)
    retried = api.post("/Users", json=body)  # the same password: the create's lost answer, sent again
    assert retried.status_code == 201 and retried.json["id"] == first.json["id"], retried.text
    again = api.post("/Users", json={**body, "password": "Other-Passw0rd"})
    assert again.status_code == 409 and again.json["scimType"] == "uniqueness", again.text
    assert wp.oracle.authenticate("replay.pw@example.com", "First-Passw0rd")["ok"]
    assert not wp.oracle.authenticate("replay.pw@example.com", "Other-Passw0rd")["ok"]
    # Without a password, nothing goes unapplied: still the create's lost answer sent again.
    assert api.post("/Users", json={k: v for k, v in body.items() if k != "password"}).json["id"] == first.json["id"]


@pytest.mark.parametrize("active", [True, False])
def test_a_create_sent_again_is_answered_only_with_the_password_the_user_has(wp, replay_after_a_second, active):
    storage = wp.storage()
    users = storage.users

    def create(password: str, request_id: str) -> dict:
        user = normalize_user(new_user(f"replay.{active}@example.com", active=active))
        validate_user(user)
        with storage.transaction("replaying", request_id) as tx:
            return users.writer.create(tx, user, users.hash_password(password), password)

    first = create("Same-Passw0rd", "r1")
    time.sleep(writing.REPLAY_AFTER_SECONDS + 0.2)
    assert create(" Same-Passw0rd ", "r2")["id"] == first["id"]  # WordPress hashes the trimmed password
    with pytest.raises(Conflict):
        create("Same-Passw0rd2", "r3")
    assert len(wp.sql("SELECT ID FROM wp_users WHERE user_login = %s", (f"replay.{active}@example.com",))) == 1


# --- locales -------------------------------------------------------------------------------------

BAD_LOCALES = ["../../evil", "en_US<script>", "en_US/../../x", "en_US\n", "en_US\x00", "en_US.mo", "en US", "x" * 65]


@pytest.mark.parametrize("locale", BAD_LOCALES)
def test_a_locale_that_could_name_another_file_is_refused_on_create(wp, api, locale):
    result = api.post("/Users", json=new_user("loc@example.com", locale=locale))
    assert result.status_code == 400 and result.json["scimType"] == "invalidValue", result.text
    assert "locale" in result.json["detail"]
    assert not wp.sql("SELECT ID FROM wp_users WHERE user_login = 'loc@example.com'")


@pytest.mark.parametrize("locale", BAD_LOCALES[:3])
def test_a_locale_that_could_name_another_file_is_refused_on_patch_and_put(wp, api, locale):
    created = api.post("/Users", json=new_user("loc@example.com", locale="de-DE"))
    assert created.status_code == 201, created.text
    uid = created.json["id"]
    for result in (
        api.patch(f"/Users/{uid}", json={"schemas": [PATCH], "Operations": [{"op": "replace", "path": "locale", "value": locale}]}),
        api.patch(f"/Users/{uid}", json={"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"locale": locale}}]}),
        api.put(f"/Users/{uid}", json=new_user("loc@example.com", locale=locale)),
    ):
        assert result.status_code == 400 and result.json["scimType"] == "invalidValue", result.text
    assert _meta(wp, int(uid), "locale") == "de_DE"


@pytest.mark.parametrize(
    "locale, stored",
    [("en-US", "en_US"), ("de_DE_formal", "de_DE_formal"), ("pt-PT-ao90", "pt_PT_ao90"), ("fr", "fr"), ("e", "e")],
)
def test_language_tags_are_stored_as_wordpress_names_them(wp, api, locale, stored):
    created = api.post("/Users", json=new_user("loc@example.com", locale=locale))
    assert created.status_code == 201, created.text
    assert _meta(wp, int(created.json["id"]), "locale") == stored and created.json["locale"] == stored.replace("_", "-")


def test_an_attribute_mapped_to_the_locale_key_is_checked_too(wp):
    user_mapping, _ = parse_mapping('[[attribute]]\nscim = "preferredLanguage"\nmeta = "locale"\n')
    api = Api(create_app(wp.storage(user_mapping=user_mapping)), TokenStore(wp.db, wp.site).create("lang"))
    refused = api.post("/Users", json=new_user("lang@example.com", preferredLanguage="../../../uploads/x"))
    assert refused.status_code == 400 and refused.json["scimType"] == "invalidValue", refused.text
    assert not wp.sql("SELECT ID FROM wp_users WHERE user_login = 'lang@example.com'")
    created = api.post("/Users", json=new_user("lang@example.com", preferredLanguage="nl_NL"))
    assert created.status_code == 201 and _meta(wp, int(created.json["id"]), "locale") == "nl_NL"


# --- joined values -------------------------------------------------------------------------------


def test_joined_values_are_filtered_as_wordpress_filters_them(new_wp):
    ours, theirs = new_wp(), new_wp()
    user_mapping, _ = parse_mapping(
        f'[[attribute]]\nscim = "title"\nmeta = "description"\ntransform = "join"\nfrom = ["title", "{ENTERPRISE}:department"]\n\n'
        '[[attribute]]\nscim = "userType"\ncolumn = "user_url"\ntransform = "join"\nfrom = ["userType"]\n'
    )
    api = Api(create_app(ours.storage(user_mapping=user_mapping)), TokenStore(ours.db, ours.site).create("join"))
    title, url = "<script>alert(1)</script>", "javascript:alert(1)"
    created = api.post(
        "/Users", json=new_user("join@example.com", title=title, userType=url, **{ENTERPRISE: {"department": "<b>Sales</b>"}})
    )
    assert created.status_code == 201, created.text
    uid = int(created.json["id"])
    reference = theirs.oracle.insert_user(
        {
            "user_login": "join",
            "user_email": "join@example.com",
            "user_pass": "x-unused-Passw0rd",
            "description": f"{title} <b>Sales</b>",
            "user_url": url,
        }
    )
    description = _meta(ours, uid, "description")
    assert description == _meta(theirs, reference["id"], "description") and "<script" not in description
    ours_url = ours.sql("SELECT user_url FROM wp_users WHERE ID = %s", (uid,))[0][0]
    assert ours_url == theirs.sql("SELECT user_url FROM wp_users WHERE ID = %s", (reference["id"],))[0][0]
    assert "javascript" not in ours_url


# --- observed attribute paths --------------------------------------------------------------------


def test_observed_paths_are_bounded(wp):
    storage = wp.storage()
    api = Api(create_app(storage), TokenStore(wp.db, wp.site).create("observer"))

    def option() -> str:
        rows = wp.sql("SELECT option_value FROM wp_options WHERE option_name = %s", (observed.OPTION,))
        return rows[0][0] if rows else ""

    for n in range(5):
        metadata = {f"k{n}_{i:04d}": i for i in range(2000)}
        deep = {"a": {"b": {"c": {"d": n}}}, "x" * 250: 1}
        result = api.post("/Users", json=new_user(f"obs{n}@example.com", metadata=metadata, deep=deep))
        assert result.status_code == 201, result.text
        if n == 1:
            full = option()
    paths = json.loads(option())
    assert len(paths) == 500 and len(storage.observed._known) <= 500
    assert option() == full  # once full, not rewritten by every request that brings new names
    assert all(len(path) <= 200 and path.count(".") <= 1 for path in paths)
    # What the list is for stays: the attributes the IdP sent, the shortest (most general) first.
    assert {"userName", "name.givenName", 'emails[type eq "work"].value', "deep.a", "metadata.k0_0000"} <= set(paths)
