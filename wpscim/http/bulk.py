"""POST /Bulk (RFC 7644 §3.7). Each operation is dispatched to the same resource code a single request
reaches (same validation, same transaction per operation, same errors), with `bulkId:` references
resolved to the ids created earlier in the request. Operations whose references are not resolved yet
wait for them."""

from __future__ import annotations

import io
import json
import re
from collections import Counter

import falcon

from wpscim.http.discovery import scim_base
from wpscim.http.errors import error_response
from wpscim.http.media import read_json, write_json
from wpscim.scim.discovery import MAX_OPERATIONS
from wpscim.scim.errors import ScimError, bad_request

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
_REFERENCE = re.compile(r"bulkId:([A-Za-z0-9._~-]+)")
_PATH = re.compile(r"^/(Users|Groups)(?:/([^/]+))?$", re.I)


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
    uses_database = True  # see http.middleware.DatabaseGate

    def __init__(self, resources: dict[str, tuple[object, object]]):
        """`resources`: "Users"/"Groups" -> (collection resource, item resource)."""
        self.resources = {kind.lower(): pair for kind, pair in resources.items()}

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
        # A bulkId names one operation (RFC 7644 §3.7): a reference to one that several carry is ambiguous.
        named = Counter(bulk_id for op in operations if isinstance(bulk_id := self._bulk_id(op), str))
        for index in list(pending):
            bulk_id = self._bulk_id(operations[index])
            if isinstance(bulk_id, str) and named[bulk_id] > 1:
                pending.remove(index)
                results[index] = self._failure(
                    operations[index], bad_request(f"bulkId '{bulk_id}' names more than one operation", "invalidValue")
                )
                errors += 1
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
                results[index] = self._run(req, operation, ids, index + 1)
                if int(results[index]["status"]) >= 400:
                    errors += 1
            if not progressed:
                for index in pending:  # circular or dangling references
                    results[index] = self._failure(
                        operations[index],
                        ScimError(409, "bulkId references that cannot be resolved (circular, or to a failed operation)", "invalidValue"),
                    )
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

    def _run(self, req, operation, ids: dict[str, str], number: int) -> dict:
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
            return self._failure(
                operation, ScimError(409, f"bulkId {', '.join(sorted(unresolved))} is not defined or failed", "invalidValue")
            )
        path = _resolve(path, ids) if isinstance(path, str) else None
        operation = {**operation, "data": _resolve(operation.get("data"), ids)}
        match = _PATH.match(path or "")
        if not match or (method == "POST") != (match.group(2) is None):
            return self._failure(operation, bad_request(f"'{operation.get('path')}' is not a valid path for {method}", "invalidPath"))
        if method == "POST" and not operation.get("bulkId"):
            return self._failure(operation, bad_request("a POST operation needs a 'bulkId'", "invalidValue"))
        status, headers, response = self._dispatch(req, method, match, operation, number)
        outcome = {"method": method, "status": str(status)}
        if operation.get("bulkId"):
            outcome["bulkId"] = operation["bulkId"]
        location = headers.get("location") or (f"{scim_base(req)}{path}" if method != "POST" else None)
        if status < 400:
            if location:
                outcome["location"] = location
            if headers.get("etag"):
                outcome["version"] = headers["etag"]
            if method == "POST":
                ids[operation["bulkId"]] = location.rsplit("/", 1)[-1]
        else:
            outcome["response"] = response
        return outcome

    def _dispatch(self, req, method: str, match: re.Match, operation: dict, number: int) -> tuple[int, dict, dict | None]:
        """Run one operation through its resource's responder, as a request of its own: its own
        request id, `<the bulk request's>-<number>` (its change events are its own: a lost COMMIT is
        resolved by them), and If-Match from the operation's `version`."""
        collection, item = self.resources[match.group(1).lower()]
        data = operation.get("data")
        body = json.dumps(data).encode() if data is not None and method != "DELETE" else b""
        env = {
            **req.env,
            "REQUEST_METHOD": method,
            "PATH_INFO": "/scim/v2/" + match.group(0).lstrip("/"),
            # A result carries no resource, so a group's members are not read for it.
            "QUERY_STRING": "excludedAttributes=members" if match.group(1).lower() == "groups" else "",
            "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/scim+json",
        }
        env.pop("HTTP_IF_MATCH", None)
        env.pop("HTTP_IF_NONE_MATCH", None)
        if operation.get("version"):
            env["HTTP_IF_MATCH"] = str(operation["version"])
        sub_req = falcon.Request(env, options=req.options)
        sub_req.context.token_name = req.context.token_name
        sub_req.context.request_id = f"{req.context.request_id}-{number}"
        sub_resp = falcon.Response(options=None)
        responder = getattr(collection if match.group(2) is None else item, "on_" + method.lower(), None)
        try:
            if responder is None:
                raise falcon.HTTPMethodNotAllowed([])
            responder(sub_req, sub_resp, *([match.group(2)] if match.group(2) is not None else []))
        except Exception as exc:  # noqa: BLE001 - every failure becomes this operation's error result
            status, error, _ = error_response(sub_req, exc)
            return status, {}, error
        return sub_resp.status_code, {name.lower(): value for name, value in sub_resp.headers.items()}, None
