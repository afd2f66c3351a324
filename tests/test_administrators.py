"""SCIM never leaves a site without an administrator who can log in, whatever the flags: emptying the
administrator role, deactivating or deleting the last administrator, taking the role away, or
deleting an administrator role are refused (409 mutability) and change nothing — judged by WordPress."""

from __future__ import annotations

import threading

from conftest import ADMIN_PASSWORD
from test_users_api import PATCH

from wpscim.wordpress.roles import RolePolicy
from wpscim.wordpress.site import serialize
from wpscim.wordpress.users import Policy


def _refused(result) -> None:
    assert result.status_code == 409, result.text
    assert result.json["scimType"] == "mutability" and "administrator who can log in" in result.json["detail"]


def _admin_intact(wp) -> None:
    assert wp.oracle.authenticate("admin", ADMIN_PASSWORD)["ok"]
    assert wp.oracle.user_can(1, "manage_options")


def test_the_last_administrator_cannot_be_taken_away(wp):
    api = wp.client(role_policy=RolePolicy(never_grant=frozenset(), allow_delete=True))
    deactivate = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}
    _refused(api.patch("/Users/1", json=deactivate))
    _refused(api.delete("/Users/1"))
    _refused(api.put("/Groups/administrator", json={"displayName": "Administrator", "members": []}))
    _refused(api.patch("/Groups/administrator", json={"Operations": [{"op": "remove", "path": 'members[value eq "1"]'}]}))
    _refused(api.patch("/Groups/administrator", json={"Operations": [{"op": "replace", "path": "members", "value": []}]}))
    _refused(
        api.patch("/Users/1", json={"schemas": [PATCH], "Operations": [{"op": "replace", "path": "roles", "value": [{"value": "editor"}]}]})
    )
    _refused(api.delete("/Groups/administrator"))
    _admin_intact(wp)
    assert not wp.sql("SELECT 1 FROM wp_wpscim_events WHERE resource_id = '1' OR resource_id = 'administrator'")
    # With --deprovision delete, active:false deletes: the last administrator is not deleted either.
    deleting = wp.client(Policy(deprovision="delete"))
    _refused(deleting.patch("/Users/1", json=deactivate))
    _admin_intact(wp)


def test_one_of_two_administrators_may_go_but_not_both(wp, api):
    second = wp.oracle.insert_user(
        {"user_login": "admin2", "user_email": "a2@example.com", "user_pass": "Second pw 1", "role": "administrator"}
    )["id"]
    deactivate = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}
    assert api.patch(f"/Users/{second}", json=deactivate).status_code == 200
    assert not wp.oracle.authenticate("admin2", "Second pw 1")["ok"]
    _refused(api.patch("/Users/1", json=deactivate))  # admin2 is an administrator who cannot log in
    assert (
        api.patch(f"/Users/{second}", json={"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": True}}]}).status_code
        == 200
    )
    assert api.patch("/Users/1", json=deactivate).status_code == 200
    assert not wp.oracle.authenticate("admin", ADMIN_PASSWORD)["ok"] and wp.oracle.authenticate("admin2", "Second pw 1")["ok"]
    _refused(api.delete(f"/Users/{second}"))


def test_two_concurrent_deactivations_never_both_pass(wp, api):
    """The check and the change are serialised by a lock held to the COMMIT: of two administrators
    deactivated at once, one stays."""
    second = wp.oracle.insert_user(
        {"user_login": "admin2", "user_email": "a2@example.com", "user_pass": "Second pw 1", "role": "administrator"}
    )["id"]
    deactivate = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}
    for _ in range(5):
        answers: dict = {}
        barrier = threading.Barrier(2)

        def run(uid, barrier=barrier, answers=answers):
            barrier.wait()
            answers[uid] = api.patch(f"/Users/{uid}", json=deactivate).status_code

        threads = [threading.Thread(target=run, args=(uid,)) for uid in (1, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(answers.values()) == [200, 409], answers
        able = [
            uid
            for uid, login, pw in ((1, "admin", ADMIN_PASSWORD), (second, "admin2", "Second pw 1"))
            if wp.oracle.authenticate(login, pw)["ok"]
        ]
        assert len(able) == 1
        for uid in (1, second):
            api.patch(f"/Users/{uid}", json={"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": True}}]})


def test_an_administrator_whose_own_capabilities_refuse_manage_options_is_not_counted(wp, api):
    """WordPress lets a user's own `manage_options: false` outweigh its administrator role: such a user
    cannot administer the site, so the real administrator stays the last one."""
    other = wp.oracle.insert_user({"user_login": "admin-in-name", "user_email": "n@example.com", "user_pass": "Other pw 1"})["id"]
    wp.sql(
        "UPDATE wp_usermeta SET meta_value = %s WHERE user_id = %s AND meta_key = 'wp_capabilities'",
        (serialize({"administrator": True, "manage_options": False}), other),
    )
    assert not wp.oracle.user_can(other, "manage_options")
    deactivate = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}
    _refused(api.patch("/Users/1", json=deactivate))
    _admin_intact(wp)
    # Its sign-in is still left alone: it holds an administrator role by name.
    refused = api.patch(
        f"/Users/{other}", json={"schemas": [PATCH], "Operations": [{"op": "replace", "path": "password", "value": "Taken 1"}]}
    )
    assert refused.status_code == 403, refused.text
