"""The admin page's resources: Connection (SCIM URL, tokens, deprovisioning and role settings), Mapping
(attribute paths the IdP sent, where each lands, and a target to choose), Activity (the change log) and
Health. Server-rendered with Jinja2 (autoescape on: every value is escaped); forms POST back with a CSRF
token. They call the storage façade and the site's settings, never SQL."""

from __future__ import annotations

import functools
import html
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import falcon
import jinja2

from wpscim import __version__
from wpscim.admin.auth import COOKIE_PATH, PREFIX, AdminAuth, NotAdministrator, Visitor
from wpscim.wordpress.errors import Invalid, StorageError, Unavailable
from wpscim.wordpress.events import GROUP_ACTIONS, USER_ACTIONS
from wpscim.wordpress.mapping import SPECIAL, lands
from wpscim.wordpress.mapping_file import COLUMNS, MappingError, entry_of, mappable_meta
from wpscim.wordpress.settings import DEPROVISION, SiteSettings

log = logging.getLogger("wpscim")
TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
MAX_FORM_BYTES = 256 * 1024
PAGE_SIZE = 50
# Attribute paths wpscim always stores itself (lookups, uniqueness, state): not offered for mapping.
_KEPT = ("username", "emails", "externalid", "meta.", "password", "active", "roles", "groups", "id", "schemas")
# WordPress's own per-user rows a mapping may route an attribute to.
_WORDPRESS_TARGETS = ("first_name", "last_name", "nickname", "description", "locale")
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["wp_text"] = html.unescape  # WordPress stores names HTML-escaped: shown as the text they stand for (then escaped)
    return env


def _form(req) -> dict[str, list[str]]:
    length = req.content_length or 0
    if length > MAX_FORM_BYTES:
        raise falcon.HTTPPayloadTooLarge(description="form too large")
    raw = req.bounded_stream.read(MAX_FORM_BYTES + 1) if length else b""
    return parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)


def _number(text: str) -> bool:
    """An ID as the tables hold them (BIGINT UNSIGNED: at most 20 digits)."""
    return text.isascii() and text.isdigit() and len(text) <= 20


def _one(form: dict, name: str, default: str = "") -> str:
    values = form.get(name) or [default]
    return values[0]


class Admin:
    """What every page shares: who is asking, rendering, the site's settings."""

    def __init__(self, storage, auth: AdminAuth, settings: SiteSettings, health: Callable[[], dict]):
        self.storage = storage
        self.auth = auth
        self.settings = settings
        self.health = health
        self.templates = environment()

    def base_url(self, req) -> str:
        """The site's address as this request reached wpscim (through its proxy: X-Forwarded-Proto, Host)."""
        return f"{req.forwarded_scheme}://{req.forwarded_host}"

    def page_url(self, req) -> str:
        path = req.env.get("PATH_INFO") or req.path
        return self.base_url(req) + path + (f"?{req.query_string}" if req.query_string else "")

    def render(self, req, resp, template: str, status: int = 200, visitor: Visitor | None = None, **context) -> None:
        resp.status = status
        resp.content_type = "text/html; charset=utf-8"
        for name, value in _HEADERS.items():
            resp.set_header(name, value)
        for name in ("message", "error", "page", "reason", "user"):
            context.setdefault(name, None)
        resp.text = self.templates.get_template(template).render(
            prefix=PREFIX, visitor=visitor, csrf=self.auth.csrf_token(visitor) if visitor else "", version=__version__, **context
        )

    def admit(self, req, resp) -> Visitor | None:
        """The signed-in administrator; otherwise the sign-in prompt (or 403) is rendered and None returned."""
        found = self.auth.identify(req)
        if isinstance(found, Visitor):
            try:
                self.auth.access.note_admin_url(self.base_url(req) + COOKIE_PATH)  # for the companion's menu item
            except StorageError:
                log.warning("could not note the admin page's address in wpscim_admin_url")
            return found
        if isinstance(found, NotAdministrator):
            self.render(req, resp, "refused.html", 403, user=found.user.login)
            return None
        login_url = None
        if self.auth.cookies.available:
            site_url = self.auth.cookies.site_url()
            if site_url:
                login_url = f"{site_url.rstrip('/')}/wp-login.php?" + urlencode({"redirect_to": self.page_url(req)})
        self.render(req, resp, "signin.html", 401, login_url=login_url, cookie_signin=self.auth.cookies.available)
        return None

    def admit_post(self, req, resp) -> tuple[Visitor, dict] | None:
        """admit() for a form: also the form, and a CSRF check (403, nothing changed, when it fails)."""
        visitor = self.admit(req, resp)
        if visitor is None:
            return None
        form = _form(req)
        if not self.auth.csrf_ok(visitor, _one(form, "csrf")):
            self.render(
                req,
                resp,
                "refused.html",
                403,
                visitor=visitor,
                user=None,
                reason="This form did not carry this session's security token (CSRF); nothing was changed. Reload the page and try again.",
            )
            return None
        return visitor, form


def html_errors(responder):
    """Storage's answers as pages: 503 while the database does not answer, 400 for refused values."""

    @functools.wraps(responder)
    def run(self, req, resp, *args, **kwargs):
        try:
            return responder(self, req, resp, *args, **kwargs)
        except Unavailable as exc:
            resp.set_header("Retry-After", str(exc.retry_after))
            self.admin.render(req, resp, "error.html", 503, title="The database does not answer", detail=exc.detail)
        except StorageError as exc:
            self.admin.render(req, resp, "error.html", 400, title="Refused", detail=exc.detail)
        except (falcon.HTTPError, falcon.HTTPStatus):  # redirects, 404s: Falcon's
            raise
        except Exception:  # noqa: BLE001 - logged, not shown
            log.exception("request %s: admin page %s %s failed", getattr(req.context, "request_id", "-"), req.method, req.path)
            self.admin.render(req, resp, "error.html", 500, title="Internal error", detail="See wpscim's log.")

    return run


def _iso_time(text: str) -> str:
    """'2026-01-02T03:04:05.123456Z' as '2026-01-02 03:04:05 UTC'."""
    return text[:19].replace("T", " ") + " UTC" if text else ""


class Connection:
    """/wpscim/admin/: the SCIM URL, tokens, deprovisioning and roles."""

    def __init__(self, admin: Admin):
        self.admin = admin

    @html_errors
    def on_get(self, req, resp) -> None:
        path = req.env.get("PATH_INFO") or ""
        if not path.endswith("/"):  # the session cookie's path is /wpscim/admin/
            raise falcon.HTTPMovedPermanently(COOKIE_PATH)
        visitor = self.admin.admit(req, resp)
        if visitor is not None:
            self._show(req, resp, visitor)

    @html_errors
    def on_post(self, req, resp) -> None:
        admitted = self.admin.admit_post(req, resp)
        if admitted is None:
            return
        visitor, form = admitted
        action = _one(form, "action")
        storage, settings = self.admin.storage, self.admin.settings
        if action == "create_token":
            name = _one(form, "name").strip()
            try:
                token = storage.tokens.create(name)
            except ValueError as exc:
                return self._show(req, resp, visitor, status=400, error=str(exc))
            return self._show(
                req,
                resp,
                visitor,
                new_token=token,
                new_token_name=name,
                message=f"Token '{name}' created. Copy it now: it is shown only once.",
            )
        if action == "revoke_token":
            name = _one(form, "name")
            if not storage.tokens.revoke(name):
                return self._show(req, resp, visitor, status=400, error=f"No token named '{name}'.")
            return self._show(req, resp, visitor, message=f"Token '{name}' revoked: requests bearing it are refused from now on.")
        if action == "save_settings":
            roles = self._roles()
            values = {}
            if "deprovision" not in settings.fixed:
                values["deprovision"] = _one(form, "deprovision", "deactivate")
            if "reassign_to" not in settings.fixed:
                target = _one(form, "reassign_to").strip()
                if target and not _number(target):
                    return self._show(req, resp, visitor, status=400, error="Choose a user to receive deleted users' posts.")
                values["reassign_to"] = int(target) if target else None
            for name in ("never_grant", "never_remove"):
                if name not in settings.fixed:
                    chosen = [slug for slug in form.get(name, []) if slug]
                    unknown = [slug for slug in chosen if slug not in roles]
                    if unknown:
                        return self._show(req, resp, visitor, status=400, error=f"No role '{unknown[0]}' on this site.")
                    values[name] = chosen
            try:
                settings.save_policy(values)
            except Invalid as exc:
                return self._show(req, resp, visitor, status=400, error=exc.detail)
            return self._show(req, resp, visitor, message="Settings saved; every wpscim process uses them within seconds.")
        return self._show(req, resp, visitor, status=400, error="Unknown action.")

    def _roles(self) -> dict[str, str]:
        with self.admin.storage.reading() as session:
            roles = self.admin.storage.roles.load(session)
        return {slug: roles.display(slug) for slug in roles.definitions}

    def _show(self, req, resp, visitor: Visitor, status: int = 200, **extra) -> None:
        storage, settings = self.admin.storage, self.admin.settings
        current = settings.current()
        tokens = [
            {**t, "created": _iso_time(t["created"]), "last_used": _iso_time(t["last_used"]) or "never"} for t in storage.tokens.list()
        ]
        administrators = self.admin.auth.access.administrators(storage.roles)
        self.admin.render(
            req,
            resp,
            "connection.html",
            status,
            visitor=visitor,
            page="connection",
            scim_url=self.admin.base_url(req) + "/scim/v2",
            tokens=tokens,
            roles=self._roles(),
            policy=current.policy,
            role_policy=current.role_policy,
            fixed=settings.fixed,
            deprovision_modes=DEPROVISION,
            administrators=administrators,
            new_token=extra.pop("new_token", None),
            new_token_name=extra.pop("new_token_name", None),
            **extra,
        )


class MappingPage:
    """/wpscim/admin/mapping: every attribute path the IdP sent, where it lands, and where it should."""

    def __init__(self, admin: Admin):
        self.admin = admin

    @html_errors
    def on_get(self, req, resp) -> None:
        visitor = self.admin.admit(req, resp)
        if visitor is not None:
            self._show(req, resp, visitor)

    @html_errors
    def on_post(self, req, resp) -> None:
        admitted = self.admin.admit_post(req, resp)
        if admitted is None:
            return
        visitor, form = admitted
        settings = self.admin.settings
        scim = _one(form, "scim").strip()
        entries = [entry_of(f) for f in settings.current().page_fields if f.scim.lower() != scim.lower()]
        action = _one(form, "action")
        if action == "map":
            target = _one(form, "target")
            kind, _, key = target.partition(":")
            if kind == "new":
                kind, key = "meta", _one(form, "new_key").strip()
            if kind not in ("column", "meta") or not key:
                return self._show(req, resp, visitor, status=400, error="Choose where the attribute should land (or name a new key).")
            entries.append({"scim": scim, kind: key})
            done = f"{scim} now lands in {'users.' if kind == 'column' else 'usermeta '}{key}."
        elif action == "unmap":
            done = f"{scim} lands where the built-in table (and the mapping file) say again."
        else:
            return self._show(req, resp, visitor, status=400, error="Unknown action.")
        try:
            settings.save_mapping(entries)
        except MappingError as exc:
            return self._show(req, resp, visitor, status=400, error=str(exc))
        self._show(req, resp, visitor, message=done + " Values move there the next time the IdP sends them.")

    def _show(self, req, resp, visitor: Visitor, status: int = 200, **extra) -> None:
        storage, settings = self.admin.storage, self.admin.settings
        current = settings.current()
        observed = storage.observed.all()
        page_entries = {f.scim.lower(): f for f in current.page_fields}
        paths = sorted({*observed, *(f.scim for f in current.page_fields)}, key=str.lower)
        in_use = [key for key in storage.observed.meta_keys_in_use() if mappable_meta(key)]
        meta_targets = sorted(
            {*_WORDPRESS_TARGETS, *in_use, *(f.meta_key for f in current.mapping.fields if f.meta_key and mappable_meta(f.meta_key))},
            key=str.lower,
        )
        rows, counted = [], set()
        for path in paths:
            where = lands(path, current.mapping, storage.site.capabilities_key)
            key = where.split(" ")[1] if where.startswith("usermeta ") else None
            if key:
                counted.add(key)
            field = current.mapping.by_path.get(path.lower())
            fixed_by_file = settings.file_fixes(path)
            lowered = path.lower()
            kept = lowered.startswith(_KEPT) or lowered in {s.lower() for s in SPECIAL}
            rows.append(
                {
                    "path": path,
                    "seen": observed.get(path, ""),
                    "lands": where,
                    "key": key,
                    "target": (f"column:{field.column}" if field.column else f"meta:{field.meta_key}") if field else "",
                    "page": lowered in page_entries,
                    "file": fixed_by_file is not None,
                    "kept": kept,
                }
            )
        counts = storage.observed.carriers(sorted(counted))
        for row in rows:
            row["users"] = counts.get(row["key"]) if row["key"] else None
        self.admin.render(
            req,
            resp,
            "mapping.html",
            status,
            visitor=visitor,
            page="mapping",
            rows=rows,
            columns=COLUMNS,
            meta_targets=meta_targets,
            source=current.mapping.source,
            file_source=settings.file_source,
            **extra,
        )


class Activity:
    """/wpscim/admin/activity: the change log, newest first, filtered, paged by id."""

    def __init__(self, admin: Admin):
        self.admin = admin

    @html_errors
    def on_get(self, req, resp) -> None:
        visitor = self.admin.admit(req, resp)
        if visitor is None:
            return
        user = (req.get_param("user") or "").strip()
        action = req.get_param("action") or ""
        since, until = req.get_param("since") or "", req.get_param("until") or ""
        before = req.get_param("before") or ""
        problems = []
        if user and not _number(user):
            problems.append("User must be a user ID.")
        if action and action not in {*USER_ACTIONS, *GROUP_ACTIONS}:
            problems.append("Unknown action.")
        when = {}
        for name, text in (("since", since), ("until", until)):
            if text:
                try:
                    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
                    when[name] = parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
                except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved across midnight by its offset
                    problems.append(f"'{name}' is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM).")
        if before and not _number(before):
            problems.append("'before' must be an event id.")
        events, older = [], None
        if not problems:
            with self.admin.storage.reading() as session:
                found = self.admin.storage.changes.history(
                    session,
                    user=user or None,
                    action=action or None,
                    since=when.get("since"),
                    until=when.get("until"),
                    before_id=int(before) if before else None,
                    limit=PAGE_SIZE + 1,
                )
            if len(found) > PAGE_SIZE:
                found = found[:PAGE_SIZE]
                query = {k: v for k, v in (("user", user), ("action", action), ("since", since), ("until", until)) if v}
                older = "?" + urlencode({**query, "before": found[-1]["id"]})
            events = [_event_row(e) for e in found]
        filters = {"user": user, "action": action, "since": since, "until": until}
        self.admin.render(
            req,
            resp,
            "activity.html",
            400 if problems else 200,
            visitor=visitor,
            page="activity",
            events=events,
            older=older,
            filters=filters,
            actions=sorted({*USER_ACTIONS, *GROUP_ACTIONS}),
            error=" ".join(problems) or None,
            newest=bool(before),
        )


def _event_row(event: dict) -> dict:
    detail = event.get("detail") or {}
    label = ""
    if event["resource_type"] == "User":
        snapshot = detail.get("after") or detail.get("before") or {}
        if isinstance(snapshot, dict):
            shown = html.unescape(str(snapshot.get("display_name") or ""))  # stored HTML-escaped, as WordPress does
            login = str(snapshot.get("user_login") or "")
            label = f"{shown} ({login})" if shown and shown != login else login
    elif event["resource_type"] == "Group":
        named = detail.get("after") or detail.get("before") or {}
        label = html.unescape(str(named.get("name") or "")) if isinstance(named, dict) else ""
        if detail.get("users"):
            label += (" — users " if label else "users ") + ", ".join(str(u) for u in detail["users"][:20])
    return {**event, "time": _iso_time(event["time"]), "label": label}


class Health:
    """/wpscim/admin/health: database, WordPress, caches, companion, index, wpscim."""

    def __init__(self, admin: Admin):
        self.admin = admin

    @html_errors
    def on_get(self, req, resp) -> None:
        visitor = self.admin.admit(req, resp)
        if visitor is None:
            return
        started = time.monotonic()
        facts = self.admin.health()
        self.admin.render(
            req, resp, "health.html", visitor=visitor, page="health", facts=facts, took=f"{(time.monotonic() - started) * 1000:.0f} ms"
        )


class SignInLink:
    """/wpscim/admin/link?token=…: a one-time link from `wpscim admin link`. GET asks for a click (so link
    previews do not use it up); the POST uses it once and starts wpscim's own session."""

    def __init__(self, admin: Admin):
        self.admin = admin

    @html_errors
    def on_get(self, req, resp) -> None:
        self.admin.render(req, resp, "link.html", token=req.get_param("token") or "")

    @html_errors
    def on_post(self, req, resp) -> None:
        token = _one(_form(req), "token")
        if not self.admin.auth.use_link(token):
            self.admin.render(
                req,
                resp,
                "error.html",
                403,
                title="This sign-in link cannot be used",
                detail="It was used already, has expired (links last 10 minutes) or is not one wpscim made. "
                "Make a new one: wpscim admin link …",
            )
            return
        self.admin.auth.set_session_cookie(req, resp, self.admin.auth.new_session())
        raise falcon.HTTPSeeOther(COOKIE_PATH)


class SignOut:
    def __init__(self, admin: Admin):
        self.admin = admin

    @html_errors
    def on_post(self, req, resp) -> None:
        admitted = self.admin.admit_post(req, resp)
        if admitted is None:
            return
        visitor, _ = admitted
        self.admin.auth.sign_out(resp, visitor)
        raise falcon.HTTPSeeOther(COOKIE_PATH)


class Static:
    TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}

    def on_get(self, req, resp, name: str) -> None:
        path = STATIC / name
        if "/" in name or name.startswith(".") or path.suffix not in self.TYPES or not path.is_file():
            raise falcon.HTTPNotFound()
        resp.content_type = self.TYPES[path.suffix]
        resp.set_header("Cache-Control", "max-age=300")
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.data = path.read_bytes()


class NotFound:
    """Any other path under /wpscim/admin."""

    def __init__(self, admin: Admin):
        self.admin = admin

    def __call__(self, req, resp, **kwargs) -> None:
        self.admin.render(req, resp, "error.html", 404, title="Not found", detail=f"No admin page at {req.path}.")
