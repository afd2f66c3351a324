"""Request and response bodies. Every response is application/scim+json; requests are accepted as
application/scim+json, application/json or with no Content-Type at all (Okta sends all three)."""

from __future__ import annotations

import json

import falcon

from wpscim.scim.errors import ScimError, bad_request

SCIM_JSON = "application/scim+json"
MAX_BODY_BYTES = 1024 * 1024


def read_json(req: falcon.Request):
    if req.content_length is not None and req.content_length > MAX_BODY_BYTES:
        raise ScimError(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    raw = req.bounded_stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise ScimError(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        raise bad_request("the request has no body; send a JSON object", "invalidSyntax")
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise bad_request("the request body is not UTF-8", "invalidSyntax") from None
    except ValueError as exc:
        raise bad_request(f"the request body is not valid JSON: {exc}", "invalidSyntax") from None


def write_json(resp: falcon.Response, body: dict, status: int = 200) -> None:
    resp.status = status
    resp.content_type = SCIM_JSON
    resp.text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
