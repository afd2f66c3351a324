"""Request middleware: a request id, case-insensitive SCIM paths, bearer-token authentication, and the
gate that keeps a request thread free of the database."""

from __future__ import annotations

import re
import threading
import time

from wpscim.scim.errors import ScimError
from wpscim.wordpress.events import new_request_id
from wpscim.wordpress.tokens import TokenStore

BASE = "/scim/v2"
ENDPOINTS = ["Users", "Groups", "ServiceProviderConfig", "ResourceTypes", "Schemas", "Bulk", ".search"]
_CANONICAL = {name.lower(): name for name in ENDPOINTS}
_PATH = re.compile(r"/scim/v2(?:/(?P<endpoint>[^/]+))?(?P<rest>/.*)?", re.I | re.S)  # fullmatch: a newline is part of the path


class RequestId:
    """Every request gets an id (time-ordered, wpscim's own), returned as X-Request-Id and written with
    the request's change events, so a log line, a response and an audit entry can be matched."""

    def process_request(self, req, resp) -> None:
        req.context.started = time.perf_counter()  # for the access log and the latency histogram
        req.context.request_id = new_request_id()
        req.context.token_name = ""
        resp.set_header("X-Request-Id", req.context.request_id)


class CanonicalPath:
    """`/SCIM/V2/users/12/` routes like `/scim/v2/Users/12` (Microsoft's own tests send `/users`)."""

    def process_request(self, req, resp) -> None:
        path = req.path.rstrip("/") or "/"
        match = _PATH.fullmatch(path)
        if match:
            endpoint = match["endpoint"]
            path = BASE + (f"/{_CANONICAL.get(endpoint.lower(), endpoint)}" if endpoint else "") + (match["rest"] or "")
        req.path = path


class BearerAuth:
    """Requests under /scim/v2 need a bearer token (`wpscim token create`)."""

    def __init__(self, tokens: TokenStore):
        self.tokens = tokens

    def process_request(self, req, resp) -> None:
        if not req.path.startswith(BASE):
            return
        header = req.get_header("Authorization") or ""
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ScimError(
                401,
                "send 'Authorization: Bearer <token>' (create one with: wpscim token create --name NAME)",
                headers={"WWW-Authenticate": 'Bearer realm="wpscim"'},
            )
        name = self.tokens.verify(token.strip())
        if name is None:
            raise ScimError(
                401,
                "the bearer token is not valid (it may have been revoked)",
                headers={"WWW-Authenticate": 'Bearer realm="wpscim", error="invalid_token"'},
            )
        req.context.token_name = name


def route_template(req, router) -> str | None:
    """The route template a request matched (`/scim/v2/Users/{user_id}`), never the path with its ids.
    A request refused before routing (401) is looked up in the router; None when no route matches."""
    template = req.uri_template
    if template is None and router is not None:
        found = router.find(req.path)
        template = found[3] if found else None
    return template


class DatabaseGate:
    """At most `slots` requests whose resource `uses_database` are answered at once: one fewer than the
    server's request threads, so a thread stays free for discovery, /healthz and /metrics.

    A request beyond the slots waits while the database is moving (some request left the gate within
    the last STUCK_SECONDS with an answer other than 503: a quick refusal while the database is down
    is no progress), up to QUEUE_SECONDS: a burst of an identity provider's requests is queued,
    not refused. When the slots are held and none has been given back for STUCK_SECONDS (the database
    stalls and the requests holding them wait out the read timeout), it gets 503 at once instead of
    queueing behind the stalled ones."""

    STUCK_SECONDS = 0.25
    QUEUE_SECONDS = 10.0

    def __init__(self, slots: int):
        self._slots = threading.BoundedSemaphore(slots)
        self._last_release = time.monotonic()

    def process_resource(self, req, resp, resource, params) -> None:
        if not getattr(resource, "uses_database", False):
            return
        give_up = time.monotonic() + self.QUEUE_SECONDS
        while not self._slots.acquire(timeout=self.STUCK_SECONDS):
            now = time.monotonic()
            if now - self._last_release >= self.STUCK_SECONDS or now >= give_up:
                raise ScimError(503, "every request thread that may use the database is busy; retry shortly", headers={"Retry-After": "1"})
        req.context.gate_held = True

    def process_response(self, req, resp, resource, req_succeeded) -> None:
        if req.context.get("gate_held"):
            req.context.gate_held = False
            if resp.status_code != 503:  # a request the database refused quickly (breaker open) is no progress
                self._last_release = time.monotonic()
            self._slots.release()
