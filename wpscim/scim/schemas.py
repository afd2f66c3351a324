"""The SCIM schemas wpscim serves (RFC 7643 §4, §8.7) as data.

One declaration serves three purposes: matching attribute names case-insensitively to their canonical
spelling, coercing the loose values IdPs send ("False", a bare manager id) to the declared type, and
describing the schemas at /Schemas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"


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
    reference_types: tuple[str, ...] = ()
    canonical_values: tuple[str, ...] = ()
    _by_lower: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        self._by_lower.update({a.name.lower(): a for a in self.sub_attributes})

    def sub(self, name: str) -> Attribute | None:
        return self._by_lower.get(name.lower())

    def describe(self) -> dict:
        """The attribute definition as RFC 7643 §7 writes it."""
        out = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description or self.name,
            "required": self.required,
        }
        if self.type in ("string", "reference", "binary"):
            out["caseExact"] = self.case_exact
        if self.canonical_values:
            out["canonicalValues"] = list(self.canonical_values)
        if self.reference_types:
            out["referenceTypes"] = list(self.reference_types)
        if self.sub_attributes:
            out["subAttributes"] = [a.describe() for a in self.sub_attributes]
        out.update(mutability=self.mutability, returned=self.returned, uniqueness=self.uniqueness)
        return out


def _multi(
    name: str,
    description: str,
    *,
    value_type: str = "string",
    types: tuple[str, ...] = ("work", "home", "other"),
    extra: tuple = (),
    **kw: Any,
) -> Attribute:
    subs = (
        Attribute(
            "value",
            value_type,
            description=f"The value of the {name[:-1]}.",
            reference_types=("external",) if value_type == "reference" else (),
        ),
        Attribute("display", description="A human-readable name, primarily used for display purposes."),
        Attribute("type", description="A label indicating the attribute's function.", canonical_values=types),
        Attribute("primary", "boolean", description="Indicates the primary or preferred value; true at most once."),
    ) + extra
    return Attribute(name, "complex", multi_valued=True, sub_attributes=subs, description=description, **kw)


USER_ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute("id", mutability="readOnly", returned="always", case_exact=True, uniqueness="server", description="The WordPress user ID."),
    Attribute("externalId", case_exact=True, description="The identity provider's identifier for the user."),
    Attribute(
        "userName",
        required=True,
        uniqueness="server",
        description="Unique identifier for the user; stored as the WordPress login (user_login).",
    ),
    Attribute(
        "name",
        "complex",
        description="The components of the user's name.",
        sub_attributes=(
            Attribute("formatted", description="The full name."),
            Attribute("familyName", description="The family name (WordPress last_name)."),
            Attribute("givenName", description="The given name (WordPress first_name)."),
            Attribute("middleName", description="The middle name(s)."),
            Attribute("honorificPrefix", description="The honorific prefix(es)."),
            Attribute("honorificSuffix", description="The honorific suffix(es)."),
        ),
    ),
    Attribute("displayName", description="The name displayed for the user (WordPress display_name)."),
    Attribute("nickName", description="The casual name of the user (WordPress nickname)."),
    Attribute("profileUrl", "reference", reference_types=("external",), description="The user's website (WordPress user_url)."),
    Attribute("title", description="The user's title."),
    Attribute("userType", description="The relationship between the organization and the user."),
    Attribute("preferredLanguage", description="The user's preferred written or spoken language."),
    Attribute("locale", description="The user's locale (WordPress locale, en-US as en_US)."),
    Attribute("timezone", description="The user's time zone (IANA name)."),
    Attribute("active", "boolean", description="false suspends the WordPress user: no login until reactivated."),
    Attribute(
        "password",
        mutability="writeOnly",
        returned="never",
        description="The user's password, hashed as the installed WordPress does; never returned.",
    ),
    _multi("emails", "Email addresses; the primary one is WordPress's user_email."),
    _multi("phoneNumbers", "Phone numbers.", types=("work", "home", "mobile", "fax", "pager", "other")),
    _multi("ims", "Instant messaging addresses.", types=("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo")),
    _multi("photos", "URLs of photos of the user.", value_type="reference", types=("photo", "thumbnail")),
    Attribute(
        "addresses",
        "complex",
        multi_valued=True,
        description="Physical mailing addresses.",
        sub_attributes=(
            Attribute("formatted", description="The full mailing address."),
            Attribute("streetAddress", description="The street address."),
            Attribute("locality", description="The city or locality."),
            Attribute("region", description="The state or region."),
            Attribute("postalCode", description="The zip or postal code."),
            Attribute("country", description="The country."),
            Attribute("type", description="The type of address.", canonical_values=("work", "home", "other")),
            Attribute("primary", "boolean", description="The primary mailing address; true at most once."),
        ),
    ),
    Attribute(
        "groups",
        "complex",
        multi_valued=True,
        mutability="readOnly",
        description="The WordPress roles the user holds on this site, as groups.",
        sub_attributes=(
            Attribute("value", mutability="readOnly", description="The group's id (the role slug)."),
            Attribute("$ref", "reference", mutability="readOnly", reference_types=("Group",), description="The URI of the group."),
            Attribute("display", mutability="readOnly", description="The role's name."),
            Attribute("type", mutability="readOnly", canonical_values=("direct", "indirect"), description="direct."),
        ),
    ),
    _multi("entitlements", "Entitlements of the user."),
    _multi(
        "roles",
        "The user's WordPress roles on this site. Reported read-only, like groups; a value sent on "
        "create, PUT or PATCH (role slug or name) sets the user's roles.",
        types=(),
        mutability="readOnly",
    ),
    _multi("x509Certificates", "X.509 certificates of the user.", value_type="binary", types=()),
)

ENTERPRISE_ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute("employeeNumber", description="Numeric or alphanumeric identifier assigned to a person."),
    Attribute("costCenter", description="Identifies the name of a cost center."),
    Attribute("organization", description="Identifies the name of an organization."),
    Attribute("division", description="Identifies the name of a division."),
    Attribute("department", description="Identifies the name of a department."),
    Attribute(
        "manager",
        "complex",
        description="The user's manager.",
        sub_attributes=(
            Attribute("value", description="The id of the manager's SCIM resource."),
            Attribute("$ref", "reference", reference_types=("User",), description="The URI of the manager's resource."),
            Attribute("displayName", mutability="readOnly", description="The manager's displayName."),
        ),
    ),
)

GROUP_ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute("id", mutability="readOnly", returned="always", case_exact=True, uniqueness="server", description="The WordPress role slug."),
    Attribute("externalId", case_exact=True, description="The identity provider's identifier for the group."),
    Attribute("displayName", required=True, uniqueness="server", description="The WordPress role name."),
    Attribute(
        "members",
        "complex",
        multi_valued=True,
        description="The users holding this WordPress role on this site.",
        sub_attributes=(
            Attribute("value", mutability="immutable", description="The user's id."),
            Attribute("$ref", "reference", mutability="immutable", reference_types=("User",), description="The URI of the user."),
            Attribute("display", mutability="readOnly", description="The user's userName."),
            Attribute("type", mutability="immutable", canonical_values=("User",), description="User."),
        ),
    ),
)

USER = Attribute(CORE_USER, "complex", sub_attributes=USER_ATTRIBUTES, description="User Account")
ENTERPRISE = Attribute(ENTERPRISE_USER, "complex", sub_attributes=ENTERPRISE_ATTRIBUTES, description="Enterprise User")
GROUP = Attribute(CORE_GROUP, "complex", sub_attributes=GROUP_ATTRIBUTES, description="Group (a WordPress role)")
EXTENSIONS = {ENTERPRISE_USER.lower(): ENTERPRISE}
SCHEMAS = {CORE_USER: ("User", USER), ENTERPRISE_USER: ("EnterpriseUser", ENTERPRISE), CORE_GROUP: ("Group", GROUP)}


def register_extension(ext: Attribute, name: str) -> None:
    """A site's own User extension (from its mapping file): understood in bodies, listed at /Schemas."""
    EXTENSIONS[ext.name.lower()] = ext
    SCHEMAS[ext.name] = (name, ext)


def unregister_extension(urn: str) -> None:
    EXTENSIONS.pop(urn.lower(), None)
    SCHEMAS.pop(urn, None)


def user_attribute(name: str) -> Attribute | None:
    return USER.sub(name)


def extension(urn: str) -> Attribute | None:
    return EXTENSIONS.get(urn.lower())


def resolve(schema: Attribute, path: Any) -> Attribute | None:
    """The definition of a filter/sort path (AttrPath) in `schema` or one of its extensions."""
    container: Attribute | None = schema
    if path.urn and path.urn.lower() != schema.name.lower():
        container = extension(path.urn)
        if container is None or schema is not USER:
            return None
    assert container is not None
    attr = container.sub(path.attr)
    if attr is not None and path.sub:
        return attr.sub(path.sub)
    return attr
