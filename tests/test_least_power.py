"""A provisioning token provisions; it cannot make administrators, take over an administrator's account,
or dress one role up as another — judged by WordPress itself (user_can, wp_authenticate, its role list).

WordPress merges a user's role slugs into the user's capabilities (WP_User::get_role_caps()), so a role
whose slug is a capability grants it: wpscim never creates or grants such a role."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ADMIN_PASSWORD
from test_groups import make_users, wp_roles
from test_users_api import PATCH

from wpscim.wordpress.roles import CORE_CAPABILITIES, RolePolicy
from wpscim.wordpress.site import serialize, unserialize

pytestmark = pytest.mark.oracle

WORDPRESS = Path("/usr/share/wordpress")


def _add_role(wp, slug: str, name: str, capabilities: dict) -> None:
    """A role as a plugin (not wpscim) adds it."""
    raw = wp.sql("SELECT option_value FROM wp_options WHERE option_name = 'wp_user_roles'")[0][0]
    definitions = unserialize(raw)
    definitions[slug] = {"name": name, "capabilities": capabilities}
    wp.sql("UPDATE wp_options SET option_value = %s WHERE option_name = 'wp_user_roles'", (serialize(definitions),))


def test_core_capabilities_are_wordpress_own():
    """CORE_CAPABILITIES holds every capability WordPress's populate_roles() and map_meta_cap() name."""
    schema = (WORDPRESS / "wp-admin/includes/schema.php").read_text()
    capabilities = (WORDPRESS / "wp-includes/capabilities.php").read_text()
    meta_caps = capabilities[capabilities.index("function map_meta_cap") : capabilities.index("function current_user_can")]
    named = set(re.findall(r"add_cap\(\s*'([a-z_0-9]+)'", schema))
    named |= set(re.findall(r"case '([a-z_0-9]+)'", meta_caps))
    named |= set(re.findall(r"\$caps\[\]\s*=\s*'([a-z_0-9]+)'", meta_caps))
    named = {cap for cap in named if not re.fullmatch(r"level_\d+", cap)}  # is_capability() matches level_N itself
    assert len(named) > 100
    assert named <= CORE_CAPABILITIES, sorted(named - CORE_CAPABILITIES)


@pytest.mark.parametrize("name", ["manage_options", "promote_users", "Edit Users", "unfiltered_html", "level_10", "list_users"])
def test_a_group_named_after_a_capability_grants_nothing_more(wp, api, name):
    (member,) = make_users(api, 1, prefix=f"cap-{name.replace(' ', '')}")
    created = api.post("/Groups", json={"displayName": name, "members": [{"value": member}]})
    assert created.status_code == 201, created.text
    slug = created.json["id"]
    assert slug != name.lower().replace(" ", "_") and slug.endswith("_2"), slug
    assert created.json["displayName"] == name
    assert slug in wp_roles(wp, member)
    capability = name.lower().replace(" ", "_")
    assert not wp.oracle.user_can(int(member), capability)
    assert not wp.oracle.user_can(int(member), "manage_options")
    # The only administrator is still the only one: it cannot be taken away.
    assert api.delete("/Users/1").status_code == 409
    assert wp.oracle.authenticate("admin", ADMIN_PASSWORD)["ok"]


def test_a_role_whose_slug_is_a_capability_is_never_granted(wp, api):
    _add_role(wp, "edit_users", "User editors", {"read": True})
    _add_role(wp, "vip_access", "VIP", {"read": True})
    _add_role(wp, "vip", "VIP members", {"read": True, "vip_access": True})  # a plugin's own capability
    (member,) = make_users(api, 1, prefix="slugcap")
    add = {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": member}]}]}
    for slug in ("edit_users", "vip_access"):
        refused = api.patch(f"/Groups/{slug}", json=add)
        assert refused.status_code == 400 and "capability" in refused.json["detail"], refused.text
        as_role = api.patch(
            f"/Users/{member}", json={"schemas": [PATCH], "Operations": [{"op": "add", "path": "roles", "value": [{"value": slug}]}]}
        )
        assert as_role.status_code == 400 and "capability" in as_role.json["detail"], as_role.text
        assert slug not in wp_roles(wp, member)
    assert not wp.oracle.user_can(int(member), "edit_users")
    # A role whose slug is no capability is granted as before; taking a capability-named role away is allowed.
    assert api.patch("/Groups/vip", json=add).status_code == 200
    assert wp.oracle.user_can(int(member), "vip_access")
    wp.sql(
        "UPDATE wp_usermeta SET meta_value = %s WHERE user_id = %s AND meta_key = 'wp_capabilities'",
        (serialize({"subscriber": True, "edit_users": True}), int(member)),
    )
    remove = {"schemas": [PATCH], "Operations": [{"op": "remove", "path": f'members[value eq "{member}"]'}]}
    assert api.patch("/Groups/edit_users", json=remove).status_code == 200
    assert not wp.oracle.user_can(int(member), "edit_users")


def _patch(api, user_id, path, value):
    return api.patch(f"/Users/{user_id}", json={"schemas": [PATCH], "Operations": [{"op": "replace", "path": path, "value": value}]})


def test_an_administrators_sign_in_is_not_changed_through_scim(wp, api):
    before = wp.oracle.get_user(1)
    for path, value in (
        ("password", "Taken-over 1"),
        ("emails", [{"value": "attacker@example.net", "primary": True}]),
        ("userName", "pwned"),
    ):
        refused = _patch(api, 1, path, value)
        assert refused.status_code == 403, refused.text
        assert "administers the site" in refused.json["detail"] and "--allow-administrator-credentials" in refused.json["detail"]
    put = api.get("/Users/1").json
    put["userName"] = "pwned"
    assert api.put("/Users/1", json=put).status_code == 403
    assert wp.oracle.authenticate("admin", ADMIN_PASSWORD)["ok"]
    assert not wp.oracle.authenticate("admin", "Taken-over 1")["ok"]
    after = wp.oracle.get_user(1)
    assert (after["user_login"], after["user_email"]) == (before["user_login"], before["user_email"])
    assert not wp.sql("SELECT 1 FROM wp_wpscim_events WHERE resource_type = 'User' AND resource_id = '1'")
    # What is not how the administrator signs in still syncs.
    assert _patch(api, 1, "name.givenName", "Ada").status_code == 200
    assert wp.oracle.get_user(1)["first_name"] == "Ada"
    # A user who does not administer the site: its sign-in is the identity provider's.
    second = wp.oracle.insert_user({"user_login": "editor2", "user_email": "e2@example.com", "user_pass": "Second pw 1", "role": "editor"})[
        "id"
    ]
    assert _patch(api, second, "password", "Changed pw 2").status_code == 200
    assert wp.oracle.authenticate("editor2", "Changed pw 2")["ok"]


def test_who_can_take_over_an_administrator_keeps_their_sign_in_too(wp, api):
    """edit_users sets any user's password and promote_users gives any role: their holders — through a
    plugin's role or their own capabilities — and a user whose administrator role is stored with a false
    value (WordPress counts every role key) are as good as administrators, so SCIM leaves how they sign in
    alone. WordPress itself says what each of them can do."""
    _add_role(wp, "site_manager", "Site manager", {"read": True, "list_users": True, "edit_users": True, "promote_users": True})
    holders = {
        "manager": ({"site_manager": True}, "promote_users"),
        "helper": ({"subscriber": True, "edit_users": True}, "edit_users"),
        "falsy": ({"administrator": False}, "manage_options"),
    }
    for login, (caps, capability) in holders.items():
        uid = wp.oracle.insert_user({"user_login": login, "user_email": f"{login}@example.com", "user_pass": "Own pw 1"})["id"]
        wp.sql("UPDATE wp_usermeta SET meta_value = %s WHERE user_id = %s AND meta_key = 'wp_capabilities'", (serialize(caps), uid))
        assert wp.oracle.user_can(uid, capability), login
        for path, value in (("password", "Taken-over 1"), ("emails", [{"value": f"x{login}@example.net"}]), ("userName", f"x{login}")):
            refused = _patch(api, uid, path, value)
            assert refused.status_code == 403, (login, path, refused.text)
            assert "administers the site or its administrators" in refused.json["detail"]
        assert wp.oracle.authenticate(login, "Own pw 1")["ok"], login
        assert wp.oracle.get_user(uid)["user_email"] == f"{login}@example.com"
        assert _patch(api, uid, "name.givenName", "Still synced").status_code == 200
    # Taking the capability away gives the user's sign-in back to the identity provider.
    helper = wp.sql("SELECT ID FROM wp_users WHERE user_login = 'helper'")[0][0]
    wp.sql(
        "UPDATE wp_usermeta SET meta_value = %s WHERE user_id = %s AND meta_key = 'wp_capabilities'",
        (serialize({"subscriber": True}), helper),
    )
    assert _patch(api, helper, "password", "Idp pw 2").status_code == 200
    assert wp.oracle.authenticate("helper", "Idp pw 2")["ok"]


def test_the_site_may_let_scim_change_administrators_sign_in(wp):
    api = wp.client(role_policy=RolePolicy(administrator_credentials=True))
    assert _patch(api, 1, "password", "Rotated by the IdP 1").status_code == 200
    assert wp.oracle.authenticate("admin", "Rotated by the IdP 1")["ok"]
    assert not wp.oracle.authenticate("admin", ADMIN_PASSWORD)["ok"]


def test_role_names_that_read_alike_are_one_role(wp, api):
    for lookalike in ("Editor\u200b", "\uff25ditor", " editor ", "EDITOR\u200e"):
        linked = api.post("/Groups", json={"displayName": lookalike})
        assert linked.status_code in (200, 201) and linked.json["id"] == "editor", (lookalike, linked.text)
    before = wp.oracle.roles()
    taken = api.patch("/Groups/author", json={"Operations": [{"op": "replace", "path": "displayName", "value": "Administrator\u200b"}]})
    assert taken.status_code == 409, taken.text
    assert wp.oracle.roles() == before


def test_administrator_roles_keep_their_names(wp, api):
    before = wp.oracle.roles()
    assert (
        api.patch("/Groups/subscriber", json={"Operations": [{"op": "replace", "path": "displayName", "value": "Members"}]}).status_code
        == 200
    )
    refused = api.patch("/Groups/administrator", json={"Operations": [{"op": "replace", "path": "displayName", "value": "Subscriber"}]})
    assert refused.status_code == 400 and refused.json["scimType"] == "mutability", refused.text
    assert wp.oracle.roles()["roles"]["administrator"] == before["roles"]["administrator"]
    # A role a plugin made that administers the site keeps its name too.
    _add_role(wp, "site_manager", "Site manager", {"read": True, "manage_options": True})
    renamed = api.patch("/Groups/site_manager", json={"Operations": [{"op": "replace", "path": "displayName", "value": "Helpers"}]})
    assert renamed.status_code == 400
