"""Multisite: users are global, roles per site. A network is built from a real single-site install by
adding what WordPress's network setup adds (users.spam/deleted, wp_blogs, a second site's tables)."""

from __future__ import annotations

import pytest
from conftest import Api

from wpscim.app import create_app
from wpscim.wordpress.site import detect, unserialize, upgrade
from wpscim.wordpress.tokens import TokenStore


@pytest.fixture
def network(wp):
    wp.sql("ALTER TABLE wp_users ADD COLUMN spam tinyint(2) NOT NULL DEFAULT 0, ADD COLUMN deleted tinyint(2) NOT NULL DEFAULT 0")
    wp.sql(
        "CREATE TABLE wp_blogs (blog_id bigint(20) NOT NULL AUTO_INCREMENT PRIMARY KEY, site_id bigint(20) NOT NULL DEFAULT 0, "
        "domain varchar(200) NOT NULL DEFAULT '', path varchar(100) NOT NULL DEFAULT '')"
    )
    wp.sql("INSERT INTO wp_blogs (blog_id, site_id, domain, path) VALUES (1, 1, 'example.com', '/'), (2, 1, 'example.com', '/two/')")
    for table in ("options", "posts", "links"):
        wp.sql(f"CREATE TABLE wp_2_{table} LIKE wp_{table}")
    wp.sql(
        "INSERT INTO wp_2_options (option_name, option_value, autoload) SELECT 'wp_2_user_roles', option_value, 'yes' "
        "FROM wp_options WHERE option_name = 'wp_user_roles'"
    )
    wp.sql("INSERT INTO wp_2_options (option_name, option_value, autoload) VALUES ('default_role', 'author', 'yes')")
    site = detect(wp.db, "wp_", blog_id=2)
    upgrade(wp.db, site)  # site two's change log
    token = TokenStore(wp.db, site).create("site-two")
    return wp, site, Api(create_app(wp.storage(site=site)), token)


def caps(wp, user_id, key):
    rows = wp.sql("SELECT meta_value FROM wp_usermeta WHERE user_id = %s AND meta_key = %s", (user_id, key))
    return unserialize(rows[0][0]) if rows else None


def test_site_two_of_a_network(network):
    wp, site, api = network
    assert site.multisite and site.capabilities_key == "wp_2_capabilities"
    created = api.post("/Users", json={"userName": "Mixed.Case@Example.com", "password": "Net pw 1"})
    assert created.status_code == 201, created.text
    uid = int(created.json["id"])
    login = wp.sql("SELECT user_login FROM wp_users WHERE ID = %s", (uid,))[0][0]
    assert login == "mixed.case@example.com"  # multisite keeps logins lowercase
    assert created.json["userName"] == "Mixed.Case@Example.com"
    assert caps(wp, uid, "wp_2_capabilities") == {"author": True}  # site two's default role
    assert caps(wp, uid, "wp_capabilities") is None  # not a member of site one
    assert wp.sql("SELECT meta_value FROM wp_usermeta WHERE user_id = %s AND meta_key = 'wp_2_user_level'", (uid,))[0][0] == "2"

    off = api.patch(f"/Users/{uid}", json={"Operations": [{"op": "replace", "value": {"active": False}}]})
    assert off.json["active"] is False
    assert wp.sql("SELECT spam FROM wp_users WHERE ID = %s", (uid,))[0][0] == 1  # blocks login and password reset
    on = api.patch(f"/Users/{uid}", json={"Operations": [{"op": "replace", "value": {"active": True}}]})
    assert on.json["active"] is True and wp.sql("SELECT spam FROM wp_users WHERE ID = %s", (uid,))[0][0] == 0

    assert (
        api.patch("/Groups/editor", json={"Operations": [{"op": "add", "path": "members", "value": [{"value": str(uid)}]}]}).status_code
        == 200
    )
    assert caps(wp, uid, "wp_2_capabilities") == {"author": True, "editor": True}
    assert api.patch("/Groups/editor", json={"Operations": [{"op": "replace", "path": "members", "value": []}]}).status_code == 200
    assert (
        api.patch("/Groups/author", json={"Operations": [{"op": "remove", "path": "members", "value": [{"value": str(uid)}]}]}).status_code
        == 200
    )
    # Last role removed on this site: still a member as WordPress defines it (an empty capabilities array).
    assert caps(wp, uid, "wp_2_capabilities") == {}

    wp.sql(
        "INSERT INTO wp_2_posts (post_author, post_content, post_title, post_excerpt, to_ping, pinged, post_content_filtered) "
        "VALUES (%s, '', 't', '', '', '', '')",
        (uid,),
    )
    assert api.delete(f"/Users/{uid}").status_code == 204
    assert wp.sql("SELECT post_author FROM wp_2_posts")[0][0] == 1


def test_a_spam_user_reads_inactive(network):
    wp, site, api = network
    uid = int(api.post("/Users", json={"userName": "spammer"}).json["id"])
    wp.sql("UPDATE wp_users SET spam = 1 WHERE ID = %s", (uid,))
    assert api.get(f"/Users/{uid}").json["active"] is False
    assert [u["id"] for u in api.get("/Users", params={"filter": "active eq false"}).json["Resources"]] == [str(uid)]
