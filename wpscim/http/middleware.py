"""Request middleware: a request id, case-insensitive SCIM paths, then bearer-token authentication."""

from __future__ import annotations

import re
import time

from wpscim.scim.errors import ScimError
from wpscim.wordpress.events import new_request_id
from wpscim.wordpress.tokens import TokenStore

BASE = "/scim/v2"
ENDPOINTS = ["Users", "Groups", "ServiceProviderConfig", "ResourceTypes", "Schemas", "Bulk", ".search"]
_CANONICAL = {name.lower(): name for name in ENDPOINTS}
_PATH = re.compile(r"^/scim/v2(?:/(?P<endpoint>[^/]+))?(?P<rest>/.*)?$", re.I)


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
        match = _PATH.match(path)
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
            raise ScimError(401, "send 'Authorization: Bearer <token>' (create one with: wpscim token create --name NAME)",
                            headers={"WWW-Authenticate": 'Bearer realm="wpscim"'})
        name = self.tokens.verify(token.strip())
        if name is None:
            raise ScimError(401, "the bearer token is not valid (it may have been revoked)",
                            headers={"WWW-Authenticate": 'Bearer realm="wpscim", error="invalid_token"'})
        req.context.token_name = name


def route_template(req, router) -> str | None:
    """The route template a request matched (`/scim/v2/Users/{user_id}`), never the path with its ids.
    A request refused before routing (401) is looked up in the router; None when no route matches."""
    template = req.uri_template
    if template is None and router is not None:
        found = router.find(req.path)
        template = found[3] if found else None
    return template
