"""Every error leaves as a SCIM Error body (RFC 7644 §3.12): `status` as a string, `scimType` where
the RFC defines one, and a `detail` a person can act on. Unexpected failures are logged, not leaked."""

from __future__ import annotations

import functools
import logging
import random
import time

import falcon
import pymysql

from wpscim.http.media import write_json
from wpscim.scim.errors import ScimError

log = logging.getLogger("wpscim")
RETRYABLE = {1205, 1213}  # lock wait timeout, deadlock: InnoDB rolled the transaction back; run it again
ATTEMPTS = 3


def retrying(responder):
    """Run a writing responder again (its whole transaction) when InnoDB chose it as a deadlock victim."""

    @functools.wraps(responder)
    def run(self, req, resp, *args, **kwargs):
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return responder(self, req, resp, *args, **kwargs)
            except pymysql.err.OperationalError as exc:
                if attempt == ATTEMPTS or not exc.args or exc.args[0] not in RETRYABLE:
                    raise
                log.info("retrying %s %s after MySQL error %s", req.method, req.path, exc.args[0])
                time.sleep(0.01 * attempt + random.random() * 0.02)

    return run


def handle_scim_error(req, resp, exc: ScimError, params) -> None:
    write_json(resp, exc.body(), exc.status)
    for name, value in exc.headers.items():
        resp.set_header(name, value)


def handle_http_error(req, resp, exc: falcon.HTTPError, params) -> None:
    status = exc.status_code
    if status == 404:
        detail = f"no such endpoint: {req.method} {req.path}"
    elif status == 405:
        detail = f"{req.method} is not supported on {req.path}"
    else:
        detail = exc.description or exc.title or "request refused"
    write_json(resp, ScimError(status, detail).body(), status)
    for name, value in (exc.headers or {}).items():
        resp.set_header(name, value)


def handle_database_unavailable(req, resp, exc: pymysql.err.OperationalError, params) -> None:
    log.error("database unavailable: %s", exc.args[0] if exc.args else exc)
    write_json(resp, ScimError(503, "the WordPress database is unavailable; retry shortly").body(), 503)
    resp.set_header("Retry-After", "5")


def handle_unexpected(req, resp, exc: Exception, params) -> None:
    if isinstance(exc, falcon.HTTPError):
        return handle_http_error(req, resp, exc, params)
    log.exception("unexpected error on %s %s", req.method, req.path)
    write_json(resp, ScimError(500, "internal error; the change was not applied").body(), 500)


def register(app: falcon.App) -> None:
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(pymysql.err.OperationalError, handle_database_unavailable)
    app.add_error_handler(falcon.HTTPError, handle_http_error)
    app.add_error_handler(ScimError, handle_scim_error)
