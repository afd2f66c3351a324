"""List responses and paging (RFC 7644 §3.4.2.4)."""

from __future__ import annotations

from wpscim.scim.errors import invalid_value
from wpscim.scim.schemas import LIST_RESPONSE

DEFAULT_COUNT = 100
MAX_COUNT = 1000


def _integer(raw, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise invalid_value(f"'{name}' must be an integer, not {raw!r}") from None


def paging(start_index, count) -> tuple[int, int]:
    """1-based start (values below 1 mean 1) and a page size capped at MAX_COUNT (negative means 0)."""
    start = _integer(start_index, "startIndex")
    size = _integer(count, "count")
    start = 1 if start is None or start < 1 else start
    size = DEFAULT_COUNT if size is None else max(0, min(size, MAX_COUNT))
    return start, size


def list_response(resources: list[dict], total: int, start: int) -> dict:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
