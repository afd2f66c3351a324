"""SCIM request bodies the scenarios send (the raw-SQL references write the same values directly)."""

from __future__ import annotations

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def user_body(user_name: str, email: str, given: str, family: str, external_id: str, password: str | None = None) -> dict:
    """An Okta-shaped User: for POST /Users (create) and PUT /Users/{id}."""
    body = {
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": True, "value": email, "type": "work"}],
        "displayName": f"{given} {family}",
        "externalId": external_id,
        "active": True,
    }
    if password:
        body["password"] = password
    return body
