"""wpscim accepts WordPress's login cookie exactly when WordPress does (wpscim.wordpress.login_cookie).

A real WordPress 6.1 (Debian's, served by php -S) issues the cookie through wp-login.php; WordPress's own
verdict on a cookie is whether a front-end page it renders for that cookie is a signed-in one (`<body
class="… logged-in …">`: wp_validate_logged_in_cookie). Every variant is judged by both: the issued cookie,
each of its four parts changed, an expired one (signed correctly, so only the expiry refuses it), after
logging out (the session destroyed) and after a new password. The salt's fallbacks (sample phrase,
duplicates, SECRET_KEY, the options) are checked against the rules of wp_salt() as 6.1 has them."""

from __future__ import annotations

import hashlib
import hmac
import html
import re
import time
import urllib.parse

import pytest
from conftest import ADMIN_PASSWORD

from wpscim.wordpress import passwords
from wpscim.wordpress.login_cookie import SAMPLE_PHRASE, LoginCookies, pass_fragment
from wpscim.wordpress.roles import RoleStore
from wpscim.wordpress.wpconfig import read_wp_config

pytestmark = pytest.mark.oracle


def _cookie(opener, prefix: str = "wordpress_logged_in_") -> tuple[str, str]:
    """(name, value as the browser holds it: URL-encoded) of the logged_in cookie an opener carries."""
    jar = next(h.cookiejar for h in opener.handlers if hasattr(h, "cookiejar"))
    found = [c for c in jar if c.name.startswith(prefix)]
    assert len(found) == 1, [c.name for c in jar]
    return found[0].name, found[0].value


def _wordpress_says(server, name: str, value: str, method: str = "GET") -> bool:
    """WordPress's own verdict: does it render the front page for a signed-in user with only this cookie?"""
    answer = server.request(method, "/", headers={"Cookie": f"{name}={value}"}, data=b"" if method == "POST" else None)
    assert answer.status == 200, answer.status
    body = re.search(rb"<body[^>]*class=\"([^\"]*)\"", answer.body)
    assert body, answer.body[:500]
    return b"logged-in" in body.group(1).split()


def _forge(cookies: LoginCookies, user_pass: str, login: str, expiration: int, token: str) -> str:
    """A cookie signed as WordPress signs one (for cases WordPress would not issue: an expired one)."""
    with cookies.db.reading() as session:
        salt = cookies.salt(session)
    fragment = pass_fragment(user_pass, cookies.site.db_version)
    key = hmac.new(salt.encode(), f"{login}|{fragment}|{expiration}|{token}".encode(), hashlib.md5).hexdigest()
    mac = hmac.new(key.encode(), f"{login}|{expiration}|{token}".encode(), hashlib.sha256).hexdigest()
    return urllib.parse.quote(f"{login}|{expiration}|{token}|{mac}", safe="")


@pytest.fixture
def site(wp, wordpress_server):
    server = wordpress_server(wp, workers=2)
    constants = read_wp_config(server.site_dir / "wp-config.php").constants
    return wp, server, LoginCookies(wp.db, wp.site, constants, RoleStore(wp.site))


def test_wordpress_and_wpscim_agree_on_every_cookie(site):
    wp, server, cookies = site
    opener = server.login("admin", ADMIN_PASSWORD)
    name, value = _cookie(opener)
    assert name == cookies.cookie_name() == "wordpress_logged_in_" + hashlib.md5(server.url.encode()).hexdigest()

    # The cookie WordPress issued: both let the administrator in.
    assert _wordpress_says(server, name, value)
    signed_in = cookies.validate(value, raw=True)
    assert signed_in is not None and signed_in.user_id == 1 and signed_in.login == "admin" and signed_in.administrator

    # Any part changed: neither does.
    login, expiration, token, mac = urllib.parse.unquote_plus(value).split("|")
    flip = lambda text: text[:-1] + ("0" if text[-1] != "0" else "1")  # noqa: E731
    variants = {
        "login": f"{flip(login)}|{expiration}|{token}|{mac}",
        "another user": f"nobody|{expiration}|{token}|{mac}",
        "expiration": f"{login}|{int(expiration) + 1}|{token}|{mac}",
        "token": f"{login}|{expiration}|{flip(token)}|{mac}",
        "hmac": f"{login}|{expiration}|{token}|{flip(mac)}",
        "a part more": f"{login}|{expiration}|{token}|{mac}|x",
        "a part less": f"{login}|{expiration}|{token}",
    }
    for what, changed in variants.items():
        encoded = urllib.parse.quote(changed, safe="")
        assert not _wordpress_says(server, name, encoded), what
        assert cookies.validate(encoded, raw=True) is None, what

    # Expired, though correctly signed for a live session: both refuse it; a POST gets WordPress's hour of grace.
    (user_pass,) = wp.sql("SELECT user_pass FROM wp_users WHERE ID = 1")[0]
    expired = _forge(cookies, user_pass, login, int(time.time()) - 60, token)
    assert not _wordpress_says(server, name, expired) and cookies.validate(expired, raw=True) is None
    assert _wordpress_says(server, name, expired, "POST") and cookies.validate(expired, raw=True, method="POST") is not None
    long_expired = _forge(cookies, user_pass, login, int(time.time()) - 7200, token)
    assert not _wordpress_says(server, name, long_expired, "POST") and cookies.validate(long_expired, raw=True, method="POST") is None
    # (and the issued cookie itself, once its time is past)
    assert cookies.validate(value, raw=True, now=int(expiration) + 1) is None

    # Logged out (WordPress destroys the session): the cookie is dead for both.
    page = opener.open(server.url + "/", timeout=60).read().decode()
    logout = html.unescape(re.search(r'href="([^"]*wp-login\.php\?action=logout[^"]*)"', page).group(1))
    opener.open(logout, timeout=60).read()
    assert not _wordpress_says(server, name, value) and cookies.validate(value, raw=True) is None

    # A new password ends every cookie too (the hash's fragment is signed into it).
    name, value = _cookie(server.login("admin", ADMIN_PASSWORD))
    assert _wordpress_says(server, name, value) and cookies.validate(value, raw=True) is not None
    wp.sql("UPDATE wp_users SET user_pass = %s WHERE ID = 1", (passwords.hash_password("another password", wp.site.db_version),))
    assert not _wordpress_says(server, name, value) and cookies.validate(value, raw=True) is None


def test_a_subscriber_is_signed_in_but_no_administrator(site):
    wp, server, cookies = site
    wp.oracle.insert_user({"user_login": "sam", "user_pass": "Sam pw 123", "user_email": "sam@example.com", "role": "subscriber"})
    name, value = _cookie(server.login("sam", "Sam pw 123"))
    assert _wordpress_says(server, name, value)
    signed_in = cookies.validate(value, raw=True)
    assert signed_in is not None and signed_in.login == "sam" and not signed_in.administrator


def test_without_wp_config_nothing_validates(site):
    wp, server, cookies = site
    name, value = _cookie(server.login("admin", ADMIN_PASSWORD))
    without = LoginCookies(wp.db, wp.site, None, RoleStore(wp.site))
    assert not without.available and without.validate(value, raw=True) is None


def test_the_salt_falls_back_as_wp_salt_does(wp):
    def salt(constants: dict) -> str | None:
        cookies = LoginCookies(wp.db, wp.site, constants, RoleStore(wp.site))
        with wp.db.reading() as session:
            return cookies.salt(session)

    # From wp-config.php when set, unique and not the sample phrase.
    assert salt({"LOGGED_IN_KEY": "k", "LOGGED_IN_SALT": "s"}) == "ks"
    # Otherwise from the options WordPress generates on first use (none yet: WordPress issued no cookie then).
    assert salt({"LOGGED_IN_KEY": SAMPLE_PHRASE, "LOGGED_IN_SALT": "s"}) is None
    wp.sql(
        "INSERT INTO wp_options (option_name, option_value, autoload) VALUES ('logged_in_key', 'option-key', 'no'), "
        "('logged_in_salt', 'option-salt', 'no')"
    )
    assert salt({"LOGGED_IN_KEY": SAMPLE_PHRASE, "LOGGED_IN_SALT": "s"}) == "option-keys"
    assert salt({}) == "option-keyoption-salt"
    assert salt({"LOGGED_IN_KEY": "", "LOGGED_IN_SALT": "0"}) == "option-keyoption-salt"  # PHP's falsy values
    # A value two constants share is no secret: both give way.
    assert salt({"LOGGED_IN_KEY": "same", "AUTH_SALT": "same", "LOGGED_IN_SALT": "s"}) == "option-keys"
    # SECRET_KEY stands in for a missing key (and the option is not read then).
    assert salt({"SECRET_KEY": "secret", "LOGGED_IN_SALT": "s"}) == "secrets"
    assert salt({"SECRET_KEY": "secret"}) == "secretoption-salt"


def test_the_password_fragment_follows_the_installed_version():
    phpass = "$P$BabcdefghijklmnopqrstuvwxyzABCD"
    assert pass_fragment(phpass, 53496) == phpass[8:12]
    wp_bcrypt = "$wp$2y$10$" + "x" * 49 + "WXYZ"
    assert pass_fragment(wp_bcrypt, 53496) == wp_bcrypt[8:12]  # 6.1 knows nothing else
    assert pass_fragment(wp_bcrypt, passwords.WP_68_DB_VERSION) == "WXYZ"
    assert pass_fragment("$2y$10$" + "y" * 53, passwords.WP_68_DB_VERSION) == ("$2y$10$" + "y" * 53)[8:12]
