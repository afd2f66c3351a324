"""An OpenAPI 3.0.3 description of the SCIM API wpscim serves, at /scim/v2/openapi.json.

The User and Group component schemas are generated from the declarations in `schemas.py` — the same
data that canonicalizes attribute names, coerces values and answers /Schemas — so they cannot drift
from what the server accepts and returns.
"""

from __future__ import annotations

from wpscim.scim import schemas
from wpscim.scim.discovery import DOCS, MAX_OPERATIONS
from wpscim.scim.errors import ERROR_SCHEMA
from wpscim.scim.listing import MAX_COUNT

SCIM_JSON = "application/scim+json"
_TYPES = {
    "string": {"type": "string"},
    "boolean": {"type": "boolean"},
    "decimal": {"type": "number"},
    "integer": {"type": "integer"},
    "dateTime": {"type": "string", "format": "date-time"},
    "reference": {"type": "string"},  # a URI, a relative reference or a URN: not one JSON Schema format
    "binary": {"type": "string", "format": "byte"},
}
_ERRORS = {
    400: "Invalid request (scimType says why)",
    401: "Missing or invalid bearer token",
    403: "The site's policy does not let a provisioning token make this change",
    404: "No such resource",
    409: "Uniqueness or mutability conflict",
    412: "If-Match names another version",
    413: "Request body or bulk request too large",
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _strings(description: str = "") -> dict:
    return {"type": "array", "items": {"type": "string"}, **({"description": description} if description else {})}


def attribute_schema(attr: schemas.Attribute, required: bool = True) -> dict:
    """The JSON Schema of one SCIM attribute (RFC 7643 §2.3 types, §7 characteristics). `required`
    False leaves out required sub-attributes: a response projected by `attributes` may omit them."""
    if attr.type == "complex":
        out: dict[str, object] = {"type": "object", "properties": {a.name: attribute_schema(a, required) for a in attr.sub_attributes}}
        if required and any(a.required for a in attr.sub_attributes):
            out["required"] = [a.name for a in attr.sub_attributes if a.required]
    else:
        out = dict(_TYPES[attr.type])
    if attr.canonical_values:
        out["example"] = attr.canonical_values[0]
    if attr.multi_valued:
        out = {"type": "array", "items": out}
    out["description"] = attr.description or attr.name
    if attr.mutability == "readOnly":
        out["readOnly"] = True
    elif attr.mutability == "writeOnly" or attr.returned == "never":
        out["writeOnly"] = True
    return out


def resource_schema(schema: schemas.Attribute, extensions: tuple[schemas.Attribute, ...] = (), *, sent: bool) -> dict:
    """A resource: `schemas`, the schema's attributes, its extensions under their URNs, and `meta`.
    As sent (POST, PUT) its required attributes are required; as returned only `id` and `schemas` are."""
    out = attribute_schema(schema, required=sent)
    out["properties"] = {
        "schemas": {**_strings("The schema URNs of this resource."), "example": [schema.name, *(e.name for e in extensions)]},
        **out["properties"],
        **{ext.name: attribute_schema(ext, required=sent) for ext in extensions},
        "meta": _ref("Meta"),
    }
    if not sent:
        out["required"] = ["schemas", "id"]
    return out


def _list_response(item: dict) -> dict:
    return {
        "type": "object",
        "required": ["schemas", "totalResults"],
        "properties": {
            "schemas": _strings(),
            "totalResults": {"type": "integer", "minimum": 0},
            "startIndex": {"type": "integer", "minimum": 1},
            "itemsPerPage": {"type": "integer", "minimum": 0},
            "Resources": {"type": "array", "items": item},
        },
    }


def _components() -> dict:
    meta = {name: {"type": "string", "format": "date-time"} for name in ("created", "lastModified")}
    meta.update(resourceType={"type": "string"}, location={"type": "string"}, version={"type": "string"})
    any_value = {"description": "Any JSON value."}
    return {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "A token made with `wpscim token create`."}},
        "schemas": {
            "User": resource_schema(schemas.USER, (schemas.ENTERPRISE,), sent=False),
            "UserRequest": resource_schema(schemas.USER, (schemas.ENTERPRISE,), sent=True),
            "Group": resource_schema(schemas.GROUP, sent=False),
            "GroupRequest": resource_schema(schemas.GROUP, sent=True),
            "Meta": {"type": "object", "readOnly": True, "properties": meta},
            "Error": {
                "type": "object",
                "required": ["schemas", "status"],
                "properties": {
                    "schemas": {**_strings(), "example": [ERROR_SCHEMA]},
                    "status": {"type": "string", "example": "400"},
                    "scimType": {"type": "string"},
                    "detail": {"type": "string"},
                },
            },
            "PatchOp": {
                "type": "object",
                "required": ["Operations"],
                "properties": {
                    "schemas": {**_strings(), "example": [schemas.PATCH_OP]},
                    "Operations": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["op"],
                            "properties": {
                                "op": {"type": "string", "enum": ["add", "remove", "replace"]},
                                "path": {"type": "string"},
                                "value": any_value,
                            },
                        },
                    },
                },
            },
            "SearchRequest": {
                "type": "object",
                "properties": {
                    "schemas": {**_strings(), "example": [schemas.SEARCH_REQUEST]},
                    "attributes": _strings(),
                    "excludedAttributes": _strings(),
                    "filter": {"type": "string"},
                    "sortBy": {"type": "string"},
                    "sortOrder": {"type": "string", "enum": ["ascending", "descending"]},
                    "startIndex": {"type": "integer"},
                    "count": {"type": "integer"},
                },
            },
            "BulkRequest": {
                "type": "object",
                "required": ["Operations"],
                "properties": {
                    "schemas": _strings(),
                    "failOnErrors": {"type": "integer", "minimum": 1},
                    "Operations": {
                        "type": "array",
                        "maxItems": MAX_OPERATIONS,
                        "items": {
                            "type": "object",
                            "required": ["method"],
                            "properties": {
                                "method": {"type": "string", "enum": ["POST", "PUT", "PATCH", "DELETE"]},
                                "bulkId": {"type": "string"},
                                "version": {"type": "string"},
                                "path": {"type": "string", "example": "/Users"},
                                "data": any_value,
                            },
                        },
                    },
                },
            },
            "BulkResponse": {
                "type": "object",
                "properties": {
                    "schemas": _strings(),
                    "Operations": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "method": {"type": "string"},
                                "bulkId": {"type": "string"},
                                "version": {"type": "string"},
                                "location": {"type": "string"},
                                "status": {"type": "string"},
                                "response": _ref("Error"),
                            },
                        },
                    },
                },
            },
            "ServiceProviderConfig": {"type": "object", "properties": {"schemas": _strings()}},
            "ResourceType": {
                "type": "object",
                "properties": {
                    **{name: {"type": "string"} for name in ("id", "name", "endpoint", "description", "schema")},
                    "schemaExtensions": {"type": "array", "items": {"type": "object"}},
                },
            },
            "Schema": {
                "type": "object",
                "properties": {
                    **{name: {"type": "string"} for name in ("id", "name", "description")},
                    "attributes": {"type": "array", "items": {"type": "object"}},
                },
            },
        },
        "responses": {
            str(code): {"description": text, "content": {SCIM_JSON: {"schema": _ref("Error")}}} for code, text in _ERRORS.items()
        },
    }


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


_PROJECTION = [
    _query("attributes", {"type": "string"}, "Comma-separated attributes to return."),
    _query("excludedAttributes", {"type": "string"}, "Comma-separated attributes to leave out."),
]
_LISTING = [
    _query("filter", {"type": "string"}, 'A SCIM filter (RFC 7644 §3.4.2.2), e.g. userName eq "bjensen".'),
    _query("startIndex", {"type": "integer"}, "1-based index of the first result."),
    _query("count", {"type": "integer"}, f"Page size (at most {MAX_COUNT})."),
    _query("sortBy", {"type": "string"}, "Attribute to sort by."),
    _query("sortOrder", {"type": "string", "enum": ["ascending", "descending"]}, "Sort direction."),
    *_PROJECTION,
]
_ETAG = {"ETag": {"description": "The resource version (meta.version).", "required": True, "schema": {"type": "string"}}}


def _header(name: str, description: str) -> dict:
    return {"name": name, "in": "header", "required": False, "schema": {"type": "string"}, "description": description}


def _json(schema: dict, description: str = "OK", headers: dict | None = None, media: str = SCIM_JSON) -> dict:
    return {"description": description, "content": {media: {"schema": schema}}, **({"headers": headers} if headers else {})}


def _operation(summary: str, ok: dict, errors: tuple[int, ...], params: list | None = None, body: dict | None = None) -> dict:
    responses = {**ok, **{str(code): {"$ref": f"#/components/responses/{code}"} for code in sorted({401, *errors})}}
    op = {"summary": summary, "parameters": params or [], "responses": responses}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {SCIM_JSON: {"schema": body}, "application/json": {"schema": body}}}
    return op


def _id(example: str) -> dict:
    return {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}, "example": example}


def _resource_paths(name: str, noun: str, example_id: str) -> dict:
    ref, sent, listing = _ref(name), _ref(f"{name}Request"), _list_response(_ref(name))
    writes = (400, 403, 404, 409, 412, 413)
    created = {**_ETAG, "Location": {"description": "The new resource's URL.", "required": True, "schema": {"type": "string"}}}
    if_match = _header("If-Match", "Apply only if the resource still has this version (else 412).")
    return {
        f"/{name}s": {
            "get": _operation(f"List or filter {noun}s", {"200": _json(listing)}, (400,), _LISTING),
            "post": _operation(f"Create a {noun}", {"201": _json(ref, "Created", created)}, (400, 409, 413), _PROJECTION, sent),
        },
        f"/{name}s/.search": {"post": _operation(f"Search {noun}s", {"200": _json(listing)}, (400, 413), body=_ref("SearchRequest"))},
        f"/{name}s/{{id}}": {
            "parameters": [_id(example_id)],
            "get": _operation(
                f"Read a {noun}",
                {"200": _json(ref, headers=_ETAG), "304": {"description": "Not modified", "headers": _ETAG}},
                (400, 404),
                [*_PROJECTION, _header("If-None-Match", "Answer 304 if the version is still this.")],
            ),
            "put": _operation(f"Replace a {noun}", {"200": _json(ref, headers=_ETAG)}, writes, [*_PROJECTION, if_match], sent),
            "patch": _operation(f"Modify a {noun}", {"200": _json(ref, headers=_ETAG)}, writes, [*_PROJECTION, if_match], _ref("PatchOp")),
            "delete": _operation(f"Delete a {noun}", {"204": {"description": "Deleted"}}, (400, 404, 409, 412), [if_match]),
        },
    }


def _discovery_paths(name: str, schema: str, example_id: str) -> dict:
    return {
        f"/{name}": {"get": _operation(f"All {name}", {"200": _json(_list_response(_ref(schema)))}, ())},
        f"/{name}/{{id}}": {"parameters": [_id(example_id)], "get": _operation(f"One of {name}", {"200": _json(_ref(schema))}, (404,))},
    }


def openapi_document(base_url: str) -> dict:
    """The OpenAPI 3.0.3 document for the SCIM service at `base_url` (…/scim/v2)."""
    both = {"anyOf": [_ref("User"), _ref("Group")]}
    return {
        "openapi": "3.0.3",
        "info": {"title": "wpscim", "version": "2.0", "description": f"SCIM 2.0 (RFC 7643/7644) provisioning into WordPress. See {DOCS}"},
        "servers": [{"url": base_url}],
        "security": [{"bearer": []}],
        "paths": {
            **_resource_paths("User", "user", "1"),
            **_resource_paths("Group", "group (WordPress role)", "editor"),
            "/.search": {
                "post": _operation(
                    "Search users, then groups", {"200": _json(_list_response(both))}, (400, 413), body=_ref("SearchRequest")
                )
            },
            "/Bulk": {
                "post": _operation(
                    "Several operations in one request", {"200": _json(_ref("BulkResponse"))}, (400, 413), body=_ref("BulkRequest")
                )
            },
            "/ServiceProviderConfig": {"get": _operation("What the service supports", {"200": _json(_ref("ServiceProviderConfig"))}, ())},
            **_discovery_paths("ResourceTypes", "ResourceType", "User"),
            **_discovery_paths("Schemas", "Schema", schemas.CORE_USER),
            "/openapi.json": {"get": _operation("This document", {"200": _json({"type": "object"}, media="application/json")}, ())},
        },
        "components": _components(),
    }
