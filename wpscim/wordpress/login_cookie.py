"""WordPress's own sign-in, checked without PHP: the `wordpress_logged_in_<COOKIEHASH>` cookie validated
as WordPress 6.1's `wp_validate_auth_cookie($cookie, 'logged_in')` does (wp-includes/pluggable.php):

- the value (URL-decoded, as PHP fills $_COOKIE) is `login|expiration|token|hmac`, exactly four parts;
- `expiration` is not in the past (POST gets an hour's grace, as WordPress gives POST and Ajax);
- the user is `get_user_by('login', login)` (the login passed through sanitize_user(), non-strict);
- `hmac == hash_hmac('sha256', "login|expiration|token", wp_hash("login|pass_frag|expiration|token",
  'logged_in'))`, where pass_frag is `substr(user_pass, 8, 4)` (6.8+: the last four characters of a hash
  that is neither phpass `$P$` nor plain bcrypt `$2y$`), so a new password ends every cookie;
- `wp_hash($data, 'logged_in') = hash_hmac('md5', $data, wp_salt('logged_in'))`, the salt being
  LOGGED_IN_KEY . LOGGED_IN_SALT from wp-config.php, where a constant that is missing, empty,
  duplicated among the keys or still the sample phrase gives way to SECRET_KEY (for the key) or the
  site option `logged_in_key` / `logged_in_salt` (network options on multisite);
- the session token is live in the user's `session_tokens` usermeta (`hash('sha256', token)` key,
  `expiration >= time()`): logging out destroys it.

The cookie's name is `wordpress_logged_in_` . md5(siteurl) (WP_SITEURL, else the `siteurl` option; the
network's on multisite), unless wp-config.php defines COOKIEHASH or LOGGED_IN_COOKIE itself.

Without wp-config.php's constants (wpscim given only --database-url) the salt cannot be known:
`available` is False and nothing validates."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from urllib.parse import unquote_plus

from wpscim.wordpress import naming, passwords
from wpscim.wordpress.db import Database
from wpscim.wordpress.roles import RoleStore, administers, parse_caps
from wpscim.wordpress.site import Site, unserialize

SAMPLE_PHRASE = "put your unique phrase here"
_KEY_NAMES = [f"{first}_{second}" for first in ("AUTH", "SECURE_AUTH", "LOGGED_IN", "NONCE", "SECRET") for second in ("KEY", "SALT")]
GRACE_SECONDS = 3600  # HOUR_IN_SECONDS: POST and Ajax requests get it


@dataclass(frozen=True)
class SignedIn:
    """A WordPress user a valid login cookie names."""

    user_id: int
    login: str
    display_name: str  # as WordPress stores it (HTML-escaped)
    administrator: bool  # manage_options on this site (or a network's super admin)
    token_hash: str  # sha256 of the session token: ties forms (CSRF) to this WordPress session


def _php_truthy(value) -> bool:
    return value not in (None, False, "", "0", 0, 0.0)


def _php_text(value) -> str:
    if value is True:
        return "1"
    if value in (None, False):
        return ""
    return str(value)


def pass_fragment(user_pass: str, db_version: int) -> str:
    """The part of the password hash a login cookie is bound to."""
    if passwords.uses_wp_bcrypt(db_version) and not user_pass.startswith(("$P$", "$2y$")):
        return user_pass[-4:]
    return user_pass[8:12]


class LoginCookies:
    def __init__(self, db: Database, site: Site, constants: dict | None, roles: RoleStore):
        """`constants`: wp-config.php's define()s (None: wpscim has no wp-config.php, so no salts)."""
        self.db = db
        self.site = site
        self.constants = constants
        self.roles = roles

    @property
    def available(self) -> bool:
        return self.constants is not None

    # --- what WordPress computes once per request ---------------------------------------------

    def _site_option(self, session, name: str) -> str | None:
        """get_site_option(): the options table on a single site, the network's sitemeta on multisite."""
        if self.site.multisite:
            session.execute(
                f"SELECT meta_value FROM `{self.site.base_prefix}sitemeta` WHERE meta_key = %s ORDER BY site_id, meta_id LIMIT 1", (name,)
            )
        else:
            session.execute(f"SELECT option_value FROM {self.site.network_options} WHERE option_name = %s LIMIT 1", (name,))
        row = session.fetchone()
        return row[0] if row and row[0] is not None else None

    def site_url(self) -> str | None:
        """site_url(): where wp-login.php is (WP_SITEURL, else this site's `siteurl` option)."""
        constants = self.constants or {}
        if constants.get("WP_SITEURL"):
            return str(constants["WP_SITEURL"])
        with self.db.reading() as session:
            session.execute(f"SELECT option_value FROM {self.site.options} WHERE option_name = 'siteurl' LIMIT 1")
            row = session.fetchone()
        return row[0] if row and row[0] else None

    def cookie_name(self, session=None) -> str:
        constants = self.constants or {}
        if constants.get("LOGGED_IN_COOKIE"):
            return str(constants["LOGGED_IN_COOKIE"])
        if "COOKIEHASH" in constants:
            cookie_hash = _php_text(constants["COOKIEHASH"])
        else:
            siteurl = None if self.site.multisite else constants.get("WP_SITEURL")
            if siteurl is None:
                if session is None:
                    with self.db.reading() as reading:
                        siteurl = self._site_option(reading, "siteurl")
                else:
                    siteurl = self._site_option(session, "siteurl")
            cookie_hash = hashlib.md5(_php_text(siteurl).encode("utf-8")).hexdigest() if siteurl else ""
        return "wordpress_logged_in_" + cookie_hash

    def salt(self, session) -> str | None:
        """wp_salt('logged_in'), or None when WordPress would have to make one up (it never issued a cookie then)."""
        constants = self.constants or {}
        duplicated: dict[str, bool] = {SAMPLE_PHRASE: True}
        for name in _KEY_NAMES:
            if name in constants:
                value = _php_text(constants[name])
                duplicated[value] = value in duplicated

        def usable(name: str) -> str | None:
            if name not in constants or not _php_truthy(constants[name]):
                return None
            value = _php_text(constants[name])
            return None if duplicated.get(value) else value

        values = {"key": usable("SECRET_KEY") or "", "salt": ""}
        for kind in ("key", "salt"):
            constant = usable(f"LOGGED_IN_{kind.upper()}")
            if constant is not None:
                values[kind] = constant
            elif not values[kind]:
                stored = self._site_option(session, f"logged_in_{kind}")
                if not _php_truthy(stored):
                    return None
                values[kind] = stored
        return values["key"] + values["salt"]

    # --- the check ----------------------------------------------------------------------------

    def validate(self, value: str | None, *, method: str = "GET", now: float | None = None, raw: bool = False) -> SignedIn | None:
        """The signed-in user a logged_in cookie's value names, or None. `raw`: the value is as the browser
        sent it (URL-encoded); otherwise already decoded, as PHP's $_COOKIE holds it."""
        if not value or not self.available:
            return None
        cookie = unquote_plus(value) if raw else value
        parts = cookie.split("|")
        if len(parts) != 4:
            return None
        username, expiration, token, mac = parts
        if not re.fullmatch(r"\d{1,12}", expiration):
            return None  # WordPress would compare PHP's numeric value; an issued cookie only ever holds digits
        now = time.time() if now is None else now
        if int(expiration) + (GRACE_SECONDS if method.upper() == "POST" else 0) < now:
            return None
        with self.db.reading() as session:
            session.execute(
                f"SELECT ID, user_login, user_pass, display_name FROM {self.site.users} WHERE user_login = %s LIMIT 1",
                (naming.sanitize_user(username, strict=False),),
            )
            row = session.fetchone()
            if row is None:
                return None
            user_id, login, user_pass, display_name = row
            salt = self.salt(session)
            if salt is None:
                return None
            fragment = pass_fragment(user_pass or "", self.site.db_version)
            key = hmac.new(salt.encode("utf-8"), f"{username}|{fragment}|{expiration}|{token}".encode(), hashlib.md5).hexdigest()
            expected = hmac.new(key.encode(), f"{username}|{expiration}|{token}".encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected.encode(), mac.encode("utf-8", "surrogatepass")):
                return None
            session.execute(
                f"SELECT meta_key, meta_value FROM {self.site.usermeta} WHERE user_id = %s AND meta_key IN "
                "('session_tokens', %s) ORDER BY umeta_id",
                (user_id, self.site.capabilities_key),
            )
            meta: dict[str, str] = {}
            for key_name, meta_value in session.fetchall():
                meta.setdefault(key_name, meta_value)
            verifier = hashlib.sha256(token.encode("utf-8")).hexdigest()
            if not _session_live(meta.get("session_tokens"), verifier, now):
                return None
            roles = self.roles.recent(session)
            administrator = administers(parse_caps(meta.get(self.site.capabilities_key)), roles) or self._super_admin(session, login)
        return SignedIn(int(user_id), login, display_name or login, administrator, verifier)

    def _super_admin(self, session, login: str) -> bool:
        if not self.site.multisite:
            return False
        raw = self._site_option(session, "site_admins")
        try:
            logins = list((unserialize(raw) or {}).values()) if raw else []
        except (ValueError, TypeError, AttributeError):
            return False
        return login in [str(name) for name in logins]


def _session_live(raw: str | None, verifier: str, now: float) -> bool:
    """WP_User_Meta_Session_Tokens::verify(): the session exists and `expiration >= time()`."""
    if not raw:
        return False
    try:
        sessions = unserialize(raw)
    except (ValueError, TypeError):
        return False
    if not isinstance(sessions, dict):
        return False
    session = sessions.get(verifier)
    if isinstance(session, int) and not isinstance(session, bool):
        session = {"expiration": session}
    if not isinstance(session, dict):
        return False
    expiration = session.get("expiration")
    try:
        return float(expiration) >= int(now)
    except (TypeError, ValueError):
        return False
