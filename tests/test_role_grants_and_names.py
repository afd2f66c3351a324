"""A provisioning token cannot grant a role that administers the site, give a role a name that reads
as another's, or make the autoloaded role list as long as it likes — judged by WordPress itself
(user_can, its roles, wp_dropdown_roles())."""

from __future__ import annotations

import pytest
from test_groups import make_users, wp_roles
from test_least_power import _add_role
from test_users_api import PATCH
from test_wordpress_sees import Scim

from wpscim.wordpress.roles import RolePolicy

pytestmark = pytest.mark.oracle


def _add_members(user_id: str) -> dict:
    return {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": user_id}]}]}


def _rename(name: str) -> dict:
    return {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": name}]}


def _refused(result, scim_type: str = "invalidValue") -> dict:
    assert result.status_code == 400, result.text
    assert result.json["scimType"] == scim_type, result.text
    return result.json


def _option(wp, name: str) -> str:
    return wp.sql("SELECT option_value FROM wp_options WHERE option_name = %s", (name,))[0][0]


@pytest.mark.parametrize("capability", ["manage_options", "promote_users", "edit_users", "delete_users", "install_plugins", "edit_files"])
def test_a_role_that_administers_is_never_granted(wp, api, capability):
    """A plugin's role with a capability that administers the site, or its administrators, is granted by
    no path: group PATCH and PUT, a group push that links to it, a User's roles."""
    _add_role(wp, "site_manager", "Site manager", {"read": True, "level_0": True, capability: True})
    (member,) = make_users(api, 1, prefix=f"mgr-{capability}")
    roles_before, events_before = _option(wp, "wp_user_roles"), wp.sql("SELECT COUNT(*) FROM wp_wpscim_events")
    for refused in (
        api.patch("/Groups/site_manager", json=_add_members(member)),
        api.put("/Groups/site_manager", json={"displayName": "Site manager", "members": [{"value": member}]}),
        api.post("/Groups", json={"displayName": "Site manager", "members": [{"value": member}]}),
        api.patch(
            f"/Users/{member}",
            json={"schemas": [PATCH], "Operations": [{"op": "add", "path": "roles", "value": [{"value": "site_manager"}]}]},
        ),
        api.post("/Users", json={"userName": "boss@example.com", "roles": [{"display": "Site manager"}]}),
    ):
        assert "never grants the role 'site_manager'" in _refused(refused)["detail"]
    assert wp_roles(wp, member) == ["subscriber"]
    assert not wp.oracle.user_can(int(member), capability)
    assert api.get("/Users", params={"filter": 'userName eq "boss@example.com"'}).json["totalResults"] == 0
    assert (_option(wp, "wp_user_roles"), wp.sql("SELECT COUNT(*) FROM wp_wpscim_events")) == (roles_before, events_before)
    # Taking it away stays allowed; ordinary roles are granted as before.
    holder = wp.oracle.insert_user(
        {"user_login": "holder", "user_email": "h@example.com", "user_pass": "Holder pw 1", "role": "site_manager"}
    )["id"]
    assert wp.oracle.user_can(holder, capability)
    remove = {"Operations": [{"op": "remove", "path": f'members[value eq "{holder}"]'}]}
    assert api.patch("/Groups/site_manager", json=remove).status_code == 200
    assert not wp.oracle.user_can(holder, capability)
    assert api.patch("/Groups/editor", json=_add_members(member)).status_code == 200
    assert wp.oracle.user_can(int(member), "edit_others_posts")


def test_administrator_is_never_granted_even_when_the_policy_lists_no_role(wp):
    api = wp.client(role_policy=RolePolicy(never_grant=frozenset()))
    (member,) = make_users(api, 1, prefix="admin-wanted")
    detail = _refused(api.patch("/Groups/administrator", json=_add_members(member)))["detail"]
    assert "never grants the role 'administrator'" in detail
    _refused(api.post("/Users", json={"userName": "root@example.com", "roles": [{"value": "administrator"}]}))
    assert not wp.oracle.user_can(int(member), "manage_options")
    assert wp_roles(wp, member) == ["subscriber"]


@pytest.mark.parametrize(
    "lookalike",
    [
        "Editor\u034f",  # combining grapheme joiner: no format character, yet drawn as nothing
        "Editor\u3164",  # Hangul filler
        "Edi\ufe0ftor",  # variation selector
        "Editor\u2800",  # Braille blank
        "Editor\U000e0100",  # a variation selector of the supplement
        "Edito\u0433",  # a Cyrillic letter drawn like no Latin one still mixes the scripts
    ],
)
def test_invisible_characters_make_no_new_name(wp, api, lookalike):
    before = wp.oracle.roles()
    answer = api.post("/Groups", json={"displayName": lookalike})
    if lookalike.endswith("\u0433"):
        _refused(answer)
    else:
        assert answer.status_code in (200, 201) and answer.json["id"] == "editor", answer.text
    assert wp.oracle.roles()["roles"].keys() == before["roles"].keys()


def test_role_names_that_look_like_another_are_that_role_or_refused(wp, api):
    before = wp.oracle.roles()
    for lookalike in ("Administrator\u034f", "Administrator\u3164", "ADMINISTRATOR\ufeff"):
        linked = api.post("/Groups", json={"displayName": lookalike})
        assert linked.status_code in (200, 201) and linked.json["id"] == "administrator", (lookalike, linked.text)
    # Only looking alike is no name of the role: linking would give another group's members its capabilities.
    for lookalike in ("Adrninistrator", "Administrat0r", "Administrat\u1d0fr"):
        alike = api.post("/Groups", json={"displayName": lookalike})
        assert alike.status_code == 409 and "role 'administrator' is already named 'Administrator'" in alike.json["detail"], alike.text
    for mixed, script in (
        ("\u0410dministrator", "Cyrillic"),
        ("Administr\u0430tor", "Cyrillic"),
        ("Edit\u03bfr", "Greek"),
        ("Sh\u043ep manager", "Cyrillic"),
    ):
        assert f"mixes Latin letters with {script}" in _refused(api.post("/Groups", json={"displayName": mixed}))["detail"]
    assert wp.oracle.roles() == before
    # A name right-to-left override turned around is kept without the override: it reads as it is stored.
    turned = api.post("/Groups", json={"displayName": "\u202erotartsinimdA"})
    assert turned.status_code == 201, turned.text
    assert turned.json["displayName"] == "rotartsinimdA"
    assert "\u202e" not in wp.oracle.dropdown_roles()
    # Renaming into another role's look-alike is refused, and WordPress's role list stays as it was.
    before = wp.oracle.roles()
    for lookalike in ("Administrator\u034f", "Administrator\u3164", "Adrninistrator", "\u2067Administrator\u2069"):
        taken = api.patch("/Groups/author", json=_rename(lookalike))
        assert taken.status_code == 409, (lookalike, taken.text)
    _refused(api.patch("/Groups/author", json=_rename("\u0410dministrator")))
    _refused(api.patch("/Groups/author", json=_rename("Edit\u03bfrs")))
    assert wp.oracle.roles() == before
    assert wp.oracle.dropdown_roles().count(">Administrator</option>") == 1


def test_a_whole_name_in_look_alike_letters_is_refused_not_linked(wp, api):
    _add_role(wp, "tax", "TAX", {"read": True})
    copied = api.post("/Groups", json={"displayName": "\u03a4\u0391\u03a7"})  # Greek capitals
    assert copied.status_code == 409 and "role 'tax'" in copied.json["detail"], copied.text
    (member,) = make_users(api, 1, prefix="taxlike")
    by_display = api.patch(
        f"/Users/{member}",
        json={"schemas": [PATCH], "Operations": [{"op": "add", "path": "roles", "value": [{"display": "\u03a4\u0391\u03a7"}]}]},
    )
    assert by_display.status_code == 400 and wp_roles(wp, member) == ["subscriber"], by_display.text
    # A name in another script that copies no Latin name is a name of its own.
    own = api.post("/Groups", json={"displayName": "\u0420\u0435\u0434\u0430\u043a\u0442\u043e\u0440\u044b"})
    assert own.status_code == 201, own.text
    assert wp.oracle.roles()["roles"][own.json["id"]]["name"] == "\u0420\u0435\u0434\u0430\u043a\u0442\u043e\u0440\u044b"


def test_role_names_and_group_external_ids_are_bounded(wp, api):
    roles_before, notes_before = (
        _option(wp, "wp_user_roles"),
        wp.sql("SELECT option_value FROM wp_options WHERE option_name = 'wpscim_groups'"),
    )
    for body in (
        {"displayName": "A" * 900_000},
        {"displayName": "A" * 101},
        {"displayName": "\u200b" * 101 + "Team"},
        {"displayName": "Team", "externalId": "x" * 256},
    ):
        detail = _refused(api.post("/Groups", json=body))["detail"]
        assert "longer than" in detail
    assert _option(wp, "wp_user_roles") == roles_before
    assert wp.sql("SELECT option_value FROM wp_options WHERE option_name = 'wpscim_groups'") == notes_before
    assert not wp.sql("SELECT 1 FROM wp_wpscim_events WHERE resource_type = 'Group'")
    created = api.post("/Groups", json={"displayName": "B" * 100, "externalId": "y" * 255})
    assert created.status_code == 201, created.text
    gid = created.json["id"]
    stored = wp.oracle.roles()["roles"][gid]
    assert stored["name"] == "B" * 100
    _refused(api.patch(f"/Groups/{gid}", json=_rename("C" * 101)))
    _refused(api.patch(f"/Groups/{gid}", json={"Operations": [{"op": "replace", "path": "externalId", "value": "z" * 256}]}))
    _refused(api.put(f"/Groups/{gid}", json={"displayName": "C" * 101}))
    _refused(api.put(f"/Groups/{gid}", json={"displayName": "B" * 100, "externalId": "z" * 256}))
    assert wp.oracle.roles()["roles"][gid] == stored
    assert api.get(f"/Groups/{gid}").json["externalId"] == "y" * 255
    # What an identity provider matches its group by holds no control characters, as a user's does not.
    assert "control characters" in _refused(api.post("/Groups", json={"displayName": "Ctl", "externalId": "okta\n1"}))["detail"]
    assert (
        "control characters"
        in _refused(api.patch(f"/Groups/{gid}", json={"Operations": [{"op": "replace", "path": "externalId", "value": "y\x00"}]}))["detail"]
    )
    assert api.get(f"/Groups/{gid}").json["externalId"] == "y" * 255
    # A longer name a role already has (a plugin's) is no rename: the identity provider's PUT keeps working.
    _add_role(wp, "long_named", "L" * 150, {"read": True})
    kept = api.put("/Groups/long_named", json={"displayName": "L" * 150, "externalId": "okta-1", "members": []})
    assert kept.status_code == 200, kept.text
    assert wp.oracle.roles()["roles"]["long_named"]["name"] == "L" * 150


def test_a_default_role_that_administers_is_not_given_to_new_users(wp, api):
    """A site whose default role for new users is one that administers (a setting WordPress allows):
    a create that names no role is refused, rather than making an administrator."""
    wp.sql("UPDATE wp_options SET option_value = 'administrator' WHERE option_name = 'default_role'")
    refused = _refused(api.post("/Users", json={"userName": "newcomer@example.com"}))
    assert "'administrator' (the site's default role for new users)" in refused["detail"]
    assert not wp.sql("SELECT ID FROM wp_users WHERE user_login = 'newcomer@example.com'")
    named = api.post("/Users", json={"userName": "named@example.com", "roles": [{"value": "subscriber"}]})
    assert named.status_code == 201, named.text
    assert wp_roles(wp, named.json["id"]) == ["subscriber"] and not wp.oracle.user_can(int(named.json["id"]), "manage_options")


def test_groups_create_no_more_roles_than_the_limit(wp):
    """WordPress loads every role on every page: a token cannot make the list as long as it likes. Roles
    a plugin made do not count, linking to a role is always allowed, deleting one makes room."""
    _add_role(wp, "plugin_role", "Plugin role", {"read": True})
    api = wp.client(role_policy=RolePolicy(max_created=2))
    made = [api.post("/Groups", json={"displayName": f"Team {n}"}) for n in (1, 2)]
    assert [m.status_code for m in made] == [201, 201], [m.text for m in made]
    roles_before, events_before = _option(wp, "wp_user_roles"), wp.sql("SELECT COUNT(*) FROM wp_wpscim_events")
    refused = api.post("/Groups", json={"displayName": "Team 3"})
    assert refused.status_code == 403, refused.text
    assert "at most 2 roles (--max-groups)" in refused.json["detail"]
    assert (_option(wp, "wp_user_roles"), wp.sql("SELECT COUNT(*) FROM wp_wpscim_events")) == (roles_before, events_before)
    assert "team_3" not in wp.oracle.roles()["roles"]
    for existing in ("Editor", "Plugin role", "Team 1"):
        linked = api.post("/Groups", json={"displayName": existing, "externalId": f"okta-{existing}"})
        assert linked.status_code == 201, linked.text
    assert api.delete(f"/Groups/{made[0].json['id']}").status_code == 204
    assert api.post("/Groups", json={"displayName": "Team 3"}).status_code == 201
    assert "team_3" in wp.oracle.roles()["roles"]


def test_the_group_limit_is_a_serve_setting(wp, serve):
    scim = Scim(*serve(role_policy=RolePolicy(max_created=0)))
    refused, error = scim("POST", "/Groups", {"displayName": "Brand new"})
    linked, _ = scim("POST", "/Groups", {"displayName": "Editor"})
    assert (refused, linked) == (403, 201)
    assert error["status"] == "403" and "(--max-groups)" in error["detail"]
