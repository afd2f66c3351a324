"""Every error leaves as a SCIM Error body (RFC 7644 §3.12): `status` as a string, `scimType` where
the RFC defines one, and a `detail` a person can act on. This is the one place that decides what a
storage answer means to a SCIM client. Unexpected failures are logged, not leaked."""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import falcon

from wpscim.scim.errors import ScimError
from wpscim.wordpress.errors import Conflict, Forbidden, Invalid, NotFound, StorageError, Unavailable

log = logging.getLogger("wpscim")
ATTEMPTS = 3


def as_scim_error(exc: StorageError) -> ScimError:
    """What a storage answer means to a SCIM client."""
    if isinstance(exc, NotFound):
        return ScimError(404, exc.detail)
    if isinstance(exc, Conflict):
        return ScimError(409, exc.detail, "uniqueness" if exc.uniqueness else "mutability")
    if isinstance(exc, Forbidden):
        return ScimError(403, exc.detail)
    if isinstance(exc, Invalid):
        return ScimError(400, exc.detail, "mutability" if exc.immutable else "invalidValue")
    if isinstance(exc, Unavailable):
        return ScimError(503, exc.detail, headers={"Retry-After": str(exc.retry_after)})
    return ScimError(500, "internal error; the change was not applied")


def retrying(responder: Callable[..., None]) -> Callable[..., None]:
    """Run a responder again, whole (its whole transaction), when storage says nothing of it was
    committed and a new attempt may succeed: InnoDB chose it as a deadlock victim, a lock wait timed
    out, or its connection was lost before COMMIT. At most ATTEMPTS in all."""

    @functools.wraps(responder)
    def run(self: object, req: falcon.Request, resp: falcon.Response, *args: Any, **kwargs: Any) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return responder(self, req, resp, *args, **kwargs)
            except Unavailable as exc:
                if attempt == ATTEMPTS or not exc.rerun_safe:
                    raise
                log.info("request %s: running %s %s again: %s", getattr(req.context, "request_id", "-"), req.method, req.path, exc.detail)
                time.sleep(0.01 * attempt + random.random() * 0.02)

    return run


def error_response(req: falcon.Request, exc: BaseException) -> tuple[int, dict, dict]:
    """(status, SCIM Error body, headers) for any exception a responder raised."""
    if isinstance(exc, StorageError):
        if isinstance(exc, Unavailable):
            log.warning("request %s: %s", getattr(req.context, "request_id", "-"), exc.detail)
        exc = as_scim_error(exc)
    if isinstance(exc, ScimError):
        return exc.status, exc.body(), exc.headers
    if isinstance(exc, falcon.HTTPError):
        status = exc.status_code
        if status == 404:
            detail = f"no such endpoint: {req.method} {req.path}"
        elif status == 405:
            detail = f"{req.method} is not supported on {req.path}"
        else:
            detail = exc.description or exc.title or "request refused"
        return status, ScimError(status, detail).body(), dict(exc.headers or {})
    log.exception("request %s: unexpected error on %s %s", getattr(req.context, "request_id", "-"), req.method, req.path, exc_info=exc)
    return 500, ScimError(500, "internal error; the change was not applied").body(), {}


def _handle(req: falcon.Request, resp: falcon.Response, exc: Exception, params: dict[str, Any]) -> None:
    status, body, headers = error_response(req, exc)
    resp.status = status
    resp.content_type = "application/scim+json"
    resp.media = body
    for name, value in headers.items():
        resp.set_header(name, value)


def register(app: falcon.App) -> None:
    # Falcon matches a handler by the exception's class; HTTPError has a default of its own, replaced here.
    for kind in (Exception, falcon.HTTPError, ScimError, StorageError):
        app.add_error_handler(kind, _handle)
