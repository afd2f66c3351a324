"""The SCIM User schema (RFC 7643 §4.1, §4.3) as data.

One declaration serves three purposes: matching attribute names case-insensitively to their canonical
spelling, coercing the loose values IdPs send ("False", a bare manager id) to the declared type, and
(later) describing the schema at /Schemas.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass(frozen=True)
class Attribute:
    name: str
    type: str = "string"  # string | boolean | decimal | integer | dateTime | reference | complex | binary
    multi_valued: bool = False
    sub_attributes: tuple[Attribute, ...] = ()
    mutability: str = "readWrite"  # readOnly | readWrite | immutable | writeOnly
    returned: str = "default"  # always | never | default | request
    case_exact: bool = False
    uniqueness: str = "none"
    required: bool = False
    description: str = ""
    _by_lower: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self):
        self._by_lower.update({a.name.lower(): a for a in self.sub_attributes})

    def sub(self, name: str) -> Attribute | None:
        return self._by_lower.get(name.lower())


def _multi(name: str, *, value_type: str = "string", types: tuple[str, ...] = (), extra: tuple = (), **kw) -> Attribute:
    subs = (
        Attribute("value", value_type),
        Attribute("display"),
        Attribute("type"),
        Attribute("primary", "boolean"),
    ) + extra
    return Attribute(name, "complex", multi_valued=True, sub_attributes=subs, **kw)


USER_ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute("id", mutability="readOnly", returned="always", case_exact=True, uniqueness="server"),
    Attribute("externalId", case_exact=True),
    Attribute("userName", required=True, uniqueness="server"),
    Attribute(
        "name",
        "complex",
        sub_attributes=(
            Attribute("formatted"),
            Attribute("familyName"),
            Attribute("givenName"),
            Attribute("middleName"),
            Attribute("honorificPrefix"),
            Attribute("honorificSuffix"),
        ),
    ),
    Attribute("displayName"),
    Attribute("nickName"),
    Attribute("profileUrl", "reference"),
    Attribute("title"),
    Attribute("userType"),
    Attribute("preferredLanguage"),
    Attribute("locale"),
    Attribute("timezone"),
    Attribute("active", "boolean"),
    Attribute("password", mutability="writeOnly", returned="never"),
    _multi("emails"),
    _multi("phoneNumbers"),
    _multi("ims"),
    _multi("photos", value_type="reference"),
    Attribute(
        "addresses",
        "complex",
        multi_valued=True,
        sub_attributes=(
            Attribute("formatted"),
            Attribute("streetAddress"),
            Attribute("locality"),
            Attribute("region"),
            Attribute("postalCode"),
            Attribute("country"),
            Attribute("type"),
            Attribute("primary", "boolean"),
        ),
    ),
    _multi("groups", extra=(Attribute("$ref", "reference"),), mutability="readOnly"),
    _multi("entitlements"),
    _multi("roles"),
    _multi("x509Certificates", value_type="binary"),
)

ENTERPRISE_ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute("employeeNumber"),
    Attribute("costCenter"),
    Attribute("organization"),
    Attribute("division"),
    Attribute("department"),
    Attribute(
        "manager",
        "complex",
        sub_attributes=(
            Attribute("value"),
            Attribute("$ref", "reference"),
            Attribute("displayName", mutability="readOnly"),
        ),
    ),
)

# Attributes every resource carries; never written by a client.
COMMON_READ_ONLY = {"id", "meta", "schemas"}

USER = Attribute(CORE_USER, "complex", sub_attributes=USER_ATTRIBUTES)
ENTERPRISE = Attribute(ENTERPRISE_USER, "complex", sub_attributes=ENTERPRISE_ATTRIBUTES)
EXTENSIONS = {ENTERPRISE_USER.lower(): ENTERPRISE}


def user_attribute(name: str) -> Attribute | None:
    return USER.sub(name)


def extension(urn: str) -> Attribute | None:
    return EXTENSIONS.get(urn.lower())
