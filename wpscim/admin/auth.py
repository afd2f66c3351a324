"""Who is asking for the admin page, and whether a form really comes from it.

- **WordPress's own cookie.** A `wordpress_logged_in_…` cookie WordPress issued, validated as WordPress
  validates it (wpscim.wordpress.login_cookie), of a user who administers the site. Logging out of
  WordPress (or a new password) ends it here too. A valid cookie of anyone else is refused (403).
- **wpscim's own session** (`wpscim admin link`): a one-time link starts it; its cookie `wpscim_admin`
  (HttpOnly, SameSite=Lax, Secure over HTTPS, path /wpscim/admin/) holds an expiry and a random id,
  signed with the site's admin secret. It lasts SESSION_SECONDS, or until signed out (which the
  database remembers: a copied cookie is refused too); deleting the option `wpscim_admin_secret`
  ends every one.
- **Forms** carry a CSRF token: an HMAC of the session (the WordPress session token's hash, or the
  link session's id) under the same secret. A POST without the right one changes nothing (403).

Bearer tokens open none of this, and none of this opens /scim/v2."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from wpscim.wordpress.admin_access import AdminAccess
from wpscim.wordpress.login_cookie import LoginCookies, SignedIn

PREFIX = "/wpscim/admin"
COOKIE_PATH = PREFIX + "/"
SESSION_COOKIE = "wpscim_admin"
SESSION_SECONDS = 8 * 3600


@dataclass(frozen=True)
class Visitor:
    kind: str  # "wordpress" (the WordPress cookie) or "link" (wpscim's session from a one-time link)
    name: str  # who, for the page's header
    session_key: str  # what the CSRF token is bound to
    user: SignedIn | None = None
    expires: int = 0  # a link session's end (Unix seconds)


@dataclass(frozen=True)
class NotAdministrator:
    user: SignedIn


def is_https(req) -> bool:
    return req.forwarded_scheme == "https"


class AdminAuth:
    def __init__(self, cookies: LoginCookies, access: AdminAccess):
        self.cookies = cookies
        self.access = access

    # --- who ----------------------------------------------------------------------------------

    def identify(self, req) -> Visitor | NotAdministrator | None:
        """The signed-in administrator, a signed-in WordPress user who is none, or None (sign in first)."""
        visitor = self._session(req)
        if visitor is not None:
            return visitor
        if not self.cookies.available:
            return None
        name = self.cookies.cookie_name()
        refused = None
        for value in req.get_cookie_values(name) or []:
            user = self.cookies.validate(value, method=req.method, raw=True)
            if user is None:
                continue
            if user.administrator:
                return Visitor("wordpress", user.login, f"wp|{user.user_id}|{user.token_hash}", user)
            refused = NotAdministrator(user)
        return refused

    # --- wpscim's own session -----------------------------------------------------------------

    def _mac(self, text: str) -> str:
        digest = hmac.new(self.access.secret(), text.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def new_session(self, now: float | None = None) -> str:
        """A session cookie's value: `<expires>.<id>.<mac>`."""
        expires = int((time.time() if now is None else now) + SESSION_SECONDS)
        nonce = secrets.token_urlsafe(18)
        return f"{expires}.{nonce}.{self._mac(f'session|{expires}|{nonce}')}"

    def _session(self, req) -> Visitor | None:
        for value in req.get_cookie_values(SESSION_COOKIE) or []:
            parts = value.split(".")
            if len(parts) != 3 or not (parts[0].isascii() and parts[0].isdigit()):
                continue
            expires, nonce, mac = parts
            if int(expires) < time.time():
                continue
            if not hmac.compare_digest(self._mac(f"session|{expires}|{nonce}").encode(), mac.encode("utf-8", "surrogatepass")):
                continue
            if self.access.session_ended(nonce):
                continue
            return Visitor("link", "signed in with a one-time link", f"link|{nonce}", expires=int(expires))
        return None

    def set_session_cookie(self, req, resp, value: str) -> None:
        resp.set_cookie(
            SESSION_COOKIE, value, max_age=SESSION_SECONDS, path=COOKIE_PATH, secure=is_https(req), http_only=True, same_site="Lax"
        )

    def sign_out(self, resp, visitor: Visitor) -> None:
        """The link session ends for good (its cookie, wherever it was copied, opens nothing any more),
        and the browser forgets it. A WordPress sign-in ends by logging out of WordPress."""
        if visitor.kind == "link":
            self.access.end_session(visitor.session_key.removeprefix("link|"), visitor.expires)
        resp.unset_cookie(SESSION_COOKIE, path=COOKIE_PATH, same_site="Lax")

    # --- forms --------------------------------------------------------------------------------

    def csrf_token(self, visitor: Visitor) -> str:
        return self._mac(f"csrf|{visitor.session_key}")

    def csrf_ok(self, visitor: Visitor, sent: str | None) -> bool:
        return bool(sent) and hmac.compare_digest(self.csrf_token(visitor).encode(), sent.encode("utf-8", "surrogatepass"))

    # --- the link -----------------------------------------------------------------------------

    def use_link(self, token: str) -> bool:
        return self.access.consume_link(token)
