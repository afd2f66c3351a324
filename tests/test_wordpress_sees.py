"""WordPress sees every change at once — judged by a running WordPress itself (its wp_authenticate,
get_userdata, user_can, lost-password form, through its own object cache), right after each 2xx —
and hears of it: core's hooks fire once each, in order, from the change log. On a plain WordPress, on
one with the Redis Object Cache drop-in (wpscim clears its keys itself), and on one whose cache only
WordPress may clear (wpscim waits for the companion). `wpscim serve --wp-config` finds the site's
URL, salts and Redis itself; `wpscim companion install` puts the companion in place."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
from served import http

pytestmark = pytest.mark.companion
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class Scim:
    def __init__(self, base: str, token: str):
        self.base, self.token = base, token

    def __call__(self, method: str, path: str, body=None) -> tuple[int, dict]:
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/scim+json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                raw = answer.read()
                return answer.status, json.loads(raw) if raw else {}
        except urllib.error.HTTPError as answer:
            return answer.code, json.loads(answer.read() or b"{}")


def _wpscim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wpscim", *args], capture_output=True, text=True, timeout=60)


def _serve_site(kind: str, wp, wordpress_server, serve):
    server = wordpress_server(wp, object_cache=kind != "plain")
    config = str(server.site_dir / "wp-config.php")
    installed = _wpscim("companion", "install", "--wp-config", config)
    assert installed.returncode == 0 and "installed" in installed.stdout, installed.stdout + installed.stderr
    assert (server.site_dir / "wp-content" / "mu-plugins" / "wpscim-companion.php").is_file()
    again = _wpscim("companion", "install", "--wp-config", config)
    assert "already this version" in again.stdout
    extra = ("--object-cache", "companion") if kind == "companion-cleared" else ()
    base, token = serve(where=["--wp-config", config], extra=extra)
    serve.config = config
    return kind, server, Scim(base, token)


@pytest.fixture(params=["plain", "redis", "companion-cleared"])
def site(request, wp, wordpress_server, serve):
    return _serve_site(request.param, wp, wordpress_server, serve)


@pytest.fixture
def plain_site(wp, wordpress_server, serve):
    """The change log does not depend on the cache: one kind of site is enough for it."""
    return _serve_site("plain", wp, wordpress_server, serve)


def _login(server, login: str, password: str) -> bool:
    return server.probe("authenticate", login=login, password=password)["ok"]


def _hooks(server, expected: int, timeout: float = 45.0) -> list[dict]:
    """The hooks WordPress fired, once `expected` of them have (they are delivered in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        hooks = server.hooks()
        if len(hooks) >= expected or time.monotonic() > deadline:
            return hooks
        time.sleep(0.2)


def _post_by(wp, author: int, slug: str) -> int:
    wp.sql(
        "INSERT INTO wp_posts (post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt, post_status, "
        "post_name, to_ping, pinged, post_modified, post_modified_gmt, post_content_filtered, post_type) VALUES (%s, NOW(), "
        "UTC_TIMESTAMP(), '', %s, '', 'publish', %s, '', '', NOW(), UTC_TIMESTAMP(), '', 'post')",
        (author, slug, slug),
    )
    return wp.sql("SELECT MAX(ID) FROM wp_posts WHERE post_name = %s", (slug,))[0][0]


def test_every_change_is_what_wordpress_sees_and_hears(site, wp):
    kind, server, scim = site
    # Created: WordPress lets the user in (and, with a persistent cache, caches the user).
    status, carol = scim(
        "POST",
        "/Users",
        {
            "userName": "carol@example.com",
            "password": "Carol pw 1",
            "name": {"givenName": "Carol", "familyName": "King"},
            "emails": [{"value": "carol@example.com", "primary": True}],
        },
    )
    assert status == 201, carol
    uid = int(carol["id"])
    assert _login(server, "carol@example.com", "Carol pw 1")
    assert server.probe("get_user", login="carol@example.com")["first_name"] == "Carol"
    # A synced password replaces the cached one.
    status, _ = scim(
        "PATCH", f"/Users/{uid}", {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "password", "value": "Carol pw 2"}]}
    )
    assert status == 200
    assert not _login(server, "carol@example.com", "Carol pw 1") and _login(server, "carol@example.com", "Carol pw 2")
    # Names, e-mail and userName (the login) are what SCIM last set; the old login no longer resolves.
    status, _ = scim(
        "PUT",
        f"/Users/{uid}",
        {
            "userName": "caroline@example.com",
            "name": {"givenName": "Caroline", "familyName": "King"},
            "emails": [{"value": "caroline@example.com", "primary": True}],
        },
    )
    assert status == 200
    seen = server.probe("get_user", id=uid)
    assert (seen["user_login"], seen["user_email"], seen["first_name"]) == ("caroline@example.com", "caroline@example.com", "Caroline")
    assert not server.probe("get_user", login="carol@example.com")["exists"]
    assert _login(server, "caroline@example.com", "Carol pw 2") and not _login(server, "carol@example.com", "Carol pw 2")
    # Roles: a group membership is a capability WordPress grants at once.
    assert not server.probe("user_can", id=uid, cap="edit_others_posts")["result"]
    status, _ = scim("PATCH", "/Groups/editor", {"Operations": [{"op": "add", "path": "members", "value": [{"value": str(uid)}]}]})
    assert status == 200
    assert server.probe("user_can", id=uid, cap="edit_others_posts")["result"]
    assert server.probe("get_user", id=uid)["roles"] == ["subscriber", "editor"]
    # Deactivated: no login, no reset link — also with the old hash in the cache.
    status, _ = scim("PATCH", f"/Users/{uid}", {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]})
    assert status == 200
    assert not _login(server, "caroline@example.com", "Carol pw 2")
    assert not server.probe("lost_password", login="caroline@example.com")["sent"]
    # Reactivated: the same password works again.
    status, _ = scim("PATCH", f"/Users/{uid}", {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": True}}]})
    assert status == 200 and _login(server, "caroline@example.com", "Carol pw 2")
    # Deleted: gone for WordPress too, and the post WordPress cached names its new author.
    post = _post_by(wp, uid, "carol-writes")
    assert server.probe("get_post", id=post)["post_author"] == uid
    assert scim("DELETE", f"/Users/{uid}")[0] == 204
    assert not _login(server, "caroline@example.com", "Carol pw 2")
    assert not server.probe("get_user", id=uid)["exists"]
    assert server.probe("get_post", id=post)["post_author"] == 1

    # Core's hooks, each once, in order, with core's arguments (delivered in the background).
    hooks = _hooks(server, 12)
    names = [hook["hook"] for hook in hooks]
    assert names == [
        "add_user_role",
        "set_user_role",
        "user_register",  # create
        "profile_update",  # password
        "profile_update",  # rename
        "add_user_role",  # editor (group membership)
        "profile_update",
        "wpscim_user_deactivated",
        "profile_update",
        "wpscim_user_reactivated",
        "delete_user",
        "deleted_user",
    ], names
    assert all(int(hook["args"][0]) == uid for hook in hooks), hooks
    assert hooks[0]["args"][1] == "subscriber" and hooks[1]["args"][1:] == ["subscriber", []] and hooks[5]["args"][1] == "editor"
    assert hooks[4]["args"][1]["user_login"] == "carol@example.com"  # profile_update's $old_user_data
    assert hooks[10]["args"][1] == hooks[11]["args"][1] == 1  # posts go to the lowest-ID administrator
    assert hooks[10]["args"][2]["user_login"] == "caroline@example.com"
    time.sleep(1.5)
    assert len(server.hooks()) == len(hooks)  # nothing twice


def test_a_group_is_what_wordpress_sees_and_hears(site):
    """A group is a role: created with a member, renamed, its member removed — after each 2xx WordPress's
    own role list and the user's roles say so (through its object cache), and the hooks fire once each."""
    kind, server, scim = site
    status, dan = scim("POST", "/Users", {"userName": "dan@example.com"})
    assert status == 201
    uid = int(dan["id"])
    status, group = scim(
        "POST",
        "/Groups",
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Support Desk", "members": [{"value": str(uid)}]},
    )
    assert status == 201, group
    slug = group["id"]
    assert server.probe("roles")["roles"][slug] == "Support Desk"
    assert slug in server.probe("get_user", id=uid)["roles"]
    status, _ = scim(
        "PATCH", f"/Groups/{slug}", {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"displayName": "Support Team"}}]}
    )
    assert status == 200 and server.probe("roles")["roles"][slug] == "Support Team"
    status, _ = scim(
        "PATCH", f"/Groups/{slug}", {"schemas": [PATCH], "Operations": [{"op": "remove", "path": f'members[value eq "{uid}"]'}]}
    )
    assert status == 200 and slug not in server.probe("get_user", id=uid)["roles"]
    hooks = _hooks(server, 7)
    names = [hook["hook"] for hook in hooks]
    assert names == [
        "add_user_role",
        "set_user_role",
        "user_register",  # the user
        "wpscim_group_created",
        "add_user_role",  # the group, with its member
        "wpscim_group_updated",  # renamed
        "remove_user_role",
    ], names
    assert hooks[4]["args"] == hooks[6]["args"] == [uid, slug]
    assert hooks[5]["args"][0]["before"]["name"] == "Support Desk" and hooks[5]["args"][0]["after"]["name"] == "Support Team"
    time.sleep(1.5)
    assert len(server.hooks()) == len(hooks)  # nothing twice


def _admin_session(where: list[str], root: str) -> dict[str, str]:
    """The Cookie header of a session on the admin page, started with a one-time link (`wpscim admin link`
    with the database options `where`), as a site owner without a WordPress login would."""
    made = _wpscim("admin", "link", *where, "--url", root)
    assert made.returncode == 0, made.stderr
    token = urllib.parse.parse_qs(urllib.parse.urlparse(made.stdout.strip().splitlines()[-1]).query)["token"][0]
    status, headers, _ = http(
        "POST", root + "/wpscim/admin/link", data=urllib.parse.urlencode({"token": token}).encode(), follow_redirects=False
    )
    assert status == 303, status
    return {"Cookie": headers["set-cookie"].split(";")[0]}


def _admin_page(session: dict[str, str], root: str, path: str) -> str:
    """A page of the admin page (`/wpscim/admin/<path>`), whatever its status."""
    return http("GET", f"{root}/wpscim/admin/{path}", headers=session, timeout=30)[2].decode()


def _admin_health(session: dict[str, str], root: str) -> dict[str, tuple[str, str]]:
    """The admin page's Health, as {fact: (text, "good" | "bad" | "")}."""
    page = _admin_page(session, root, "health")
    rows = re.findall(r'<tr><th>([^<]*)</th><td class="([^"]*)">([^<]*)</td></tr>', page)
    assert rows, page
    return {html.unescape(name): (html.unescape(text), good) for name, good, text in rows}


def test_the_admin_health_page_says_what_clears_the_cache_and_whether_the_companion_answers(site, serve):
    """What the site owner reads on Health, on each kind of site: which object cache and who clears it,
    whether the companion answers, and the changes WordPress has not heard of while it does not."""
    kind, server, scim = site
    root = scim.base.removesuffix("/scim/v2")
    session = _admin_session(["--wp-config", serve.config], root)
    facts = _admin_health(session, root)
    cache = {
        "plain": "none persistent (nothing to clear)",
        "redis": "the Redis Object Cache drop-in, cleared by wpscim",
        "companion-cleared": "a persistent object cache only WordPress can clear (the companion does)",
    }[kind]
    assert facts["Object cache"][0] == cache, facts
    assert facts["Companion"][0].startswith(f"answering at {server.url}") and facts["Companion"][1] == "good", facts
    assert facts["Change log"][1] == "good", facts  # nothing waits for WordPress

    server.pause()  # WordPress is down
    assert scim("POST", "/Users", {"userName": "erin@example.com"})[0] == 201
    facts = _admin_health(session, root)
    assert facts["Companion"][0].startswith("not answering") and facts["Companion"][1] == "bad", facts
    assert "; 1 waiting for WordPress's hooks (the oldest since " in facts["Change log"][0] and facts["Change log"][1] == "bad", facts
    uncleared = "; 1 whose caches are not known clean" if kind == "companion-cleared" else "; 0 whose caches are not known clean"
    assert facts["Change log"][0].endswith(uncleared), facts  # only the companion can clear that cache

    server.restart()
    deadline = time.monotonic() + 45
    while (facts := _admin_health(session, root))["Change log"][1] != "good" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert facts["Change log"][0].endswith("; 0 waiting for WordPress's hooks; 0 whose caches are not known clean"), facts
    assert facts["Companion"][1] == "good", facts


def test_check_warns_when_wordpress_has_a_cache_wpscim_cannot_see(wp, wordpress_server, tmp_path):
    """A wp-config.php whose wp-content wpscim cannot find (a Debian site file read alone, say): wpscim
    finds no drop-in and would clear nothing, while WordPress serves from Redis. check says so loudly."""
    server = wordpress_server(wp, object_cache=True)
    installed = _wpscim("companion", "install", "--wp-config", str(server.site_dir / "wp-config.php"))
    assert installed.returncode == 0, installed.stderr
    elsewhere = tmp_path / "wp-content-elsewhere"
    text = (server.site_dir / "wp-config.php").read_text()
    text, replaced = re.subn(r"define\( 'WP_CONTENT_DIR', [^;]+\);", f"define( 'WP_CONTENT_DIR', '{elsewhere}' );", text)
    assert replaced == 1
    blind = tmp_path / "wp-config.php"
    blind.write_text(text)
    checked = _wpscim("check", "--wp-config", str(blind))
    assert checked.returncode == 0, checked.stderr
    assert f"wp-content:   {elsewhere} NOT FOUND (define WP_CONTENT_DIR in wp-config.php)" in checked.stdout, checked.stdout
    assert "object cache: none persistent" in checked.stdout and "companion:    answering" in checked.stdout, checked.stdout
    assert "WARNING: WordPress says it uses a persistent object cache, but wpscim found no object-cache.php" in checked.stderr
    seeing = _wpscim("check", "--wp-config", str(server.site_dir / "wp-config.php"))
    assert "NOT FOUND" not in seeing.stdout and "WARNING" not in seeing.stderr, seeing.stdout + seeing.stderr
    assert "object cache: the Redis Object Cache drop-in" in seeing.stdout, seeing.stdout


def test_wpscim_events_tells_the_whole_life_of_a_user_and_a_group_and_no_secret(plain_site, serve, wp):
    kind, server, scim = plain_site
    status, erin = scim("POST", "/Users", {"userName": "erin@example.com", "password": "Erin secret 1", "externalId": "e-1"})
    uid = erin["id"]
    status, group = scim("POST", "/Groups", {"displayName": "Auditors", "members": [{"value": uid}]})
    assert status == 201
    scim("PATCH", f"/Users/{uid}", {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "password", "value": "Erin secret 2"}]})
    scim("PATCH", f"/Users/{uid}", {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]})
    scim("PATCH", f"/Users/{uid}", {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": True}}]})
    scim(
        "PATCH",
        f"/Groups/{group['id']}",
        {
            "Operations": [
                {"op": "replace", "path": "displayName", "value": "Audit"},
                {"op": "remove", "path": f'members[value eq "{uid}"]'},
            ]
        },
    )
    assert scim("DELETE", f"/Groups/{group['id']}")[0] == 204
    assert scim("DELETE", f"/Users/{uid}")[0] == 204
    listed = _wpscim("events", "--wp-config", serve.config, "--user", uid, "--format", "json")
    assert listed.returncode == 0, listed.stderr
    events = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(e["resource_type"], e["action"]) for e in events] == [
        ("User", "create"),
        ("Group", "add_members"),
        ("User", "update"),
        ("User", "deactivate"),
        ("User", "reactivate"),
        ("Group", "remove_members"),
        ("User", "delete"),
    ], events
    for event in events:
        assert {"time", "actor", "action", "resource_type", "resource_id", "attributes"} <= event.keys()
        assert event["actor"].startswith("live-") and event["time"].endswith("Z")
    assert "password" in events[2]["attributes"]
    group_life = _wpscim("events", "--wp-config", serve.config, "--group", group["id"], "--format", "json")
    assert [json.loads(line)["action"] for line in group_life.stdout.splitlines()] == [
        "create",
        "add_members",
        "remove_members",
        "update",
        "delete",
    ]  # one PATCH: its members, then its name
    text = _wpscim("events", "--wp-config", serve.config, "--since", "1h").stdout
    assert all(e["request_id"] in text for e in events) and f"User {uid}" in text  # the text form: a line per event
    # No secret anywhere: not the passwords, not their hashes, not the bearer token.
    hashes = [row[0] for row in wp.sql("SELECT meta_value FROM wp_usermeta WHERE meta_key = 'wpscim__suspended_pass'")]
    everything = listed.stdout + group_life.stdout + text + "".join(log.read_text() for log in serve.logs)
    for secret in ("Erin secret 1", "Erin secret 2", scim.token, "$P$", "$wp$", *hashes):
        assert secret not in everything, secret


def test_wordpress_down_during_a_change_hears_of_it_once_when_back(site):
    kind, server, scim = site
    status, dave = scim("POST", "/Users", {"userName": "dave@example.com", "password": "Dave pw 1"})
    assert status == 201
    assert _login(server, "dave@example.com", "Dave pw 1")
    _hooks(server, 3)
    server.reset_hooks()
    server.pause()  # WordPress is down
    began = time.monotonic()
    status, _ = scim("PATCH", f"/Users/{dave['id']}", {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]})
    assert status == 200 and time.monotonic() - began < 5  # the database is the truth: the answer goes out
    server.restart()
    hooks = _hooks(server, 2)
    assert [hook["hook"] for hook in hooks] == ["profile_update", "wpscim_user_deactivated"]
    assert not _login(server, "dave@example.com", "Dave pw 1")  # and the cache is clean
    time.sleep(2)
    assert len(server.hooks()) == 2  # delivered once


def test_a_wordpress_that_does_not_answer_is_retried_after_a_growing_pause_not_after_every_change(serve):
    """A site whose WordPress answers every delivery with a proxy's error page: 30 changes in a row
    cost a handful of attempts (the first, then after 1, 2, 4 … s), not one each; the changes themselves
    answer at once."""
    import http.server
    import threading

    from conftest import free_port

    attempts = []

    class DeadPhp(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the standard library's name
            attempts.append(time.monotonic())
            self.send_response(502)
            self.end_headers()
            self.wfile.write(b"<html>502 Bad Gateway</html>")

        def log_message(self, *args):
            pass

    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), DeadPhp)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        base, token = serve(extra=("--wp-url", f"http://127.0.0.1:{proxy.server_port}"))
        scim = Scim(base, token)
        time.sleep(1.5)  # the first attempt (at start) has failed; the pause has begun
        before, began = len(attempts), time.monotonic()
        for i in range(30):
            assert scim("POST", "/Users", {"userName": f"unheard{i}@example.com"})[0] == 201
        elapsed = time.monotonic() - began
        made = len(attempts) - before
        assert before >= 1, "wpscim never tried the companion: the test proves nothing"
        assert made <= 2 + elapsed, f"{made} deliveries attempted for 30 changes in {elapsed:.1f} s"
    finally:
        proxy.shutdown()


def test_redis_down_during_a_change_answers_at_once_and_clears_the_cache_when_back(serve, wp, mysql_server, tmp_path):
    """The Redis Object Cache drop-in's Redis restarts: the next change finds its keys gone at once (the
    connection Redis closed is replaced). Redis stops: changes still answer at once (the database is
    the truth), their events stay uncleared, `wpscim check` says so, and once Redis is back the stale
    keys are deleted in the background and the events marked cleared."""
    import redis
    from conftest import database_url, free_port

    port = free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"

    def start_redis() -> subprocess.Popen:
        process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=port, socket_timeout=2)
        for _ in range(100):
            try:
                client.ping()
                return process
            except redis.ConnectionError:
                time.sleep(0.05)
        pytest.fail("redis-server did not start")

    def stop_redis(process: subprocess.Popen) -> None:
        process.terminate()
        process.wait(timeout=10)

    def rename(uid: int, name: str) -> int:
        return scim(
            "PATCH", f"/Users/{uid}", {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "name.givenName", "value": name}]}
        )[0]

    def uncleared(uid: int) -> int:
        return wp.sql("SELECT COUNT(*) FROM wp_wpscim_events WHERE resource_id = %s AND cleared_at IS NULL", (str(uid),))[0][0]

    def check() -> str:
        checked = _wpscim("check", "--database-url", database_url(mysql_server, wp.name), "--redis-url", redis_url, "--redis-prefix", "t:")
        assert checked.returncode == 0, checked.stderr
        return checked.stdout

    process = start_redis()
    try:
        # One request thread: the restart below closes the very connection the next change is sent on.
        base, token = serve(extra=("--redis-url", redis_url, "--redis-prefix", "t:", "--threads", "1"))
        scim = Scim(base, token)
        cache = redis.Redis(port=port, socket_timeout=2)
        cache.set("t:wp:users:last_changed", "stale")
        status, erin = scim("POST", "/Users", {"userName": "erin@example.com", "name": {"givenName": "Erin"}})
        assert status == 201 and not cache.exists("t:wp:users:last_changed")  # cleared before the answer
        uid = int(erin["id"])

        stop_redis(process)
        process = start_redis()
        cache.set(f"t:wp:user_meta:{uid}", "stale")
        assert rename(uid, "Erin A") == 200 and not cache.exists(f"t:wp:user_meta:{uid}")
        assert uncleared(uid) == 0

        stop_redis(process)
        began = time.monotonic()
        assert rename(uid, "Erina") == 200 and rename(uid, "Erinna") == 200
        assert time.monotonic() - began < 5
        assert uncleared(uid) == 2
        said = check()
        assert "; NOT REACHABLE" in said and "; 2 whose caches are not known clean" in said, said
        process = start_redis()
        cache.set(f"t:wp:users:{uid}", "a copy cached while wpscim could not clear it")
        deadline = time.monotonic() + 20
        while cache.exists(f"t:wp:users:{uid}") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not cache.exists(f"t:wp:users:{uid}"), "the stale key was not deleted once Redis was back"
        assert uncleared(uid) == 0
        said = check()
        assert "; reachable" in said and "; 0 whose caches are not known clean" in said, said
        log = serve.logs[-1].read_text()
        assert "could not clear WordPress's cache in Redis" in log and "cleared WordPress's cache in Redis for" in log, log
    finally:
        stop_redis(process)


def test_caches_left_uncleared_by_a_stopped_process_are_cleared_by_the_next(serve, wp, tmp_path):
    """Redis cannot be reached, a change is saved (its event uncleared), and wpscim stops before Redis is
    back, long after the change (so the re-clearing of the last minutes at start does not cover it):
    the next wpscim clears the stale keys from the change log's uncleared events, and marks them cleared."""
    import redis
    from conftest import free_port

    port = free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    options = ("--redis-url", redis_url, "--redis-prefix", "t:", "--threads", "2")
    base, token = serve(extra=options)  # no Redis at that port yet
    scim = Scim(base, token)
    status, user = scim("POST", "/Users", {"userName": "olive@example.com", "name": {"givenName": "Olive"}})
    assert status == 201
    uid = int(user["id"])
    status, _ = scim("PATCH", f"/Users/{uid}", {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]})
    assert status == 200
    first = serve.processes[-1]
    first.terminate()
    first.wait(timeout=20)
    uncleared = "SELECT COUNT(*) FROM wp_wpscim_events WHERE resource_id = %s AND cleared_at IS NULL"
    assert wp.sql(uncleared, (str(uid),))[0][0] == 2
    wp.sql("UPDATE wp_wpscim_events SET created_at = created_at - INTERVAL 1 HOUR")

    process = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        cache = redis.Redis(port=port, socket_timeout=2)
        for _ in range(100):
            try:
                cache.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        # What WordPress cached of the user while wpscim could not clear it: the real password hash.
        cache.set(f"t:wp:users:{uid}", "the user as cached before the deactivation")
        cache.set("t:wp:userlogins:olive@example.com", str(uid))
        serve(extra=options)
        deadline = time.monotonic() + 20
        while (cache.exists(f"t:wp:users:{uid}") or wp.sql(uncleared, (str(uid),))[0][0]) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not cache.exists(f"t:wp:users:{uid}") and not cache.exists("t:wp:userlogins:olive@example.com")
        assert wp.sql(uncleared, (str(uid),))[0][0] == 0
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_without_the_companion_a_deleted_users_posts_leave_the_redis_cache_before_the_answer(wp, wordpress_server, serve):
    """No companion (nothing cleans after the answer): wpscim deletes the reassigned posts' keys itself,
    as wp_delete_user()'s clean_post_cache() would."""
    server = wordpress_server(wp, object_cache=True)
    base, token = serve(where=["--wp-config", str(server.site_dir / "wp-config.php")])
    scim = Scim(base, token)
    status, dana = scim("POST", "/Users", {"userName": "dana@example.com", "name": {"givenName": "Dana"}})
    assert status == 201
    uid = int(dana["id"])
    post = _post_by(wp, uid, "dana-writes")
    assert server.probe("get_post", id=post)["post_author"] == uid
    assert server.probe("cache_get", key=str(post), group="posts")["found"]  # WordPress cached it in Redis
    assert scim("DELETE", f"/Users/{uid}")[0] == 204
    assert not server.probe("cache_get", key=str(post), group="posts")["found"]
    assert server.probe("get_post", id=post)["post_author"] == 1


def test_concurrent_changes_share_the_companions_deliveries(wp, wordpress_server, serve):
    """On a site whose cache only WordPress can clear, each change waits for a delivery that began after
    its commit; changes made at once share one (a PHP bootstrap per change would cap wpscim at PHP's
    speed). 24 creates sent together: every one answered 201 once WordPress had cleaned its cache, and
    far fewer deliveries than creates."""
    from concurrent.futures import ThreadPoolExecutor

    _, server, scim = _serve_site("companion-cleared", wp, wordpress_server, serve)
    assert scim("POST", "/Users", {"userName": "first@example.com"})[0] == 201  # the first delivery: at start
    before = server.server_log().count("wpscim-companion=deliver")
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda i: scim("POST", "/Users", {"userName": f"crowd{i}@example.com"}), range(24)))
    assert [status for status, _ in answers] == [201] * 24
    deliveries = server.server_log().count("wpscim-companion=deliver") - before
    assert 1 <= deliveries <= 12, f"{deliveries} deliveries for 24 creates"
    # Each answer came after a delivery that covered it: the events are delivered and cleared.
    assert wp.sql("SELECT COUNT(*) FROM wp_wpscim_events WHERE delivered_at IS NULL OR cleared_at IS NULL")[0][0] == 0
    created = sorted(int(user["id"]) for _, user in answers)
    registered = [int(hook["args"][0]) for hook in _hooks(server, 3 * 25) if hook["hook"] == "user_register"]
    assert sorted(registered)[-24:] == created and len(registered) == 25  # once each (and the first user's)


def test_the_trail_is_filtered_by_time(serve, wp, mysql_server):
    """`wpscim events --since` and the admin page's Activity (From/Before, UTC dates) show the events of
    that time and no others."""
    from conftest import database_url

    def add(days_ago: int, action: str, user: str) -> None:
        wp.sql(
            "INSERT INTO wp_wpscim_events (created_at, actor, request_id, action, resource_type, resource_id, attributes, "
            "detail) VALUES (UTC_TIMESTAMP(6) - INTERVAL %s DAY, 'test', %s, %s, 'User', %s, '[]', '{}')",
            (days_ago, f"req-{user}", action, user),
        )

    add(40, "create", "7001")
    add(10, "update", "7002")
    add(0, "delete", "7003")
    where = ["--database-url", database_url(mysql_server, wp.name)]
    listed = _wpscim("events", *where, "--since", "30d", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert [json.loads(line)["resource_id"] for line in listed.stdout.splitlines()] == ["7002", "7003"]  # oldest first
    assert [
        json.loads(line)["resource_id"] for line in _wpscim("events", *where, "--since", "1d", "--format", "json").stdout.splitlines()
    ] == ["7003"]
    unreadable = _wpscim("events", *where, "--since", "yesterday")
    assert unreadable.returncode == 2 and "'--since'" in unreadable.stderr and "'yesterday'" in unreadable.stderr, unreadable.stderr

    base, _ = serve()
    root = base.removesuffix("/scim/v2")
    today = wp.sql("SELECT DATE(UTC_TIMESTAMP())")[0][0]

    session = _admin_session(where, root)

    def shown(query: str) -> list[str]:
        page = _admin_page(session, root, "activity?" + query)
        return re.findall(r'<td class="what">User (\d+)', page)

    assert shown("") == ["7003", "7002", "7001"]
    assert shown(f"since={today - timedelta(days=30)}") == ["7003", "7002"]
    assert shown(f"since={today - timedelta(days=30)}&until={today}") == ["7002"]  # before today
    assert shown(f"until={today - timedelta(days=20)}") == ["7001"]
    assert shown(f"since={today + timedelta(days=1)}") == []
    refused = _admin_page(session, root, "activity?since=yesterday")
    assert "'since' is not a date" in html.unescape(refused) and 'class="event"' not in refused


def test_events_older_than_the_retention_are_deleted(serve, wp, monkeypatch):
    """`--event-retention-days`: events older than that are deleted (at start, then hourly), oldest
    first in small transactions; newer ones stay."""
    from wpscim.wordpress import events

    def add(days_ago: int, count: int) -> None:
        for _ in range(count):
            wp.sql(
                "INSERT INTO wp_wpscim_events (created_at, actor, request_id, action, resource_type, resource_id, attributes, "
                "detail) VALUES (UTC_TIMESTAMP(6) - INTERVAL %s DAY, 'test', '', 'update', 'User', '1', '[]', '{}')",
                (days_ago,),
            )

    add(100, 5)
    add(20, 2)
    add(0, 1)
    monkeypatch.setattr(events, "_PURGE_BATCH", 2)  # several batches, the last one short
    assert events.ChangeLog(wp.site).purge(wp.db, 90) == 5
    assert sorted(days for (days,) in wp.sql("SELECT DATEDIFF(UTC_TIMESTAMP(), created_at) FROM wp_wpscim_events")) == [0, 20, 20]
    # `wpscim serve` purges by itself when it starts (and every hour).
    serve(extra=("--event-retention-days", "10"))
    deadline = time.monotonic() + 20
    while wp.sql("SELECT COUNT(*) FROM wp_wpscim_events")[0][0] != 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [days for (days,) in wp.sql("SELECT DATEDIFF(UTC_TIMESTAMP(), created_at) FROM wp_wpscim_events")] == [0]
