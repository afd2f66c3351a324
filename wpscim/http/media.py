"""Request and response bodies, through Falcon's media handlers. Every response is
application/scim+json; a request body is read as JSON whatever its Content-Type says, or without one
(Okta sends application/scim+json with a charset, application/json, or nothing at all).

Bodies are bounded: at most MAX_BODY_BYTES, nested at most MAX_DEPTH deep. A role's members (there
may be 100,000) are streamed as they are read (`write_streamed_json`)."""

from __future__ import annotations

import json
import re

import falcon
import falcon.media

from wpscim.scim.errors import ScimError, bad_request
from wpscim.scim.jsontext import Unreadable, dumps, loads_body

SCIM_JSON = "application/scim+json"
MAX_BODY_BYTES = 1024 * 1024
MAX_DEPTH = 32  # a SCIM body is a few levels deep; a deeper one is refused before anything walks it


class ScimJSONHandler(falcon.media.BaseHandler):
    """JSON in (tolerant of IdPs' content types, strict about size, depth and text) and out (orjson)."""

    def deserialize(self, stream, content_type, content_length):
        if content_length is not None and content_length > MAX_BODY_BYTES:
            raise ScimError(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
        raw = stream.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            raise ScimError(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
        return parse_body(raw)

    def serialize(self, media, content_type) -> bytes:
        return dumps(media)


def parse_body(raw: bytes):
    if not raw.strip():
        raise bad_request("the request has no body; send a JSON object", "invalidSyntax")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise bad_request("the request body is not UTF-8", "invalidSyntax") from None
    try:
        value = loads_body(text)
    except RecursionError:
        raise bad_request(f"the request body is nested more than {MAX_DEPTH} levels deep", "invalidSyntax") from None
    except Unreadable as exc:
        raise bad_request(str(exc), "invalidSyntax") from None
    except ValueError as exc:
        if "recursion" in str(exc).lower():
            raise bad_request(f"the request body is nested more than {MAX_DEPTH} levels deep", "invalidSyntax") from None
        raise bad_request(f"the request body is not valid JSON: {exc}", "invalidSyntax") from None
    if _depth_over(value, MAX_DEPTH):
        raise bad_request(f"the request body is nested more than {MAX_DEPTH} levels deep", "invalidSyntax")
    if _SURROGATE_ESCAPE.search(raw) and _has_lone_surrogate(value):
        # "\ud800" alone is valid JSON but no character: MySQL and UTF-8 cannot store it.
        raise bad_request("the request body holds a lone UTF-16 surrogate escape (\\uD800-\\uDFFF), which is no character", "invalidValue")
    return value


def _depth_over(value, limit: int) -> bool:
    """Whether containers nest deeper than `limit` (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


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


def install(app: falcon.App) -> None:
    """SCIM JSON for every request body (any content type, or none) and every response."""
    handler = ScimJSONHandler()
    handlers = {SCIM_JSON: handler, falcon.MEDIA_JSON: handler, "*/*": handler}
    app.req_options.media_handlers = falcon.media.Handlers(handlers)
    app.req_options.default_media_type = SCIM_JSON
    app.resp_options.media_handlers = falcon.media.Handlers(handlers)
    app.resp_options.default_media_type = SCIM_JSON


def read_json(req: falcon.Request):
    """The request body (read and parsed once; a responder run again gets the same body)."""
    return req.get_media()


def write_json(resp: falcon.Response, body: dict, status: int = 200) -> None:
    resp.status = status
    resp.content_type = SCIM_JSON
    resp.media = body


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
    """Like write_json, for bodies holding Lazy arrays: sent in chunks of CHUNK_BYTES as they are produced."""

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
