"""/ServiceProviderConfig, /ResourceTypes, /Schemas and /openapi.json: read-only; other methods answer 405."""

from __future__ import annotations

import json

from wpscim.http.media import write_json
from wpscim.http.middleware import BASE
from wpscim.scim import discovery
from wpscim.scim.errors import not_found
from wpscim.scim.listing import list_response
from wpscim.scim.openapi import openapi_document


def scim_base(req) -> str:
    """The SCIM base URL as the client reached wpscim, which every URL wpscim writes starts with
    (meta.location, Location, `$ref`, discovery, Bulk). Behind a proxy that is the proxy's scheme and
    host: Falcon's forwarded_prefix reads `Forwarded` (RFC 7239), else X-Forwarded-Proto and
    X-Forwarded-Host, else the request itself (its scheme and Host, as deploy/nginx-wpscim.conf passes
    it). These headers only shape this client's own answer, as the admin page's base_url."""
    return req.forwarded_prefix + BASE


class ServiceProviderConfig:
    def on_get(self, req, resp) -> None:
        write_json(resp, discovery.service_provider_config(scim_base(req)))


class OpenApi:
    """The OpenAPI description of this API, as application/json (what OpenAPI tools expect)."""

    def on_get(self, req, resp) -> None:
        resp.content_type = "application/json"
        resp.text = json.dumps(openapi_document(scim_base(req)), ensure_ascii=False)


class _Listing:
    key = "id"

    def documents(self, req) -> list[dict]:
        raise NotImplementedError

    def on_get(self, req, resp) -> None:
        docs = self.documents(req)
        write_json(resp, list_response(docs, len(docs), 1))

    def on_get_item(self, req, resp, item_id: str) -> None:
        for doc in self.documents(req):
            if doc[self.key].lower() == item_id.lower():
                return write_json(resp, doc)
        raise not_found(f"no {type(self).__name__[:-1]} '{item_id}'")


class ResourceTypes(_Listing):
    def documents(self, req) -> list[dict]:
        return discovery.resource_types(scim_base(req))


class Schemas(_Listing):
    def documents(self, req) -> list[dict]:
        return discovery.schema_documents(scim_base(req))
