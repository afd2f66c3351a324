"""What the service does, described for clients (RFC 7644 §4): ServiceProviderConfig, ResourceTypes
and Schemas. Built from the same declarations the server uses, so the description cannot drift."""

from __future__ import annotations

from wpscim.scim import schemas
from wpscim.scim.listing import MAX_COUNT

MAX_OPERATIONS = 1000
MAX_PAYLOAD_BYTES = 1024 * 1024
DOCS = "https://github.com/wpscim/wpscim#readme"


def service_provider_config(base: str) -> dict:
    return {
        "schemas": [schemas.SPC_SCHEMA],
        "documentationUri": DOCS,
        "patch": {"supported": True},
        "bulk": {"supported": True, "maxOperations": MAX_OPERATIONS, "maxPayloadSize": MAX_PAYLOAD_BYTES},
        "filter": {"supported": True, "maxResults": MAX_COUNT},
        "changePassword": {"supported": True},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "A token made with `wpscim token create`, sent as 'Authorization: Bearer <token>'.",
                "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
                "documentationUri": DOCS,
                "primary": True,
            }
        ],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{base}/ServiceProviderConfig"},
    }


def resource_types(base: str) -> list[dict]:
    def resource_type(name: str, endpoint: str, schema: str, extensions: list[str]) -> dict:
        doc: dict[str, object] = {
            "schemas": [schemas.RESOURCE_TYPE_SCHEMA],
            "id": name,
            "name": name,
            "endpoint": endpoint,
            "description": schemas.SCHEMAS[schema][1].description,
            "schema": schema,
        }
        if extensions:
            doc["schemaExtensions"] = [{"schema": urn, "required": False} for urn in extensions]
        doc["meta"] = {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/{name}"}
        return doc

    return [
        resource_type("User", "/Users", schemas.CORE_USER, [ext.name for ext in schemas.EXTENSIONS.values()]),
        resource_type("Group", "/Groups", schemas.CORE_GROUP, []),
    ]


def schema_documents(base: str) -> list[dict]:
    docs = []
    for urn, (name, schema) in schemas.SCHEMAS.items():
        docs.append(
            {
                "schemas": [schemas.SCHEMA_SCHEMA],
                "id": urn,
                "name": name,
                "description": schema.description,
                # id is a common attribute (RFC 7643 §3.1), not part of any schema.
                "attributes": [a.describe() for a in schema.sub_attributes if a.name != "id"],
                "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{urn}"},
            }
        )
    return docs
