"""`attributes` and `excludedAttributes` (RFC 7643 §7, RFC 7644 §3.4.2.5): which attributes a
response carries. `id` and `schemas` are always returned; `returned: never` attributes never are."""

from __future__ import annotations

from wpscim.scim import schemas
from wpscim.scim.filter import AttrPath, find_key

ALWAYS = {"id", "schemas"}


def _container_path(schema: schemas.Attribute, path: AttrPath) -> tuple[str | None, AttrPath]:
    """(extension URN key or None for the core schema, the path inside it). A path naming a whole
    extension (`urn:…:enterprise:2.0:User`) comes back as (urn, AttrPath("")) ."""
    full = f"{path.urn}:{path.attr}" if path.urn else path.attr
    if schemas.extension(full) is not None and path.sub is None:
        return full, AttrPath("")
    if path.urn and path.urn.lower() != schema.name.lower():
        return path.urn, path
    return None, path


def project(resource: dict, schema: schemas.Attribute, attributes: list[AttrPath], excluded: list[AttrPath]) -> dict:
    if attributes:
        out = {k: v for k, v in resource.items() if k in ALWAYS}
        for path in attributes:
            urn, inner = _container_path(schema, path)
            source = resource
            if urn is not None:
                key = find_key(resource, urn)
                if key is None:
                    continue
                if not inner.attr:
                    out[key] = resource[key]
                    continue
                source = resource[key]
                target = out.setdefault(key, {})
            else:
                target = out
            key = find_key(source, inner.attr)
            if key is None:
                continue
            value = source[key]
            if inner.sub is None:
                target[key] = value
            elif isinstance(value, list):
                existing = target.setdefault(key, [{} for _ in value])
                for item, picked in zip(value, existing):
                    sub = find_key(item, inner.sub) if isinstance(item, dict) else None
                    if sub is not None:
                        picked[sub] = item[sub]
            elif isinstance(value, dict):
                sub = find_key(value, inner.sub)
                if sub is not None:
                    target.setdefault(key, {})[sub] = value[sub]
        return out
    if excluded:
        out = dict(resource)
        for path in excluded:
            urn, inner = _container_path(schema, path)
            container = out
            if urn is not None:
                key = find_key(out, urn)
                if key is None:
                    continue
                if not inner.attr:
                    del out[key]
                    continue
                container = out[key] = dict(out[key])
            key = find_key(container, inner.attr)
            if key is None or key in ALWAYS:
                continue
            if inner.sub is None:
                del container[key]
            elif isinstance(container[key], dict):
                container[key] = {k: v for k, v in container[key].items() if k.lower() != inner.sub.lower()}
            elif isinstance(container[key], list):
                container[key] = [
                    {k: v for k, v in i.items() if k.lower() != inner.sub.lower()} if isinstance(i, dict) else i for i in container[key]
                ]
        return out
    return resource


def wants(attribute: str, attributes: list[AttrPath], excluded: list[AttrPath]) -> bool:
    """Whether a response projected this way carries `attribute` (top level) at all."""
    if attributes:
        return any(p.attr.lower() == attribute.lower() and not (p.urn and schemas.extension(p.urn)) for p in attributes)
    return not any(p.attr.lower() == attribute.lower() and p.sub is None for p in excluded)
