"""The access log: one JSON line per request on standard error (`--access-log`, on by default).

    {"time":"2026-12-02T09:49:01.123Z","request_id":"…","token":"okta","method":"GET",
     "path":"/scim/v2/Users","route":"/scim/v2/Users","query":["filter"],"status":200,"duration_ms":3.21}

`time` is when the request arrived (UTC), `token` the *name* of the bearer token that authenticated it
(null when none did), `path` the path as received, without its query string; `query` lists the names of
the SCIM query parameters present (never their values: a filter carries e-mail addresses). Headers and
bodies are never logged, so neither tokens nor passwords nor hashes can reach the log. `duration_ms`
runs until the response starts (a streamed member list may take longer to send)."""

from __future__ import annotations

import logging
import sys
import time
from datetime import datetime, timezone

import orjson

from wpscim.http.middleware import route_template

log = logging.getLogger("wpscim")
_access = logging.getLogger("wpscim.access")

# Query parameters whose *names* are logged (RFC 7644's); other names may be anything a client typed.
QUERY_NAMES = ("filter", "attributes", "excludedAttributes", "sortBy", "sortOrder", "startIndex", "count", "cursor")
_QUERY_NAMES = {name.lower(): name for name in QUERY_NAMES}
_MAX_PATH = 512


def _install_handler() -> None:
    """Lines go to standard error as they are (no logging prefix), once per process."""
    if not any(getattr(h, "wpscim_access", False) for h in _access.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.wpscim_access = True
        _access.addHandler(handler)
    _access.setLevel(logging.INFO)
    _access.propagate = False


class AccessLog:
    def __init__(self, router=None):
        self.router = router
        _install_handler()

    def process_request(self, req, resp) -> None:
        req.context.received_path = req.path  # before CanonicalPath rewrites it

    def process_response(self, req, resp, resource, req_succeeded) -> None:
        try:
            _access.info(self.line(req, resp))
        except Exception:  # noqa: BLE001 - logging never fails a request
            log.exception("access log: could not write the line for request %s", getattr(req.context, "request_id", "-"))

    def line(self, req, resp) -> str:
        context = req.context
        started = getattr(context, "started", None)
        duration = time.perf_counter() - started if started is not None else 0.0
        arrived = datetime.fromtimestamp(time.time() - duration, tz=timezone.utc)
        names = sorted({_QUERY_NAMES[name.lower()] for name in req.params if name.lower() in _QUERY_NAMES})
        entry = {
            "time": arrived.strftime("%Y-%m-%dT%H:%M:%S.") + f"{arrived.microsecond // 1000:03d}Z",
            "request_id": getattr(context, "request_id", None),
            "token": getattr(context, "token_name", "") or None,
            "method": req.method,
            "path": getattr(context, "received_path", req.path)[:_MAX_PATH],
            "route": route_template(req, self.router),
            "query": names,
            "status": resp.status_code,
            "duration_ms": round(duration * 1000, 2),
        }
        return orjson.dumps(entry).decode()
