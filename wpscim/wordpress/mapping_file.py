"""A site's mapping file (TOML): where SCIM attributes land in WordPress, overriding and extending
the built-in table in wpscim.wordpress.mapping. The whole file is checked before anything uses it: an invalid
file is refused with the line and the problem, never half applied.

    [extension]                        # optional: the site's own schema, shown at /Schemas
    urn = "urn:example:params:scim:schemas:extension:shop:2.0:User"
    name = "ShopUser"
    attributes = [{ name = "loyaltyTier" }, { name = "newsletter", type = "boolean" }]

    [[attribute]]
    scim = 'phoneNumbers[type eq "work"].value'
    meta = "billing_phone"

    [[attribute]]
    scim = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization"
    meta = "billing_company"

    [[attribute]]
    scim = "displayName"
    column = "display_name"
    transform = "join"
    from = ["name.givenName", "name.familyName"]

Keys of an [[attribute]]: scim (required), column or meta (one of them), transform (name, locale,
lower, join), from (for join), direction (both, read, write).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from wpscim.scim import filter as scim_filter
from wpscim.scim import schemas
from wpscim.scim.patch import parse_patch_path
from wpscim.scim.resource import READ_ONLY_TOP
from wpscim.wordpress.mapping import DEFAULT_FIELDS, DIRECTIONS, SPECIAL, TRANSFORMS, Field, Mapping

COLUMNS = ("display_name", "user_url")  # users columns a mapping may write (login, email, password are wpscim's)
# MySQL compares meta keys without case: a key that differs from one of these only in case is theirs too.
_PROTECTED_META = re.compile(
    r"(^wpscim_|capabilities$|user_level$|^session_tokens$|^_application_passwords$|^primary_blog$|^source_domain$)", re.I
)
# Usermeta keys a mapping may name. MySQL's collations ignore what else could tell two keys apart: trailing
# spaces (PAD SPACE), control characters (no weight), accents and width, so `wp_capabilities ` or one
# with a control character in it would be WordPress's own row to every UPDATE … WHERE meta_key = %s.
_META_KEY = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)
# The usermeta rows wp_insert_user() writes: a file may route an attribute to one of them, spelled as WordPress spells it.
_WORDPRESS_META = (
    "nickname",
    "first_name",
    "last_name",
    "description",
    "rich_editing",
    "syntax_highlighting",
    "infinite_scrolling",
    "comment_shortcuts",
    "admin_color",
    "use_ssl",
    "show_admin_bar_front",
    "locale",
)
# Kept by wpscim itself where lookups find them (externalId in wpscim_externalId).
_NOT_REMAPPED = {name.lower() for name in (*SPECIAL, "externalId")}
_ATTRIBUTE_KEYS = {"scim", "column", "meta", "transform", "from", "direction"}
_EXTENSION_KEYS = {"urn", "name", "description", "attributes"}
_TYPES = ("string", "boolean", "integer", "decimal", "dateTime", "reference")


class MappingError(Exception):
    pass


# WordPress's own per-user screen state: usermeta keys in use that an attribute should not land in.
_WORDPRESS_STATE = re.compile(
    r"(^_|^dismissed_wp_pointers$|^show_welcome_panel$|dashboard_quick_press_last_post_id$|"
    r"^community-events-location$|user-settings(-time)?$|^closedpostboxes_|^metaboxhidden_|"
    r"^meta-box-order_|^manage.*columnshidden$|^edit_.*_per_page$|^nav_menu_recently_edited$)",
    re.I,
)


def mappable_meta(key: str) -> bool:
    """Whether a usermeta key in use is one a mapping may offer as a target (not WordPress's or wpscim's state)."""
    return len(key) <= 255 and _META_KEY.fullmatch(key) is not None and not _PROTECTED_META.search(key) and not _WORDPRESS_STATE.search(key)


def _attribute_lines(text: str) -> list[int]:
    """The line number of each [[attribute]] table, in order (tomllib gives values, not positions)."""
    return [n for n, line in enumerate(text.splitlines(), start=1) if re.match(r"\s*\[\[\s*attribute\s*\]\]", line)]


def _extension(data, where: str) -> schemas.Attribute:
    if not isinstance(data, dict):
        raise MappingError(f"{where}: [extension] must be a table")
    unknown = set(data) - _EXTENSION_KEYS
    if unknown:
        raise MappingError(f"{where}: [extension] has unknown keys {', '.join(sorted(unknown))}")
    urn = data.get("urn")
    if not isinstance(urn, str) or not re.match(r"^urn:[A-Za-z0-9.:_-]+:User$", urn):
        raise MappingError(f"{where}: [extension] urn must look like 'urn:…:User', not {urn!r}")
    if urn.lower() in (schemas.CORE_USER.lower(), schemas.ENTERPRISE_USER.lower()):
        raise MappingError(f"{where}: [extension] urn {urn} is a standard schema, not a site extension")
    attributes = []
    for item in data.get("attributes") or []:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not re.match(r"^[A-Za-z][\w$-]*$", item["name"]):
            raise MappingError(f"{where}: each extension attribute needs a 'name' (letters, digits, _ - $), got {item!r}")
        kind = item.get("type", "string")
        if kind not in _TYPES:
            raise MappingError(f"{where}: attribute {item['name']}: type must be one of {', '.join(_TYPES)}")
        attributes.append(schemas.Attribute(item["name"], kind, description=str(item.get("description") or item["name"])))
    name = str(data.get("name") or "SiteUser")
    return schemas.Attribute(urn, "complex", sub_attributes=tuple(attributes), description=str(data.get("description") or name))


def _top(path, extension: schemas.Attribute | None) -> schemas.Attribute | None:
    """The definition of the attribute a mapped path starts with (`name` of `name.givenName`)."""
    if path.urn and extension is not None and path.urn.lower() == extension.name.lower():
        container = extension
    elif path.urn:  # parse_patch_path takes the core schema's URN off: `urn:…:core:2.0:User:userName` is userName
        container = schemas.extension(path.urn)
    else:
        container = schemas.USER
    return container.sub(path.attr) if container is not None and path.attr else None


def _field(entry, where: str, extension: schemas.Attribute | None) -> Field:
    if not isinstance(entry, dict):
        raise MappingError(f"{where}: [[attribute]] must be a table")
    unknown = set(entry) - _ATTRIBUTE_KEYS
    if unknown:
        raise MappingError(f"{where}: unknown keys {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(_ATTRIBUTE_KEYS))})")
    scim = entry.get("scim")
    if not isinstance(scim, str) or not scim.strip():
        raise MappingError(f"{where}: 'scim' (the SCIM attribute path) is required")
    try:
        path = parse_patch_path(scim)
    except ValueError as exc:  # the protocol's parse error (ScimError)
        raise MappingError(f"{where}: scim = {scim!r}: {exc}") from None
    top = _top(path, extension)
    definition = top.sub(path.sub) if top is not None and path.sub else top
    if definition is None:
        raise MappingError(f"{where}: scim = {scim!r} is not an attribute of the User schema, the enterprise extension or [extension]")
    if definition.type == "complex" and not path.sub:
        raise MappingError(f"{where}: scim = {scim!r} is complex; map one of its sub-attributes (e.g. {scim}.value)")
    if path.urn is None and path.attr.lower() in READ_ONLY_TOP:
        raise MappingError(f"{where}: {scim} is SCIM's own, read-only attribute (wpscim answers it) and cannot be mapped")
    bare = f"{path.attr}.{path.sub}" if path.sub else path.attr
    if path.urn is None and path.value_filter is None and bare.lower() in _NOT_REMAPPED:
        raise MappingError(
            f"{where}: {scim} is always stored by wpscim itself (lookups and uniqueness depend on it) and cannot be remapped"
        )
    if path.value_filter is not None and (top is None or not top.multi_valued):
        raise MappingError(
            f"{where}: {scim!r} filters {path.attr}, which holds one value, not a list (e.g. {path.attr}.{path.sub or 'value'})"
        )
    if path.value_filter is not None and not _simple_filter(path.value_filter):
        raise MappingError(f"{where}: the filter in {scim!r} may only use 'eq' joined by 'and' (e.g. type eq \"work\")")
    column, meta = entry.get("column"), entry.get("meta")
    if (column is None) == (meta is None):
        raise MappingError(f"{where}: give exactly one of 'column' or 'meta'")
    if column is not None and column not in COLUMNS:
        raise MappingError(f"{where}: column must be one of {', '.join(COLUMNS)}, not {column!r}")
    if meta is not None:
        if not isinstance(meta, str) or not meta.strip() or len(meta) > 255:
            raise MappingError(f"{where}: meta must be a usermeta key of 1 to 255 characters")
        if not meta.isascii():  # MySQL also takes `wp_capabilitiés` or `ｗpscim_…` for the plain key: unsafe to check
            raise MappingError(f"{where}: meta {meta!r} must be ASCII (MySQL compares keys ignoring accents and width too)")
        if not _META_KEY.fullmatch(meta):
            raise MappingError(
                f"{where}: meta {meta!r} may hold only letters, digits, _ and - (MySQL compares keys ignoring trailing "
                "spaces and control characters too, so such a key could stand for a protected one)"
            )
        if _PROTECTED_META.search(meta):
            raise MappingError(f"{where}: meta {meta!r} holds WordPress's or wpscim's own state and cannot be mapped")
        if meta.lower() in _WORDPRESS_META and meta not in _WORDPRESS_META:
            raise MappingError(
                f"{where}: meta {meta!r} differs only in case from WordPress's {meta.lower()!r}, which MySQL would treat as the same key"
            )
    transform = entry.get("transform")
    if transform is not None and transform not in TRANSFORMS:
        raise MappingError(f"{where}: transform must be one of {', '.join(TRANSFORMS)}, not {transform!r}")
    sources = entry.get("from")
    if transform == "join":
        if not isinstance(sources, list) or not sources or not all(isinstance(s, str) for s in sources):
            raise MappingError(f'{where}: transform = "join" needs from = ["name.givenName", …]')
        for source in sources:
            try:
                parse_patch_path(source)
            except ValueError as exc:  # the protocol's parse error (ScimError)
                raise MappingError(f"{where}: from {source!r}: {exc}") from None
    elif sources is not None:
        raise MappingError(f"{where}: 'from' is only for transform = \"join\"")
    direction = entry.get("direction", "both")
    if direction not in DIRECTIONS:
        raise MappingError(f"{where}: direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
    return Field(
        scim,
        column=column,
        meta_key=meta,
        transform=transform,
        sources=tuple(sources or ()),
        direction=direction,
        case_exact=definition.case_exact,
        type=definition.type,
    )


def _simple_filter(expr) -> bool:
    if isinstance(expr, scim_filter.Compare):
        return expr.op == "eq" and expr.path.sub is None
    return isinstance(expr, scim_filter.Logical) and expr.op == "and" and _simple_filter(expr.left) and _simple_filter(expr.right)


def check_entries(entries: list, where, extension: schemas.Attribute | None = None) -> list[Field]:
    """[[attribute]] tables (dicts) checked one by one and together (no path or target twice); `where(i)`
    names entry i in messages. The same checks for a file and for the admin page's entries."""
    fields, seen_paths, seen_targets = [], set(), {}
    for index, entry in enumerate(entries):
        at = where(index)
        field = _field(entry, at, extension)
        key = field.scim.lower()
        if key in seen_paths:
            raise MappingError(f"{at}: {field.scim} is mapped twice")
        if field.target.lower() in seen_targets:
            raise MappingError(f"{at}: {field.target} is already the target of {seen_targets[field.target.lower()]}")
        seen_paths.add(key)
        seen_targets[field.target.lower()] = field.scim
        fields.append(field)
    return fields


def overlay(*layers: list[Field], source: str = "built-in") -> Mapping:
    """The built-in table, then each layer's fields in turn: an entry replaces the one before it for the
    same attribute or the same WordPress target."""
    fields: dict[str, Field] = {f.scim.lower(): f for f in DEFAULT_FIELDS}
    for layer in layers:
        for field in layer:
            key = field.scim.lower()
            for old_key, old in list(fields.items()):
                if old_key == key or (old.target == field.target and old.scim not in SPECIAL):
                    del fields[old_key]
            fields[key] = field
    return Mapping(tuple(fields.values()), source=source)


def parse_entries(text: str, source: str = "mapping file") -> tuple[list[Field], schemas.Attribute | None]:
    """A file's own entries (without the built-in table) and its extension schema."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{source}: {exc}") from None
    unknown = set(data) - {"extension", "attribute"}
    if unknown:
        raise MappingError(f"{source}: unknown top-level keys {', '.join(sorted(unknown))} (use [extension] and [[attribute]])")
    extension = _extension(data["extension"], source) if "extension" in data else None
    entries = data.get("attribute") or []
    if not isinstance(entries, list):
        raise MappingError(f"{source}: 'attribute' must be an array of tables: [[attribute]]")
    lines = _attribute_lines(text)
    where = lambda index: f"{source}: line {lines[index]}" if index < len(lines) else f"{source}: attribute {index + 1}"  # noqa: E731
    return check_entries(entries, where, extension), extension


def parse_mapping(text: str, source: str = "mapping file") -> tuple[Mapping, schemas.Attribute | None]:
    """The effective mapping (built-in table overridden and extended by the file) and the site's
    extension schema, or MappingError naming the line and the problem."""
    fields, extension = parse_entries(text, source)
    return overlay(fields, source=source), extension


def entry_of(field: Field) -> dict:
    """A field as the [[attribute]] table that declares it."""
    entry = {"scim": field.scim, ("column" if field.column else "meta"): field.target}
    if field.transform:
        entry["transform"] = field.transform
    if field.sources:
        entry["from"] = list(field.sources)
    if field.direction != "both":
        entry["direction"] = field.direction
    return entry


def load_mapping(path: str | Path) -> tuple[Mapping, schemas.Attribute | None]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"cannot read mapping file {path}: {exc.strerror}") from None
    return parse_mapping(text, str(path))
