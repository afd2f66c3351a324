"""List and search requests (RFC 7644 §3.4.2, §3.4.3): paging, filter, sorting, projection."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wpscim.scim import filter as scim_filter
from wpscim.scim.errors import bad_request, invalid_filter, invalid_value
from wpscim.scim.schemas import LIST_RESPONSE

DEFAULT_COUNT = 100
MAX_COUNT = 1000
MAX_START = 2**53  # beyond any result set; keeps OFFSET within what MySQL accepts


def _integer(raw: Any, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise invalid_value(f"'{name}' must be an integer, not {raw!r}")
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise invalid_value(f"'{name}' must be an integer, not {raw!r}") from None


def paging(start_index: Any, count: Any) -> tuple[int, int]:
    """1-based start (values below 1 mean 1) and a page size capped at MAX_COUNT (negative means 0)."""
    start = _integer(start_index, "startIndex")
    size = _integer(count, "count")
    start = 1 if start is None or start < 1 else min(start, MAX_START)
    size = DEFAULT_COUNT if size is None else max(0, min(size, MAX_COUNT))
    return start, size


def attribute_list(raw: Any) -> list[scim_filter.AttrPath]:
    """`attributes` / `excludedAttributes`: comma-separated (query) or a list (search body)."""
    if raw is None or raw == "":
        return []
    parts = raw if isinstance(raw, list) else str(raw).split(",")
    paths = []
    for part in parts:
        if not isinstance(part, str):
            raise invalid_value("attribute names must be strings")
        if part.strip():
            try:
                paths.append(scim_filter.parse_path(part.strip()))
            except Exception:
                raise invalid_value(f"'{part.strip()}' is not an attribute name") from None
    return paths


@dataclass
class ListQuery:
    start: int = 1
    count: int = DEFAULT_COUNT
    filter: scim_filter.Filter | None = None
    sort_by: scim_filter.AttrPath | None = None
    descending: bool = False
    attributes: list = field(default_factory=list)
    excluded: list = field(default_factory=list)


def _get(source: dict, name: str) -> Any:
    lowered = name.lower()
    return next((v for k, v in source.items() if isinstance(k, str) and k.lower() == lowered), None)


def list_query(source: dict) -> ListQuery:
    """From query parameters (GET) or a SearchRequest body (POST …/.search)."""
    if not isinstance(source, dict):
        raise bad_request("a search request must be a JSON object", "invalidSyntax")
    if not source:  # every write's response (POST/PUT/PATCH without a query string): the defaults
        return ListQuery()
    start, count = paging(_get(source, "startIndex"), _get(source, "count"))
    raw_filter = _get(source, "filter")
    if raw_filter is not None and not isinstance(raw_filter, str):
        raise invalid_filter("'filter' must be a string")
    sort_by = _get(source, "sortBy")
    order = _get(source, "sortOrder") or "ascending"
    if not isinstance(order, str) or order.lower() not in ("ascending", "descending"):
        raise invalid_value("'sortOrder' must be 'ascending' or 'descending'")
    attributes, excluded = attribute_list(_get(source, "attributes")), attribute_list(_get(source, "excludedAttributes"))
    if attributes and excluded:
        raise invalid_value("send 'attributes' or 'excludedAttributes', not both")
    return ListQuery(
        start=start,
        count=count,
        filter=scim_filter.parse(raw_filter) if raw_filter is not None else None,
        sort_by=scim_filter.parse_path(sort_by) if isinstance(sort_by, str) and sort_by.strip() else None,
        descending=order.lower() == "descending",
        attributes=attributes,
        excluded=excluded,
    )


def list_response(resources: list[dict], total: int, start: int) -> dict:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
