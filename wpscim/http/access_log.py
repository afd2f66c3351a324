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
import os
import sys
import threading
import time

import orjson

from wpscim.http.middleware import route_template

log = logging.getLogger("wpscim")

# Query parameters whose *names* are logged (RFC 7644's); other names may be anything a client typed.
QUERY_NAMES = ("filter", "attributes", "excludedAttributes", "sortBy", "sortOrder", "startIndex", "count", "cursor")
_QUERY_NAMES = {name.lower(): name for name in QUERY_NAMES}
_MAX_PATH = 512


class AccessLog:
    """Each line is written with one write() to standard error's file descriptor (whole lines from
    several threads and processes do not interleave), without the logging module's per-record work."""

    def __init__(self, router=None, stream=None):
        self.router = router
        try:
            self._fd = (stream or sys.stderr).fileno()
        except (AttributeError, OSError, ValueError):  # standard error replaced by an object without a descriptor
            self._fd = 2
        self._lock = threading.Lock()

    def process_request(self, req, resp) -> None:
        req.context.received_path = req.path  # before CanonicalPath rewrites it

    def process_response(self, req, resp, resource, req_succeeded) -> None:
        try:
            self.write(self.line(req, resp))
        except Exception:  # noqa: BLE001 - logging never fails a request
            log.exception("access log: could not write the line for request %s", getattr(req.context, "request_id", "-"))

    def write(self, line: bytes) -> None:
        data = memoryview(line + b"\n")
        with self._lock:
            while data:
                data = data[os.write(self._fd, data) :]

    def line(self, req, resp) -> bytes:
        context = req.context
        started = getattr(context, "started", None)
        duration = time.perf_counter() - started if started is not None else 0.0
        arrived = time.time() - duration
        names = [_QUERY_NAMES[name.lower()] for name in req.params if name.lower() in _QUERY_NAMES] if req.query_string else []
        return orjson.dumps(
            {
                "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(arrived)) + f".{int(arrived % 1 * 1000):03d}Z",
                "request_id": getattr(context, "request_id", None),
                "token": getattr(context, "token_name", "") or None,
                "method": req.method,
                "path": getattr(context, "received_path", req.path)[:_MAX_PATH],
                "route": route_template(req, self.router),
                "query": sorted(set(names)),
                "status": resp.status_code,
                "duration_ms": round(duration * 1000, 2),
            }
        )
