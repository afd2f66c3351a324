"""Resource versions (RFC 7644 §3.14): a weak ETag derived from the representation itself, so every
instance computes the same version without storing one. `meta.location` is left out: it depends on
the host name the client used. What a representation leaves out but a version must follow (a group's
members, which are not read to answer a version) is given as `revision`: a value stored with the
resource that every change of it replaces."""

from __future__ import annotations

import hashlib

from wpscim.scim.errors import ScimError
from wpscim.scim.jsontext import dumps


def version_of(resource: dict, revision: object = None) -> str:
    material = {k: v for k, v in resource.items() if k != "meta"}
    material["meta"] = {k: v for k, v in (resource.get("meta") or {}).items() if k not in ("location", "version")}
    if revision is not None:
        material["meta"]["revision"] = revision
    digest = hashlib.sha256(dumps(material, sort_keys=True)).hexdigest()
    return f'W/"{digest[:24]}"'


def _tags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def check_if_match(header: str | None, current: str) -> None:
    """412 when the client's If-Match names a version other than the current one."""
    if not header or header.strip() == "*":
        return
    if current.removeprefix("W/") not in _tags(header):
        raise ScimError(412, "the resource has changed since you read it (If-Match does not match meta.version); read it again")


def not_modified(header: str | None, current: str) -> bool:
    if not header:
        return False
    return header.strip() == "*" or current.removeprefix("W/") in _tags(header)
