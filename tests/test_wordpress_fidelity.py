"""The WordPress oracle tier: WordPress itself (6.1, run by php) judges what wpscim wrote.

A user created through SCIM must be row-for-row what wp_insert_user() writes, must log in with the
synced password, be refused while deactivated, keep its roles, and be deleted like wp_delete_user().
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from wpscim.wordpress.users import Policy

pytestmark = pytest.mark.oracle

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def scim_body(login, email, first="", last="", display="", nickname="", locale="", url="", password=None):
    body = {"schemas": [CORE], "userName": login, "emails": [{"value": email, "primary": True, "type": "work"}]}
    name = {k: v for k, v in (("givenName", first), ("familyName", last)) if v}
    if name:
        body["name"] = name
    for key, value in (("displayName", display), ("nickName", nickname), ("locale", locale), ("profileUrl", url), ("password", password)):
        if value:
            body[key] = value
    return body


def wp_userdata(login, email, first="", last="", display="", nickname="", locale="", url="", password=None):
    data = {"user_login": login, "user_email": email, "user_pass": password or "x-unused-Passw0rd"}
    for key, value in (("first_name", first), ("last_name", last), ("display_name", display), ("nickname", nickname), ("user_url", url)):
        if value:
            data[key] = value
    if locale:
        data["locale"] = locale.replace("-", "_")
    return data


def rows_of(site, user_id: int) -> tuple[dict, list]:
    """The users row and usermeta rows as WordPress's $wpdb reads them, minus what must differ."""
    rows = site.oracle.user_meta_rows(user_id)
    user = dict(rows["user"])
    registered = user.pop("user_registered")
    for volatile in ("ID", "user_pass"):
        user.pop(volatile)
    meta = [(k, v) for k, v in rows["meta"] if not k.startswith("wpscim_")]
    return user, meta, registered


CASES = {
    "plain": dict(login="jane.doe@example.com", email="jane.doe@example.com", first="Jane", last="Doe", locale="en-US"),
    "display default first only": dict(login="first.only", email="first@example.com", first="Ann"),
    "display default last only": dict(login="last.only", email="last@example.com", last="Lee"),
    "display default login": dict(login="Just.Login", email="login@example.com"),
    "escaped names": dict(login="tom", email="tom@example.com", first="Tom & Jerry <b>x</b>", last="100%ab", nickname="T & J"),
    "explicit display and url": dict(
        login="dn", email="dn@example.com", first="A", last="B", display="Dr. A > B", url="https://example.com/~dn"
    ),
    "accented and spaces": dict(login="Zoë Ångström", email="zoe@example.com", first="Zoë", last="Ångström"),
    "underscore nicename": dict(login="John_Doe@example.com", email="jd@example.com"),
    "long nicename": dict(login="a" * 55 + "@b.c", email="long@example.com"),
    # WordPress's pre_user_url filters: a script URL is stored empty, a bare domain gets http://.
    "script url": dict(login="js", email="js@example.com", url="javascript:alert(1)"),
    "entity-encoded script url": dict(login="js2", email="js2@example.com", url="jav&#x09;ascript&#58;alert(1)"),
    "bare domain url": dict(login="bare", email="bare@example.com", url="example.com/path"),
    "url with query and markup": dict(login="q", email="q@example.com", url='http://x.test/?a=1&b=2"><script>x</script>'),
    # update_user_meta() serializes text that looks serialized: WordPress reads back the text, never an object.
    "serialized-looking names": dict(
        login="ser", email="ser@example.com", first='O:8:"stdClass":0:{}', last="i:1;", nickname='a:1:{i:0;s:1:"x";}'
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_rows_equal_wp_insert_user(new_wp, case):
    ours, theirs = new_wp(), new_wp()
    fields = CASES[case]
    created = ours.client().post("/Users", json=scim_body(**fields))
    assert created.status_code == 201, created.text
    reference = theirs.oracle.insert_user(wp_userdata(**fields))
    assert "id" in reference, reference
    our_user, our_meta, our_registered = rows_of(ours, int(created.json["id"]))
    their_user, their_meta, their_registered = rows_of(theirs, reference["id"])
    assert our_user == their_user
    assert our_meta == their_meta  # same keys, same values, same order
    # user_registered is UTC, like gmdate().
    now = datetime.utcnow()
    assert abs(datetime.fromisoformat(our_registered) - now) < timedelta(minutes=2)
    # …and SCIM reads the HTML-escaped names back unescaped.
    body = created.json
    if fields.get("first"):
        assert body["name"]["givenName"] == ours.oracle.get_user(int(body["id"]))["first_name"].replace("&amp;", "&")


def test_nicename_suffix_matches_wordpress(new_wp):
    ours, theirs = new_wp(), new_wp()
    api = ours.client()
    for login in ("john.doe", "john-doe", "John Doe"):
        assert api.post("/Users", json=scim_body(login, f"{login.replace(' ', '')}@x.example")).status_code == 201
        assert "id" in theirs.oracle.insert_user(wp_userdata(login, f"{login.replace(' ', '')}@x.example"))
    ours_names = ours.sql("SELECT user_login, user_nicename FROM wp_users ORDER BY ID")
    theirs_names = theirs.sql("SELECT user_login, user_nicename FROM wp_users ORDER BY ID")
    assert ours_names == theirs_names
    assert [n for _, n in ours_names[1:]] == ["john-doe", "john-doe-2", "john-doe-3"]


def test_password_sync_and_wordpress_login(wp):
    api = wp.client()
    user = api.post("/Users", json=scim_body("pat", "pat@example.com", password="Corr3ct horse")).json
    uid = int(user["id"])
    stored = wp.sql("SELECT user_pass FROM wp_users WHERE ID = %s", (uid,))[0][0]
    assert stored.startswith("$P$B") and len(stored) == 34  # phpass, as WordPress 6.1 writes
    assert wp.oracle.authenticate("pat", "Corr3ct horse")["ok"]
    assert not wp.oracle.authenticate("pat", "wrong")["ok"]
    api.patch(f"/Users/{uid}", json={"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"password": "N3w secret"}}]})
    assert wp.oracle.authenticate("pat", "N3w secret")["ok"]
    assert not wp.oracle.authenticate("pat", "Corr3ct horse")["ok"]
    api.patch(f"/Users/{uid}", json={"Operations": [{"op": "replace", "path": "password", "value": "Th1rd one"}]})
    assert wp.oracle.authenticate("pat@example.com", "Th1rd one")["ok"]


def test_no_password_means_an_unusable_one(wp):
    api = wp.client()
    uid = int(api.post("/Users", json=scim_body("nopw", "nopw@example.com")).json["id"])
    stored = wp.sql("SELECT user_pass FROM wp_users WHERE ID = %s", (uid,))[0][0]
    assert stored.startswith("$P$B") and len(stored) == 34
    for guess in ("", "nopw", "password", stored):
        assert not wp.oracle.authenticate("nopw", guess)["ok"]


def test_wordpress_68_password_format(wp):
    # A site whose db_version says 6.8+ (7.1 here) gets '$wp$2y$' hashes and 7.1's usermeta defaults.
    wp.sql("UPDATE wp_options SET option_value = '61833' WHERE option_name = 'db_version'")
    api = wp.client()
    uid = int(api.post("/Users", json=scim_body("new", "new@example.com", password="  Spaced pw ")).json["id"])
    stored = wp.sql("SELECT user_pass FROM wp_users WHERE ID = %s", (uid,))[0][0]
    assert stored.startswith("$wp$2y$10$") and len(stored) == 63
    assert wp.oracle.password_verify_wp("Spaced pw", stored)  # PHP's password_verify on the HMAC-SHA384 pre-hash
    assert not wp.oracle.password_verify_wp("other", stored)
    keys = [k for k, _ in wp.oracle.user_meta_rows(uid)["meta"] if not k.startswith("wpscim_")]
    assert keys.index("infinite_scrolling") == keys.index("syntax_highlighting") + 1
    assert dict(wp.oracle.user_meta_rows(uid)["meta"])["admin_color"] == "modern"


def test_default_role_and_user_level_come_from_the_site(wp):
    wp.sql("UPDATE wp_options SET option_value = 'author' WHERE option_name = 'default_role'")
    uid = int(wp.client().post("/Users", json=scim_body("writer", "writer@example.com")).json["id"])
    user = wp.oracle.get_user(uid)
    assert user["roles"] == ["author"] and user["user_level"] == 2
    assert wp.oracle.user_can(uid, "publish_posts") and not wp.oracle.user_can(uid, "edit_others_posts")


def test_deactivate_and_reactivate_restore_exactly(wp):
    api = wp.client()
    uid = int(api.post("/Users", json=scim_body("ed", "ed@example.com", password="Ed1tor pw")).json["id"])
    # Make the user an editor with an application password and a pending reset key, then log them in.
    wp.sql("UPDATE wp_usermeta SET meta_value = 'a:1:{s:6:\"editor\";b:1;}' WHERE user_id = %s AND meta_key = 'wp_capabilities'", (uid,))
    wp.sql("UPDATE wp_usermeta SET meta_value = '7' WHERE user_id = %s AND meta_key = 'wp_user_level'", (uid,))
    wp.sql("INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES (%s, '_application_passwords', 'a:0:{}')", (uid,))
    wp.sql("UPDATE wp_users SET user_activation_key = '1700000000:$P$Bkey' WHERE ID = %s", (uid,))
    wp.oracle.create_session(uid)
    before = wp.sql("SELECT user_pass FROM wp_users WHERE ID = %s", (uid,))[0][0]

    off = api.patch(f"/Users/{uid}", json={"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]})
    assert off.status_code == 200 and off.json["active"] is False
    assert api.get(f"/Users/{uid}").json["active"] is False
    assert not wp.oracle.authenticate("ed", "Ed1tor pw")["ok"]
    assert wp.oracle.session_count(uid) == 0
    assert wp.sql("SELECT user_activation_key FROM wp_users WHERE ID = %s", (uid,))[0][0] == ""
    assert wp.sql("SELECT COUNT(*) FROM wp_usermeta WHERE user_id = %s AND meta_key = '_application_passwords'", (uid,))[0][0] == 0
    assert wp.oracle.get_user(uid)["roles"] == ["editor"]  # rows needed to restore are kept

    on = api.patch(f"/Users/{uid}", json={"Operations": [{"op": "replace", "value": {"active": True}}]})
    assert on.status_code == 200 and on.json["active"] is True and on.json["id"] == str(uid)
    assert wp.sql("SELECT user_pass FROM wp_users WHERE ID = %s", (uid,))[0][0] == before
    assert wp.oracle.authenticate("ed", "Ed1tor pw")["ok"]
    assert wp.oracle.get_user(uid)["roles"] == ["editor"] and wp.oracle.get_user(uid)["user_level"] == 7
    assert wp.sql("SELECT COUNT(*) FROM wp_usermeta WHERE user_id = %s AND meta_key = '_application_passwords'", (uid,))[0][0] == 1


def test_password_changed_while_deactivated_applies_on_reactivation(wp):
    api = wp.client()
    uid = int(api.post("/Users", json=scim_body("sus", "sus@example.com", password="Old pw 1")).json["id"])
    api.patch(f"/Users/{uid}", json={"Operations": [{"op": "replace", "path": "active", "value": "False"}]})
    api.patch(f"/Users/{uid}", json={"Operations": [{"op": "replace", "path": "password", "value": "New pw 2"}]})
    assert not wp.oracle.authenticate("sus", "New pw 2")["ok"]
    api.patch(f"/Users/{uid}", json={"Operations": [{"op": "replace", "path": "active", "value": "True"}]})
    assert wp.oracle.authenticate("sus", "New pw 2")["ok"]
    assert not wp.oracle.authenticate("sus", "Old pw 1")["ok"]


def _post_by(site, author: int) -> int:
    site.sql(
        "INSERT INTO wp_posts (post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt, post_status, "
        "post_name, to_ping, pinged, post_modified, post_modified_gmt, post_content_filtered, guid, post_type) "
        "VALUES (%s, NOW(), UTC_TIMESTAMP(), 'body', 'title', '', 'publish', 'p', '', '', NOW(), UTC_TIMESTAMP(), '', '', 'post')",
        (author,),
    )
    return site.sql("SELECT MAX(ID) FROM wp_posts")[0][0]


def test_delete_reassigns_content_to_the_lowest_administrator(wp):
    api = wp.client()
    uid = int(api.post("/Users", json=scim_body("leaver", "leaver@example.com")).json["id"])
    post = _post_by(wp, uid)
    wp.sql(
        "INSERT INTO wp_links (link_url, link_name, link_image, link_target, link_description, link_visible, link_owner, link_rss, link_notes, link_rel) VALUES ('u', 'n', '', '', '', 'Y', %s, '', '', '')",
        (uid,),
    )
    assert api.delete(f"/Users/{uid}").status_code == 204
    assert wp.oracle.get_user(uid)["exists"] is False
    assert wp.sql("SELECT post_author FROM wp_posts WHERE ID = %s", (post,))[0][0] == 1
    assert wp.sql("SELECT COUNT(*) FROM wp_links WHERE link_owner = %s", (uid,))[0][0] == 0
    assert wp.oracle.user_meta_rows(uid) == {"meta": [], "user": None}


def test_delete_mode_and_reassign_to(wp):
    keeper = int(wp.client().post("/Users", json=scim_body("keeper", "keeper@example.com")).json["id"])
    api = wp.client(Policy(deprovision="delete", reassign_to=keeper))
    uid = int(api.post("/Users", json=scim_body("gone", "gone@example.com")).json["id"])
    post = _post_by(wp, uid)
    result = api.patch(f"/Users/{uid}", json={"Operations": [{"op": "replace", "value": {"active": False}}]})
    assert result.status_code == 200 and result.json["active"] is False
    assert api.get(f"/Users/{uid}").status_code == 404
    assert wp.sql("SELECT post_author FROM wp_posts WHERE ID = %s", (post,))[0][0] == keeper
    assert api.delete(f"/Users/{keeper}").status_code == 409  # the keeper itself cannot be deleted


def test_reassign_to_a_user_who_no_longer_exists_gives_the_posts_to_the_lowest_administrator(wp):
    # The user --reassign-to named was deleted in WordPress since: offboarding goes on, and the posts go
    # where WordPress's own default would send them, not to a user ID that no one has.
    api = wp.client(Policy(deprovision="delete", reassign_to=999999))
    uid = int(api.post("/Users", json=scim_body("parting", "parting@example.com")).json["id"])
    post = _post_by(wp, uid)
    assert api.delete(f"/Users/{uid}").status_code == 204
    assert wp.sql("SELECT post_author FROM wp_posts WHERE ID = %s", (post,))[0][0] == 1
    detail = json.loads(wp.sql("SELECT detail FROM wp_wpscim_events WHERE resource_id = %s AND action = 'delete'", (str(uid),))[0][0])
    assert detail["reassign"] == 1 and detail["posts"] == {"1": [post]}


@pytest.mark.parametrize(
    "user_name",
    ["first+tag@example.com", "x" * 70 + "@example.com", "名前@example.com", "<b>bold</b>"],
)
def test_user_names_wordpress_cannot_store_verbatim(wp, user_name):
    api = wp.client()
    result = api.post(
        "/Users",
        json={
            "schemas": [CORE],
            "userName": user_name,
            "emails": [{"value": "odd@example.com", "primary": True}],
            "password": "Odd pw 123",
        },
    )
    assert result.status_code == 201, result.text
    uid = int(result.json["id"])
    assert result.json["userName"] == user_name
    login = wp.oracle.get_user(uid)["user_login"]
    assert login and len(login) <= 60 and login != user_name
    assert wp.oracle.authenticate(login, "Odd pw 123")["ok"]  # WordPress accepts the stored login
    found = api.get("/Users", params={"filter": f'userName eq "{user_name.upper()}"'}).json
    assert [u["id"] for u in found["Resources"]] == [str(uid)]
    # The sanitized login does not block a later user whose userName *is* that login.
    other = api.post("/Users", json={"schemas": [CORE], "userName": login})
    assert other.status_code == 201, other.text
    assert wp.oracle.get_user(int(other.json["id"]))["user_login"] != login
    assert api.post("/Users", json={"schemas": [CORE], "userName": user_name}).status_code == 409


def test_names_that_look_serialized_read_back_as_the_text_wordpress_was_given(wp):
    """A name is never turned into a PHP value (object injection) by WordPress's maybe_unserialize()."""
    api = wp.client()
    body = scim_body("i:1;", "inj@example.com", first='O:8:"stdClass":0:{}', last='a:1:{i:0;s:1:"x";}', display="b:1;")
    created = api.post("/Users", json=body)
    assert created.status_code == 201, created.text
    uid = int(created.json["id"])
    seen = wp.oracle.get_user(uid)
    assert (seen["first_name"], seen["last_name"], seen["display_name"]) == ('O:8:"stdClass":0:{}', 'a:1:{i:0;s:1:"x";}', "b:1;")
    read = api.get(f"/Users/{uid}").json
    assert read["name"] == {"givenName": 'O:8:"stdClass":0:{}', "familyName": 'a:1:{i:0;s:1:"x";}'} and read["userName"] == "i:1;"
    assert api.get("/Users", params={"filter": 'userName eq "i:1;"'}).json["totalResults"] == 1
    assert api.post("/Users", json=scim_body("i:1;", "other@example.com")).status_code == 409  # its exact userName is taken


def test_a_description_mapped_from_scim_is_filtered_as_wordpress_filters_it(new_wp, tmp_path):
    from conftest import Api

    from wpscim.app import create_app
    from wpscim.wordpress.mapping_file import parse_mapping
    from wpscim.wordpress.tokens import TokenStore

    ours, theirs = new_wp(), new_wp()
    user_mapping, _ = parse_mapping('[[attribute]]\nscim = "title"\nmeta = "description"\n')
    api = Api(create_app(ours.storage(user_mapping=user_mapping)), TokenStore(ours.db, ours.site).create("desc"))
    bio = 'Hi <script>alert(1)</script><a href="javascript:x" onclick="y">me</a> & <b>you</b>'
    created = api.post("/Users", json={**scim_body("bio", "bio@example.com"), "title": bio})
    assert created.status_code == 201, created.text
    reference = theirs.oracle.insert_user({**wp_userdata("bio", "bio@example.com"), "description": bio})
    ours_meta = dict(rows_of(ours, int(created.json["id"]))[1])
    theirs_meta = dict(rows_of(theirs, reference["id"])[1])
    assert ours_meta["description"] == theirs_meta["description"] and "<script" not in ours_meta["description"]
