"""Request and response bodies. Every response is application/scim+json; requests are accepted as
application/scim+json, application/json or with no Content-Type at all (Okta sends all three)."""

from __future__ import annotations

import json
import re

import falcon

from wpscim.scim.errors import ScimError, bad_request
from wpscim.scim.jsontext import dumps, loads

SCIM_JSON = "application/scim+json"
MAX_BODY_BYTES = 1024 * 1024


def read_json(req: falcon.Request):
    """The request body as JSON (read once; a retried responder gets the same body)."""
    if "json_body" not in req.context:
        req.context.json_body = _parse_body(req)
    return req.context.json_body


def _parse_body(req: falcon.Request):
    if req.content_length is not None and req.content_length > MAX_BODY_BYTES:
        raise ScimError(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    raw = req.bounded_stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise ScimError(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        raise bad_request("the request has no body; send a JSON object", "invalidSyntax")
    try:
        value = loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise bad_request("the request body is not UTF-8", "invalidSyntax") from None
    except ValueError as exc:
        raise bad_request(f"the request body is not valid JSON: {exc}", "invalidSyntax") from None
    if _SURROGATE_ESCAPE.search(raw) and _has_lone_surrogate(value):
        # "\ud800" alone is valid JSON but no character: MySQL and UTF-8 cannot store it.
        raise bad_request("the request body holds a lone UTF-16 surrogate escape (\\uD800-\\uDFFF), which is no character",
                          "invalidValue")
    return value


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_lone_surrogate(value) -> bool:
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def write_json(resp: falcon.Response, body: dict, status: int = 200) -> None:
    resp.status = status
    resp.content_type = SCIM_JSON
    resp.data = dumps(body)


class Lazy:
    """A JSON array whose items are produced while the response is written (e.g. 100,000 members),
    so no response has to hold them all in memory."""

    def __init__(self, produce):
        self.produce = produce


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
CHUNK_BYTES = 64 * 1024


def _pieces(value):
    if isinstance(value, Lazy):
        yield "["
        first = True
        for item in value.produce():
            yield _encode(item) if first else "," + _encode(item)
            first = False
        yield "]"
    elif isinstance(value, dict):
        yield "{"
        for index, (key, item) in enumerate(value.items()):
            yield ("," if index else "") + _encode(key) + ":"
            yield from _pieces(item)
        yield "}"
    elif isinstance(value, list):
        yield "["
        for index, item in enumerate(value):
            if index:
                yield ","
            yield from _pieces(item)
        yield "]"
    else:
        yield _encode(value)


def write_streamed_json(resp: falcon.Response, body: dict, status: int = 200) -> None:
    """Like write_json, for bodies holding Lazy arrays: sent in chunks as they are produced."""

    def chunks():
        buffer, size = [], 0
        for piece in _pieces(body):
            buffer.append(piece)
            size += len(piece)
            if size >= CHUNK_BYTES:
                yield "".join(buffer).encode("utf-8")
                buffer, size = [], 0
        if buffer:
            yield "".join(buffer).encode("utf-8")

    resp.status = status
    resp.content_type = SCIM_JSON
    resp.stream = chunks()
