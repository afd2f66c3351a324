"""POST /Bulk (RFC 7644 §3.7). Each operation is served as a sub-request through the same app — same
validation, same transaction per operation, same errors — with `bulkId:` references resolved to the
ids created earlier in the request. Operations whose references are not resolved yet wait for them."""

from __future__ import annotations

import json
import re

import falcon
import falcon.testing

from wpscim.http.media import read_json, write_json
from wpscim.scim.discovery import MAX_OPERATIONS
from wpscim.scim.errors import ScimError, bad_request

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
_REFERENCE = re.compile(r"bulkId:([A-Za-z0-9._~-]+)")
_PATH = re.compile(r"^/(Users|Groups)(/[^/]+)?$", re.I)


def _references(value) -> set[str]:
    if isinstance(value, str):
        return set(_REFERENCE.findall(value))
    if isinstance(value, dict):
        return set().union(*(_references(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_references(v) for v in value)) if value else set()
    return set()


def _resolve(value, ids: dict[str, str]):
    if isinstance(value, str):
        return _REFERENCE.sub(lambda m: ids[m.group(1)], value)
    if isinstance(value, dict):
        return {k: _resolve(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, ids) for v in value]
    return value


class Bulk:
    def __init__(self):
        self.app: falcon.App | None = None  # set by create_app once the app exists

    def on_post(self, req, resp) -> None:
        body = read_json(req)
        if not isinstance(body, dict) or not isinstance(body.get("Operations"), list):
            raise bad_request("a bulk request needs an 'Operations' list", "invalidSyntax")
        operations = body["Operations"]
        if len(operations) > MAX_OPERATIONS:
            raise ScimError(413, f"a bulk request may hold at most {MAX_OPERATIONS} operations (maxOperations)")
        fail_on_errors = body.get("failOnErrors")
        if fail_on_errors is not None and (isinstance(fail_on_errors, bool) or not isinstance(fail_on_errors, int) or fail_on_errors < 1):
            raise bad_request("'failOnErrors' must be a positive integer", "invalidValue")
        results: list[dict | None] = [None] * len(operations)
        ids: dict[str, str] = {}
        errors = 0
        pending = list(range(len(operations)))
        while pending and (fail_on_errors is None or errors < fail_on_errors):
            progressed = False
            for index in list(pending):
                if fail_on_errors is not None and errors >= fail_on_errors:
                    break
                operation = operations[index]
                refs = _references(operation) if isinstance(operation, dict) else set()
                if refs - ids.keys() and refs & {str(self._bulk_id(operations[i])) for i in pending if i != index}:
                    continue  # wait for the operation that creates the referenced resource
                pending.remove(index)
                progressed = True
                results[index] = self._run(req, operation, ids)
                if int(results[index]["status"]) >= 400:
                    errors += 1
            if not progressed:
                for index in pending:  # circular or dangling references
                    results[index] = self._failure(operations[index], ScimError(
                        409, "bulkId references that cannot be resolved (circular, or to a failed operation)", "invalidValue"))
                    errors += 1
                pending = []
        write_json(resp, {"schemas": [BULK_RESPONSE], "Operations": [r for r in results if r is not None]})

    @staticmethod
    def _bulk_id(operation) -> str | None:
        return operation.get("bulkId") if isinstance(operation, dict) else None

    @staticmethod
    def _failure(operation, error: ScimError) -> dict:
        result = {"status": str(error.status), "response": error.body()}
        method = operation.get("method") if isinstance(operation, dict) else None
        if isinstance(method, str) and method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
            result["method"] = method.upper()
        if isinstance(operation, dict) and isinstance(operation.get("bulkId"), str):
            result["bulkId"] = operation["bulkId"]
        return result

    def _run(self, req, operation, ids: dict[str, str]) -> dict:
        if not isinstance(operation, dict):
            return self._failure({}, bad_request("each operation must be an object", "invalidSyntax"))
        if "bulkId" in operation and not isinstance(operation["bulkId"], str):
            return self._failure({"method": operation.get("method")}, bad_request("'bulkId' must be a string", "invalidValue"))
        method = str(operation.get("method") or "").upper()
        path = operation.get("path")
        if method not in ("POST", "PUT", "PATCH", "DELETE"):
            return self._failure(operation, bad_request("'method' must be POST, PUT, PATCH or DELETE", "invalidSyntax"))
        unresolved = _references(operation) - ids.keys()
        if unresolved:
            return self._failure(operation, ScimError(409, f"bulkId {', '.join(sorted(unresolved))} is not defined or failed", "invalidValue"))
        path = _resolve(path, ids) if isinstance(path, str) else None
        match = _PATH.match(path or "")
        if not match or (method == "POST") != (match.group(2) is None):
            return self._failure(operation, bad_request(f"'{operation.get('path')}' is not a valid path for {method}", "invalidPath"))
        if method == "POST" and not operation.get("bulkId"):
            return self._failure(operation, bad_request("a POST operation needs a 'bulkId'", "invalidValue"))
        headers = {"Authorization": req.get_header("Authorization") or "", "Content-Type": "application/scim+json"}
        if operation.get("version"):
            headers["If-Match"] = str(operation["version"])
        data = operation.get("data")
        body = json.dumps(_resolve(data, ids)) if data is not None and method != "DELETE" else ""
        result = falcon.testing.simulate_request(self.app, method, "/scim/v2" + path, body=body, headers=headers,
                                                 protocol=req.scheme, host=req.host, port=req.port)
        outcome = {"method": method, "status": str(result.status_code)}
        if operation.get("bulkId"):
            outcome["bulkId"] = operation["bulkId"]
        location = result.headers.get("location") or (f"{req.prefix}/scim/v2{path}" if method != "POST" else None)
        if result.status_code < 400:
            if location:
                outcome["location"] = location
            if result.headers.get("etag"):
                outcome["version"] = result.headers["etag"]
            if method == "POST":
                ids[operation["bulkId"]] = location.rsplit("/", 1)[-1]
        else:
            outcome["response"] = result.json
        return outcome

