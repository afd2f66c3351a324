"""Request middleware: a request id, case-insensitive SCIM paths, bearer-token authentication, chunked
bodies read whole, and the gate that keeps a request thread free of the database."""

from __future__ import annotations

import io
import re
import threading
import time

from wpscim.http.media import MAX_BODY_BYTES
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


class ChunkedBody:
    """A SCIM body sent without Content-Length (in chunks over HTTP/1.1, or over HTTP/2) is read here, up
    to the body limit, and handed on with its length: Falcon reads no body without one. (Without a body
    the server's input is empty at once.)"""

    def process_request(self, req, resp) -> None:
        if req.content_length is not None or req.method not in ("POST", "PUT", "PATCH") or not req.path.startswith(BASE):
            return
        body = req.stream.read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            raise ScimError(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
        req.stream = req.env["wsgi.input"] = io.BytesIO(body)  # Falcon bounds env['wsgi.input'] by the length
        req.env["CONTENT_LENGTH"] = str(len(body))


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

    A request beyond the slots waits while the slots keep changing hands (one was taken, or given back
    with an answer other than 503, within the last STUCK_SECONDS: a quick refusal while the database is
    down is no progress), up to QUEUE_SECONDS: a burst of an identity provider's requests is queued, not
    refused. When none has changed hands for STUCK_SECONDS (the database stalls and the requests holding
    the slots wait out the read timeout), it gets 503, and so does every request after it at once until
    a slot moves again: while the database stalls, no request thread waits here for long, and discovery
    keeps its thread. A second, not less: on a busy two-core host a few slow commits can hold every slot
    for a few hundred milliseconds while the database is well."""

    STUCK_SECONDS = 1.0
    QUEUE_SECONDS = 10.0

    def __init__(self, slots: int):
        self._slots = threading.BoundedSemaphore(slots)
        self._moved = time.monotonic()  # a slot was last taken, or given back with an answer other than 503

    def process_resource(self, req, resp, resource, params) -> None:
        if not getattr(resource, "uses_database", False):
            return
        give_up = time.monotonic() + self.QUEUE_SECONDS
        while not self._slots.acquire(timeout=max(0.0, min(self._moved + self.STUCK_SECONDS, give_up) - time.monotonic())):
            now = time.monotonic()
            if now - self._moved >= self.STUCK_SECONDS or now >= give_up:
                raise ScimError(503, "every request thread that may use the database is busy; retry shortly", headers={"Retry-After": "1"})
        self._moved = time.monotonic()
        req.context.gate_held = True

    def process_response(self, req, resp, resource, req_succeeded) -> None:
        if req.context.get("gate_held"):
            req.context.gate_held = False
            if resp.status_code != 503:  # a request the database refused quickly (breaker open) is no progress
                self._moved = time.monotonic()
            self._slots.release()
