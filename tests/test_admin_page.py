"""The admin page (/wpscim/admin/) driven by a real browser: Debian's Chromium, headless, through its own
chromedriver (given explicitly: Selenium Manager never downloads anything).

A real WordPress 6.1 (php -S) and `wpscim serve --wp-config` run on two ports of 127.0.0.1; the browser
signs in through wp-login.php, and WordPress's login cookie (cookies ignore ports) opens wpscim's page.
From the page: a token is created and used against /scim/v2, another revoked and refused (401); an
attribute the IdP sent is mapped to a new usermeta key and the next PATCH lands there; deprovisioning is
switched to delete and `active: false` deletes; the activity list is read, filtered and paged.
Around it: a subscriber's cookie gets 403, a forged or expired one the sign-in prompt, a form without its
CSRF token changes nothing, bearer tokens do not open the page nor the page's sign-in /scim/v2, a
one-time link signs in once, and script in stored values (a token name, a role name, an attribute path
the IdP sent, a display name) renders as text.

Screenshots of each page go to $WPSCIM_SCREENSHOTS (default: the test's tmp dir)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import ADMIN_PASSWORD, free_port

from wpscim.wordpress.site import serialize, unserialize

pytestmark = pytest.mark.browser
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
# Markup that would show up as an element (or run) if any page printed a stored value unescaped.
XSS_TOKEN = '<img id="xss-token" src="x" onerror="window.__xss=1">'
XSS_ROLE = '<b id="xss-role">Hostile</b><script>window.__xss=1</script>'
XSS_TYPE = '<i id="xss-type">t</i>'
XSS_NAME = '<u id="xss-name">Boss</u><script>alert(1)</script>'


def _http(method: str, url: str, body=None, headers: dict | None = None, form: dict | None = None):
    """(status, headers, text) of one request; never raises for a status."""
    data, head = None, dict(headers or {})
    if form is not None:
        data = urllib.parse.urlencode(form, doseq=True).encode()
        head["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        head["Content-Type"] = "application/scim+json"

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(url, data=data, method=method, headers=head)
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=30) as answer:
            return answer.status, answer.headers, answer.read().decode()
    except urllib.error.HTTPError as answer:
        return answer.code, answer.headers, answer.read().decode()


class Scim:
    def __init__(self, base: str, token: str):
        self.base, self.token = base, token

    def __call__(self, method: str, path: str, body=None) -> tuple[int, dict]:
        status, _, text = _http(method, self.base + path, body, {"Authorization": f"Bearer {self.token}"})
        return status, (json.loads(text) if text.strip() else {})


@pytest.fixture
def screenshots(tmp_path) -> Path:
    folder = Path(os.environ.get("WPSCIM_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1280,1500",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER, log_output=str(tmp_path / "chromedriver.log")), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture
def start_stack(wp, wordpress_server, tmp_path):
    """WordPress on one port, `wpscim serve --wp-config` on another (by default no policy flags: the page decides)."""
    processes = []

    def start(*flags: str, env: dict | None = None):
        server = wordpress_server(wp, workers=3)
        config = str(server.site_dir / "wp-config.php")
        port = free_port()
        log = tmp_path / f"wpscim-serve-{port}.log"
        with log.open("w") as output:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "wpscim",
                    "serve",
                    "--wp-config",
                    config,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--threads",
                    "4",
                    *flags,
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
            )
        processes.append(process)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while not _up(base):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"wpscim serve did not start:\n{log.read_text()}")
            time.sleep(0.1)
        return server, base, config

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def stack(start_stack):
    return start_stack()


def _up(base: str) -> bool:
    try:
        urllib.request.urlopen(base + "/healthz", timeout=2).read()
        return True
    except (urllib.error.URLError, ConnectionError):
        return False


def _no_script_ran(driver) -> None:
    """Nothing injected: no alert, no element from stored markup, no flag set by a handler."""
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    try:
        alert = driver.switch_to.alert
        text = alert.text
        alert.dismiss()
        pytest.fail(f"an alert opened: {text}")
    except NoAlertPresentException:
        pass
    for marker in ("xss-token", "xss-role", "xss-type", "xss-name"):
        assert not driver.find_elements(By.ID, marker), f"{marker} was rendered as an element"
    assert driver.execute_script("return window.__xss === undefined")


def _shot(driver, folder: Path, name: str) -> None:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, max(900, min(int(height) + 40, 4000)))
    driver.save_screenshot(str(folder / f"{name}.png"))


def _submit(form) -> None:
    """Submit a form with its button and wait for the page that answers it."""
    _click_and_wait(form.find_element("css selector", "button[type=submit]"))


def _click_and_wait(element) -> None:
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    driver = element.parent
    page = driver.find_element("tag name", "html")
    # Clicked from the page's own script: chromedriver's native click, right after a navigation, now and
    # then failed with "Node with given id does not belong to the document" for an element just found.
    driver.execute_script("arguments[0].click();", element)
    WebDriverWait(driver, 30).until(expected_conditions.staleness_of(page))
    # The new page whole (its elements found later belong to it, not to one still being replaced).
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")


def _hostile_role(wp) -> None:
    """A role whose name is markup, as a plugin (or a bad SQL edit) could leave it."""
    ((raw,),) = wp.sql("SELECT option_value FROM wp_options WHERE option_name = 'wp_user_roles'")
    roles = unserialize(raw)
    roles["hostile"] = {"name": XSS_ROLE, "capabilities": {"read": True}}
    wp.sql("UPDATE wp_options SET option_value = %s WHERE option_name = 'wp_user_roles'", (serialize(roles),))


def test_site_owner_manages_provisioning_from_the_page(stack, wp, browser, screenshots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    server, base, config = stack
    admin_page = base + "/wpscim/admin/"

    # Not signed in: the prompt links to WordPress's login, which sends the browser back here.
    browser.get(admin_page)
    prompt = browser.find_element(By.ID, "wp-login")
    assert "redirect_to=" + urllib.parse.quote(admin_page, safe="") in prompt.get_attribute("href")
    _shot(browser, screenshots, "signin")
    _click_and_wait(prompt)
    # wp-login.php's wp_attempt_focus() moves the focus to the login field 200 ms after load: typing
    # before it ran sent the rest of the password there. Wait for it, then type.
    WebDriverWait(browser, 10).until(
        lambda d: d.execute_script("return document.activeElement && document.activeElement.id") == "user_login"
    )
    browser.find_element(By.ID, "user_login").send_keys("admin")
    browser.find_element(By.ID, "user_pass").send_keys(ADMIN_PASSWORD)
    assert browser.find_element(By.ID, "user_pass").get_attribute("value") == ADMIN_PASSWORD
    _click_and_wait(browser.find_element(By.ID, "wp-submit"))
    assert browser.current_url == admin_page, browser.current_url
    assert browser.find_element(By.ID, "who").text == "admin"
    # The companion's menu item learns the page's address.
    assert wp.sql("SELECT option_value FROM wp_options WHERE option_name = 'wpscim_admin_url'") == [(admin_page,)]

    # Connection: the SCIM base URL as the request reached wpscim, and a token created, shown once, used.
    assert browser.find_element(By.ID, "scim-base-url").text == base + "/scim/v2"
    for name in ("okta", "old", XSS_TOKEN):
        field = browser.find_element(By.ID, "token-name")
        field.clear()
        field.send_keys(name)
        _submit(browser.find_element(By.ID, "create-token"))
        if name == "okta":
            okta = browser.find_element(By.ID, "new-token-value").text
            _shot(browser, screenshots, "connection")
    # Markup in stored values (a token name, a role name, a display name) is shown as text.
    _hostile_role(wp)
    wp.sql("UPDATE wp_users SET display_name = %s WHERE ID = 1", (XSS_NAME,))
    browser.get(admin_page)
    assert XSS_TOKEN in [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "td.token-name")]
    assert browser.find_element(By.ID, "who").text == XSS_NAME
    assert any(XSS_NAME in option.text for option in browser.find_elements(By.CSS_SELECTOR, "#reassign-to option"))
    _no_script_ran(browser)
    scim = Scim(base + "/scim/v2", okta)
    assert scim("GET", "/Users?count=1")[0] == 200
    browser.get(admin_page)
    old = browser.find_element(By.ID, "new-token-value") if browser.find_elements(By.ID, "new-token-value") else None
    assert old is None  # shown once: a reload shows no token
    # Revoke "old" (its value is only known from the page when it was made: make another to hold it).
    field = browser.find_element(By.ID, "token-name")
    field.send_keys("spare")
    _submit(browser.find_element(By.ID, "create-token"))
    spare = Scim(base + "/scim/v2", browser.find_element(By.ID, "new-token-value").text)
    assert spare("GET", "/Users?count=1")[0] == 200
    row = next(
        r for r in browser.find_elements(By.CSS_SELECTOR, "tr.token") if r.find_element(By.CSS_SELECTOR, ".token-name").text == "spare"
    )
    _click_and_wait(row.find_element(By.CSS_SELECTOR, "button.revoke"))
    assert "revoked" in browser.find_element(By.ID, "message").text
    deadline = time.monotonic() + 5  # a revocation reaches every process within the token cache's seconds
    while spare("GET", "/Users?count=1")[0] != 401:
        assert time.monotonic() < deadline, "the revoked token still works"
        time.sleep(0.2)
    assert scim("GET", "/Users?count=1")[0] == 200
    browser.get(admin_page)
    used = {
        r.find_element(By.CSS_SELECTOR, ".token-name").text: r.find_element(By.CSS_SELECTOR, ".last-used").text
        for r in browser.find_elements(By.CSS_SELECTOR, "tr.token")
    }
    assert "spare" not in used and used["old"] == "never" and used["okta"].endswith("UTC"), used
    # The hostile role's name is listed, as text.
    names = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#never_grant .role-name")]
    assert XSS_ROLE in names, names
    _no_script_ran(browser)

    # Provision a user with an attribute the built-in table keeps as JSON, and one path carrying markup.
    status, user = scim(
        "POST",
        "/Users",
        {
            "userName": "dana@example.com",
            "name": {"givenName": "Dana", "familyName": "Lee"},
            "emails": [{"value": "dana@example.com", "primary": True}],
            "title": "Engineer",
            "phoneNumbers": [{"value": "+1 555 0100", "type": XSS_TYPE}],
        },
    )
    assert status == 201, user
    uid = int(user["id"])
    assert wp.sql("SELECT meta_value FROM wp_usermeta WHERE user_id = %s AND meta_key = 'wpscim_title'", (uid,)) == [('"Engineer"',)]

    # Mapping: `title` to a new usermeta key, from the page; the next PATCH lands there.
    browser.get(base + "/wpscim/admin/mapping")
    rows = {r.get_attribute("data-path"): r for r in browser.find_elements(By.CSS_SELECTOR, "tr.attribute")}
    assert f'phoneNumbers[type eq "{XSS_TYPE}"].value' in rows, list(rows)
    _no_script_ran(browser)
    title = rows["title"]
    assert title.find_element(By.CSS_SELECTOR, ".lands").text.startswith("usermeta wpscim_title")
    assert title.find_element(By.CSS_SELECTOR, ".users").text == "1"
    Select(title.find_element(By.CSS_SELECTOR, "select.target")).select_by_value("new")
    title.find_element(By.CSS_SELECTOR, "input.new-key").send_keys("job_title")
    _submit(title.find_element(By.CSS_SELECTOR, "form.map-form"))
    assert "title now lands in usermeta job_title" in browser.find_element(By.ID, "message").text
    _shot(browser, screenshots, "mapping")
    # A target the file format refuses is refused here with the same message, and nothing changes.
    rows = {r.get_attribute("data-path"): r for r in browser.find_elements(By.CSS_SELECTOR, "tr.attribute")}
    nick = rows["name.givenName"]
    Select(nick.find_element(By.CSS_SELECTOR, "select.target")).select_by_value("new")
    nick.find_element(By.CSS_SELECTOR, "input.new-key").send_keys("wp_capabilities")
    _submit(nick.find_element(By.CSS_SELECTOR, "form.map-form"))
    assert (
        "meta 'wp_capabilities' holds WordPress's or wpscim's own state and cannot be mapped" in browser.find_element(By.ID, "error").text
    )
    status, _ = scim(
        "PATCH", f"/Users/{uid}", {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "Staff Engineer"}]}
    )
    assert status == 200
    assert wp.sql("SELECT meta_value FROM wp_usermeta WHERE user_id = %s AND meta_key = 'job_title'", (uid,)) == [("Staff Engineer",)]
    assert scim("GET", f"/Users/{uid}")[1]["title"] == "Staff Engineer"
    assert not wp.sql(
        "SELECT 1 FROM wp_usermeta WHERE user_id = %s AND meta_key = 'wp_capabilities' AND meta_value LIKE '%%Dana%%'", (uid,)
    )

    # Deprovisioning: switched to delete on the page; active=false then deletes the user.
    browser.get(admin_page)
    browser.find_element(By.ID, "deprovision-delete").click()
    _submit(browser.find_element(By.ID, "settings-form"))
    assert "Settings saved" in browser.find_element(By.ID, "message").text
    assert browser.find_element(By.ID, "deprovision-delete").is_selected()
    # (one process here, the one that saved them: it uses them at once; others re-read them within
    # wpscim.wordpress.settings.CACHE_SECONDS)
    status, _ = scim("PATCH", f"/Users/{uid}", {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]})
    assert status in (200, 204)
    assert wp.sql("SELECT COUNT(*) FROM wp_users WHERE ID = %s", (uid,)) == [(0,)]

    # Activity: newest first, filtered by user and action, paged by id.
    status, _ = scim(
        "POST",
        "/Bulk",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": f"b{n}",
                    "data": {"userName": f"bulk{n}@example.com", "displayName": f"Bulk {n}"},
                }
                for n in range(52)
            ],
        },
    )
    assert status == 200
    browser.get(base + "/wpscim/admin/activity")
    events = browser.find_elements(By.CSS_SELECTOR, "tr.event")
    ids = [int(e.get_attribute("data-id")) for e in events]
    assert len(ids) == 50 and ids == sorted(ids, reverse=True)
    assert "Bulk 51" in events[0].find_element(By.CSS_SELECTOR, ".what").text
    _shot(browser, screenshots, "activity")
    _click_and_wait(browser.find_element(By.ID, "older"))
    older = [int(e.get_attribute("data-id")) for e in browser.find_elements(By.CSS_SELECTOR, "tr.event")]
    assert older and max(older) < min(ids)
    browser.get(base + f"/wpscim/admin/activity?user={uid}")
    actions = [e.find_element(By.CSS_SELECTOR, ".action").text for e in browser.find_elements(By.CSS_SELECTOR, "tr.event")]
    assert actions == ["delete", "update", "create"], actions
    browser.get(base + "/wpscim/admin/activity?action=delete")
    assert [e.find_element(By.CSS_SELECTOR, ".what").text for e in browser.find_elements(By.CSS_SELECTOR, "tr.event")] == [
        f"User {uid}: Dana Lee (dana@example.com)"
    ]
    _no_script_ran(browser)

    # Health.
    browser.get(base + "/wpscim/admin/health")
    facts = {
        row.find_element(By.TAG_NAME, "th").text: row.find_element(By.TAG_NAME, "td").text
        for row in browser.find_elements(By.CSS_SELECTOR, "table.facts tr")
    }
    assert facts["Database"].startswith("answers") and "db_version 53496" in facts["WordPress"], facts
    assert "absent" in facts["Lookup index"] and facts["wpscim"]
    _shot(browser, screenshots, "health")

    # A form posted without its CSRF token is refused and changes nothing.
    browser.get(admin_page)
    before = wp.sql("SELECT option_value FROM wp_options WHERE option_name = 'wpscim_tokens'")
    browser.execute_script("document.querySelector('#create-token input[name=csrf]').remove()")
    browser.find_element(By.ID, "token-name").send_keys("forged")
    _submit(browser.find_element(By.ID, "create-token"))
    assert "CSRF" in browser.find_element(By.ID, "refused").text
    _shot(browser, screenshots, "refused-csrf")
    assert wp.sql("SELECT option_value FROM wp_options WHERE option_name = 'wpscim_tokens'") == before


def test_who_may_open_the_page(stack, wp):
    server, base, config = stack
    admin_page = base + "/wpscim/admin/"
    opener = server.login("admin", ADMIN_PASSWORD)
    jar = next(h.cookiejar for h in opener.handlers if hasattr(h, "cookiejar"))
    (cookie,) = [c for c in jar if c.name.startswith("wordpress_logged_in_")]
    good = {"Cookie": f"{cookie.name}={cookie.value}"}
    status, _, page = _http("GET", admin_page, headers=good)
    assert status == 200 and 'id="scim-base-url"' in page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)

    # A forged cookie (any part changed) or an expired one gets the sign-in prompt, nothing else.
    login, expiration, token, mac = urllib.parse.unquote(cookie.value).split("|")
    forged_mac = f"{login}|{expiration}|{token}|{'0' * len(mac)}"
    longer = f"{login}|{int(expiration) + 86400}|{token}|{mac}"
    for value in (forged_mac, longer, f"{login}|{int(time.time()) - 10}|{token}|{mac}", "admin|1|x|y", "garbage"):
        status, _, page = _http("GET", admin_page, headers={"Cookie": f"{cookie.name}={urllib.parse.quote(value, safe='')}"})
        assert status == 401 and 'id="signin"' in page and 'id="scim-base-url"' not in page, value
    # An expired one signed correctly (as WordPress would have, earlier) too.
    from wpscim.wordpress.login_cookie import LoginCookies, pass_fragment
    from wpscim.wordpress.roles import RoleStore
    from wpscim.wordpress.wpconfig import read_wp_config

    cookies = LoginCookies(wp.db, wp.site, read_wp_config(config).constants, RoleStore(wp.site))
    with wp.db.reading() as session:
        salt = cookies.salt(session)
    (user_pass,) = wp.sql("SELECT user_pass FROM wp_users WHERE ID = 1")[0]
    past = int(time.time()) - 30
    key = hmac.new(salt.encode(), f"{login}|{pass_fragment(user_pass, 53496)}|{past}|{token}".encode(), hashlib.md5).hexdigest()
    expired = f"{login}|{past}|{token}|" + hmac.new(key.encode(), f"{login}|{past}|{token}".encode(), hashlib.sha256).hexdigest()
    status, _, page = _http("GET", admin_page, headers={"Cookie": f"{cookie.name}={urllib.parse.quote(expired, safe='')}"})
    assert status == 401 and 'id="signin"' in page

    # A POST without (or with another session's) CSRF token: 403, nothing stored.
    for sent in ({}, {"csrf": "x" * len(csrf)}):
        status, _, page = _http("POST", admin_page, headers=good, form={"action": "create_token", "name": "no-csrf", **sent})
        assert status == 403
    status, _, _ = _http("POST", admin_page, headers=good, form={"action": "save_settings", "deprovision": "delete"})
    assert status == 403
    assert not wp.sql("SELECT 1 FROM wp_options WHERE option_name = 'wpscim_tokens' AND option_value LIKE '%%no-csrf%%'")
    assert not wp.sql("SELECT 1 FROM wp_options WHERE option_name = 'wpscim_settings' AND option_value LIKE '%%delete%%'")
    status, _, page = _http("POST", admin_page, headers=good, form={"action": "create_token", "name": "with-csrf", "csrf": csrf})
    assert status == 200 and 'id="new-token-value"' in page
    bearer = re.search(r'id="new-token-value">([^<]+)<', page).group(1)

    # A subscriber's valid cookie: 403.
    wp.oracle.insert_user({"user_login": "sam", "user_pass": "Sam pw 123", "user_email": "sam@example.com", "role": "subscriber"})
    sam = next(
        c
        for c in next(h.cookiejar for h in server.login("sam", "Sam pw 123").handlers if hasattr(h, "cookiejar"))
        if c.name.startswith("wordpress_logged_in_")
    )
    status, _, page = _http("GET", admin_page, headers={"Cookie": f"{sam.name}={sam.value}"})
    assert status == 403 and 'id="refused"' in page and "sam" in page

    # Bearer tokens do not open the page; the page's sign-in does not open /scim/v2.
    assert _http("GET", admin_page, headers={"Authorization": f"Bearer {bearer}"})[0] == 401
    assert _http("GET", base + "/scim/v2/Users", headers=good)[0] == 401
    assert _http("GET", base + "/scim/v2/Users", headers={"Authorization": f"Bearer {bearer}"})[0] == 200

    # The one-time link: used once, it starts wpscim's own session (cookie scoped to the page).
    made = subprocess.run(
        [sys.executable, "-m", "wpscim", "admin", "link", "--wp-config", config, "--url", base], capture_output=True, text=True, timeout=60
    )
    assert made.returncode == 0, made.stderr
    link = made.stdout.strip().splitlines()[-1]
    assert link.startswith(base + "/wpscim/admin/link?token=")
    token = urllib.parse.parse_qs(urllib.parse.urlparse(link).query)["token"][0]
    stored = wp.sql("SELECT option_name, option_value FROM wp_options WHERE option_name LIKE 'wpscim_admin_link_%%'")
    assert [name for name, _ in stored] == ["wpscim_admin_link_" + hashlib.sha256(token.encode()).hexdigest()]  # only its hash
    status, _, page = _http("GET", link)
    assert status == 200 and 'id="use-link"' in page  # a GET (a link preview) does not use it
    status, headers, _ = _http("POST", base + "/wpscim/admin/link", form={"token": token})
    assert status == 303 and headers["Location"].endswith("/wpscim/admin/")
    set_cookie = headers["Set-Cookie"]
    assert (
        set_cookie.startswith("wpscim_admin=")
        and "HttpOnly" in set_cookie
        and "SameSite=Lax" in set_cookie
        and "Path=/wpscim/admin/" in set_cookie
        and "Secure" not in set_cookie
    )  # plain HTTP here
    session = {"Cookie": set_cookie.split(";")[0]}
    status, _, page = _http("GET", admin_page, headers=session)
    assert status == 200 and "one-time link" in page
    assert _http("POST", base + "/wpscim/admin/link", form={"token": token})[0] == 403  # used up
    assert _http("GET", base + "/scim/v2/Users", headers=session)[0] == 401
    forged = session["Cookie"][:-3] + "AAA"
    assert _http("GET", admin_page, headers={"Cookie": forged})[0] == 401
    # What the page cannot use is refused (400), never a 500: dates its offset moves out of the calendar,
    # IDs longer than any the tables hold, a user who does not exist to receive posts.
    for query in ("since=0001-01-01T00:00%2B01:00", "until=9999-12-31T23:59-05:00", "before=" + "9" * 5000, "user=" + "9" * 5000):
        status, _, page = _http("GET", base + "/wpscim/admin/activity?" + query, headers=session)
        assert status == 400 and 'id="error"' in page, (query, status)
    csrf = re.search(r'name="csrf" value="([^"]+)"', _http("GET", admin_page, headers=session)[2]).group(1)
    for target, said in (("9" * 5000, "Choose a user"), ("99999999999999999999", "there is no user 99999999999999999999")):
        status, _, page = _http("POST", admin_page, headers=session, form={"action": "save_settings", "reassign_to": target, "csrf": csrf})
        assert status == 400 and said in page, (target[:30], status)
    # Signing out ends the session itself, not only the browser's copy of its cookie.
    status, headers, _ = _http("POST", base + "/wpscim/admin/signout", headers=session, form={"csrf": csrf})
    assert status == 303 and "wpscim_admin=" in headers["Set-Cookie"] and "expires=" in headers["Set-Cookie"].lower()
    assert _http("GET", admin_page, headers=session)[0] == 401
    # Over HTTPS (as the site's proxy says), the session cookie is Secure.
    made = subprocess.run(
        [sys.executable, "-m", "wpscim", "admin", "link", "--wp-config", config], capture_output=True, text=True, timeout=60
    )
    token = urllib.parse.parse_qs(urllib.parse.urlparse(made.stdout.strip().splitlines()[-1]).query)["token"][0]
    status, headers, _ = _http("POST", base + "/wpscim/admin/link", form={"token": token}, headers={"X-Forwarded-Proto": "https"})
    assert status == 303 and "Secure" in headers["Set-Cookie"]


def test_flags_and_the_mapping_file_win_over_the_page(start_stack, wp, tmp_path):
    mapping = tmp_path / "site.toml"
    mapping.write_text('[[attribute]]\nscim = "title"\nmeta = "job_title"\n')
    server, base, config = start_stack("--deprovision", "delete", "--mapping", str(mapping), env={"WPSCIM_NEVER_REMOVE": "editor"})
    admin_page = base + "/wpscim/admin/"
    jar = next(h.cookiejar for h in server.login("admin", ADMIN_PASSWORD).handlers if hasattr(h, "cookiejar"))
    (cookie,) = [c for c in jar if c.name.startswith("wordpress_logged_in_")]
    signed_in = {"Cookie": f"{cookie.name}={cookie.value}"}
    status, _, page = _http("GET", admin_page, headers=signed_in)
    assert status == 200
    assert re.search(r'value="delete" id="deprovision-delete"\s+checked disabled', page)
    assert "Set by the command line (<code>--deprovision</code>)" in page
    assert "Set by the command line (<code>--never-remove</code>)" in page  # from its environment variable
    assert "--never-grant" not in page and "--reassign-to" not in page  # defaults: the page may change them
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    status, _, page = _http(
        "POST",
        admin_page,
        headers=signed_in,
        form={
            "csrf": csrf,
            "action": "save_settings",
            "deprovision": "deactivate",
            "never_grant": ["administrator", "editor"],
            "never_remove": ["subscriber"],
        },
    )
    assert status == 200, page
    (stored,) = wp.sql("SELECT option_value FROM wp_options WHERE option_name = 'wpscim_settings'")[0]
    assert json.loads(stored) == {"never_grant": ["administrator", "editor"], "reassign_to": None}
    # The file's entry is fixed on the page, and a page entry for it is refused with the file named.
    scim = Scim(base + "/scim/v2", _new_token(base, signed_in, csrf))
    status, user = scim("POST", "/Users", {"userName": "eve@example.com", "title": "Chief"})
    assert status == 201, user
    status, _, page = _http("GET", base + "/wpscim/admin/mapping", headers=signed_in)
    row = re.search(r'<tr class="attribute" data-path="title">(.*?)</tr>', page, re.S).group(1)
    assert "usermeta job_title" in row and "fixed by the mapping file" in row and "<form" not in row
    status, _, page = _http(
        "POST",
        base + "/wpscim/admin/mapping",
        headers=signed_in,
        form={"csrf": csrf, "action": "map", "scim": "title", "target": "new", "new_key": "position"},
    )
    assert status == 400 and f"title -&gt; job_title is set by the mapping file {mapping}" in page
    assert wp.sql("SELECT meta_value FROM wp_usermeta WHERE user_id = %s AND meta_key = 'job_title'", (int(user["id"]),)) == [("Chief",)]
    # The flag still decides: active=false deletes.
    assert scim("PATCH", f"/Users/{user['id']}", {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]})[
        0
    ] in (200, 204)
    assert wp.sql("SELECT COUNT(*) FROM wp_users WHERE ID = %s", (int(user["id"]),)) == [(0,)]


def _new_token(base: str, headers: dict, csrf: str) -> str:
    status, _, page = _http("POST", base + "/wpscim/admin/", headers=headers, form={"csrf": csrf, "action": "create_token", "name": "idp"})
    assert status == 200, page
    return re.search(r'id="new-token-value">([^<]+)<', page).group(1)
