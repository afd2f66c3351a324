"""SCIM filter expressions (RFC 7644 §3.4.2.2): parse into a small tree, and evaluate it on a resource.

The tree is what the storage layer translates to SQL; `matches` is the reference semantics that
translation must agree with (and the fallback for attributes SQL cannot see, such as the items of
a JSON-stored multi-valued attribute).

Tolerated deviations: operators and attribute names in any case; Entra's unquoted string values
(`externalId eq jyoung`, `externalId eq 00123`); a sub-attribute after a value filter
(`emails[type eq "work"].value eq "x"`). An unquoted number is a number to a numeric attribute and its
text, as written, to a string attribute (`externalId eq 1e5` is not `externalId eq "100000.0"`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wpscim.scim import schemas
from wpscim.scim.errors import invalid_filter

MAX_LENGTH = 4096
MAX_DEPTH = 32

COMPARISONS = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"}


@dataclass(frozen=True)
class AttrPath:
    """`urn:…:User:name.givenName` → urn, attr="name", sub="givenName". Names as the client wrote them."""

    attr: str
    sub: str | None = None
    urn: str | None = None

    def __str__(self) -> str:
        text = self.attr + (f".{self.sub}" if self.sub else "")
        return f"{self.urn}:{text}" if self.urn else text


@dataclass(frozen=True)
class Compare:
    path: AttrPath
    op: str  # one of COMPARISONS, or "pr"
    value: object = None
    # An unquoted number's spelling where str(value) spells it otherwise (1e5, 1.50, -0), so that a string
    # attribute is compared with what the client wrote; None keeps `eq 1` equal to Compare(…, 1).
    text: str | None = None


@dataclass(frozen=True)
class Logical:
    op: str  # "and" | "or"
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Not:
    expr: Filter


@dataclass(frozen=True)
class ValuePath:
    """`emails[type eq "work"]`: some item of a multi-valued attribute satisfies `expr`."""

    path: AttrPath
    expr: Filter


Filter = Compare | Logical | Not | ValuePath

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lp>\() | (?P<rp>\)) | (?P<lb>\[) | (?P<rb>\]) |
        (?P<string>"(?:[^"\\]|\\.)*") |
        (?P<word>[^\s()\[\]"]+)
    )""",
    re.VERBOSE,
)
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?$")
_SURROGATE = re.compile("[\ud800-\udfff]")
_ATTR = re.compile(r"^(?:(?P<urn>urn:[A-Za-z0-9.:_-]+):)?(?P<attr>[A-Za-z$][\w$-]*)(?:\.(?P<sub>[A-Za-z$][\w$-]*))?$")


def parse_path(text: str) -> AttrPath:
    match = _ATTR.match(text)
    if not match:
        raise invalid_filter(f"'{text}' is not an attribute path")
    return AttrPath(match["attr"], match["sub"], match["urn"])


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise invalid_filter(f"unexpected character at position {pos + 1} in filter")
        kind = match.lastgroup or ""
        out.append((kind, match[kind]))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.pos = 0
        self.depth = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise invalid_filter("filter ends too early")
        self.pos += 1
        return token

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token and token[0] == "word" and token[1].lower() in words:
            self.pos += 1
            return token[1].lower()
        return None

    def _next_kind(self) -> str | None:
        token = self.peek()
        return token[0] if token else None

    def parse(self) -> Filter:
        expr = self.or_expr()
        left = self.peek()
        if left is not None:
            raise invalid_filter(f"unexpected '{left[1]}' in filter")
        return expr

    def or_expr(self) -> Filter:
        left = self.and_expr()
        while self.keyword("or"):
            left = Logical("or", left, self.and_expr())
        return left

    def and_expr(self) -> Filter:
        left = self.unary()
        while self.keyword("and"):
            left = Logical("and", left, self.unary())
        return left

    def unary(self) -> Filter:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise invalid_filter(f"filter nests deeper than {MAX_DEPTH} levels")
        try:
            if self.keyword("not"):
                if self._next_kind() != "lp":
                    raise invalid_filter("'not' must be followed by a parenthesised filter")
                return Not(self.unary())
            if self._next_kind() == "lp":
                self.take()
                expr = self.or_expr()
                if self.take()[0] != "rp":
                    raise invalid_filter("missing ')' in filter")
                return expr
            return self.comparison()
        finally:
            self.depth -= 1

    def comparison(self) -> Filter:
        kind, text = self.take()
        if kind != "word":
            raise invalid_filter(f"expected an attribute name, found '{text}'")
        path = parse_path(text)
        token = self.peek()
        if token and token[0] == "lb":
            self.take()
            inner = self.or_expr()
            if self.take()[0] != "rb":
                raise invalid_filter("missing ']' in filter")
            follow = self.peek()
            if follow and follow[0] == "word" and follow[1].startswith("."):
                # emails[type eq "work"].value eq "x" (Entra): fold the comparison into the value filter.
                self.take()
                sub = parse_path(follow[1][1:])
                inner = Logical("and", inner, self.operator_and_value(AttrPath(sub.attr)))
            return ValuePath(path, inner)
        return self.operator_and_value(path)

    def operator_and_value(self, path: AttrPath) -> Filter:
        op = self.keyword("pr", *COMPARISONS)
        if op is None:
            token = self.peek()
            found = token[1] if token else "the end of the filter"
            raise invalid_filter(f"expected an operator after '{path}', found {found}")
        if op == "pr":
            return Compare(path, "pr")
        kind, text = self.take()
        if kind == "string":
            try:
                value = json.loads(text)
            except ValueError:
                raise invalid_filter(f"bad string literal {text}") from None
            if _SURROGATE.search(value):  # no character: MySQL cannot bind it
                raise invalid_filter(f"the string literal {text} holds a lone UTF-16 surrogate escape (\\uD800-\\uDFFF)")
        elif kind == "word":
            lowered = text.lower()
            if lowered in ("true", "false"):
                value = lowered == "true"
            elif lowered == "null":
                value = None
            elif _NUMBER.match(text) and (number := _json_number(text)) is not None:
                return Compare(path, op, number, None if str(number) == text else text)
            else:
                value = text  # Entra's unquoted externalId eq jyoung (or 00123: JSON has no such number)
        else:
            raise invalid_filter(f"expected a value after '{path} {op}'")
        return Compare(path, op, value)


def _json_number(text: str) -> int | float | None:
    """The number JSON reads `text` (matching _NUMBER) as; None for leading zeros (007), which JSON refuses."""
    try:
        return json.loads(text)
    except ValueError:
        return None


def parse(text: str) -> Filter:
    if text is None or not text.strip():
        raise invalid_filter("the filter is empty")
    if len(text) > MAX_LENGTH:
        raise invalid_filter(f"the filter is longer than {MAX_LENGTH} characters")
    return _Parser(text).parse()


def check_types(expr: Filter, schema: schemas.Attribute) -> None:
    """invalidFilter (RFC 7644 §3.4.2.2) for a comparison its attribute's type cannot make: a dateTime
    compared (eq ne gt ge lt le) with a value that is no dateTime (it would be compared as text), or an
    ordering (gt ge lt le) of a boolean or binary. Attributes the schema does not know are left to the search."""

    def kind(path: AttrPath, within: schemas.Attribute | None) -> str | None:
        if within is not None:
            attr = within.sub(path.attr)
        elif path.urn is None and path.attr.lower() == "meta":
            return "dateTime" if (path.sub or "").lower() in ("created", "lastmodified") else None
        else:
            attr = schemas.resolve(schema, path)
        return attr.type if attr is not None else None

    def walk(node: Filter, within: schemas.Attribute | None) -> None:
        if isinstance(node, Logical):
            walk(node.left, within)
            walk(node.right, within)
        elif isinstance(node, Not):
            walk(node.expr, within)
        elif isinstance(node, ValuePath):
            if (outer := schemas.resolve(schema, node.path)) is not None:
                walk(node.expr, outer)
        elif node.op != "pr" and node.value is not None:
            found = kind(node.path, within)
            # co, sw and ew compare a dateTime's text ('meta.created sw "2026-12"'): any string will do.
            if found == "dateTime" and node.op not in ("co", "sw", "ew") and _as_datetime(node.value) is None:
                raise invalid_filter(
                    f"'{node.path}' is a dateTime, and {json.dumps(node.value)} is none; write one as \"2026-12-04T10:00:00Z\" (RFC 3339)"
                )
            if found in ("boolean", "binary") and node.op in ("gt", "ge", "lt", "le"):
                raise invalid_filter(f"'{node.path}' is a {found}: '{node.op}' does not order it")

    walk(expr, None)


def unparse(expr: Filter) -> str:
    """Filter text that parses back to `expr` (fully parenthesised)."""
    if isinstance(expr, Logical):
        return f"({unparse(expr.left)} {expr.op} {unparse(expr.right)})"
    if isinstance(expr, Not):
        return f"not ({unparse(expr.expr)})"
    if isinstance(expr, ValuePath):
        return f"{expr.path}[{unparse(expr.expr)}]"
    if expr.op == "pr":
        return f"{expr.path} pr"
    return f"{expr.path} {expr.op} {expr.text if expr.text is not None else json.dumps(expr.value)}"


# --- evaluation on a resource -------------------------------------------------------------------

CaseExact = Callable[[AttrPath], bool]


def find_key(container: Any, name: str) -> str | None:
    """The key of `container` spelling `name` in any case (SCIM attribute names are case-insensitive)."""
    if not isinstance(container, dict):
        return None
    if name in container:  # the canonical spelling: the common case
        return name
    lowered = name.lower()
    for key in container:
        if isinstance(key, str) and key.lower() == lowered:
            return key
    return None


def _lookup(obj: dict, name: str) -> Any:
    key = find_key(obj, name)
    return obj[key] if key is not None else None


def _values(resource: dict, path: AttrPath) -> list:
    container = _lookup(resource, path.urn) if path.urn else resource
    if path.urn and container is None and path.urn.lower().endswith(":user"):
        container = resource  # the core schema URN names the resource itself
    top = _lookup(container, path.attr)
    items = top if isinstance(top, list) else [top]
    if path.sub is None:
        # A multi-valued complex attribute compared directly compares its "value" sub-attribute.
        return [i.get("value") if isinstance(i, dict) and isinstance(top, list) else i for i in items if i is not None]
    return [v for v in (_lookup(i, path.sub) for i in items) if v is not None]


_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def looks_like_datetime(value: Any) -> bool:
    return isinstance(value, str) and bool(_DATETIME.match(value))


def _as_datetime(value: Any) -> Any:
    if looks_like_datetime(value):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _compare(actual: Any, op: str, expected: Any, case_exact: bool) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        if isinstance(actual, str):
            actual = actual.lower() == "true"
        if isinstance(expected, str):
            expected = expected.lower() == "true"
        if op == "eq":
            return actual == expected
        if op == "ne":
            return actual != expected
        return False
    if expected is None:
        return op == "ne"
    if isinstance(actual, str) and isinstance(expected, str):
        a_dt, e_dt = _as_datetime(actual), _as_datetime(expected)
        if op not in ("co", "sw", "ew") and a_dt and e_dt and (a_dt.tzinfo is None) == (e_dt.tzinfo is None):
            actual, expected = a_dt, e_dt  # instants: "…T18:00:00Z" eq "…T20:00:00+02:00"
        elif not case_exact:
            actual, expected = actual.lower(), expected.lower()
    elif isinstance(actual, str) != isinstance(expected, str):
        if op in ("eq", "co", "sw", "ew"):
            return str(actual) == str(expected) if op == "eq" else False
        return op == "ne"
    try:
        if op == "eq":
            return actual == expected
        if op == "ne":
            return actual != expected
        if op == "co":
            return expected in actual
        if op == "sw":
            return actual.startswith(expected)
        if op == "ew":
            return actual.endswith(expected)
        if op == "gt":
            return actual > expected
        if op == "ge":
            return actual >= expected
        if op == "lt":
            return actual < expected
        if op == "le":
            return actual <= expected
    except TypeError:
        return False
    raise AssertionError(op)


def matches(expr: Filter, resource: dict, case_exact: CaseExact = lambda path: False) -> bool:
    if isinstance(expr, Logical):
        if expr.op == "and":
            return matches(expr.left, resource, case_exact) and matches(expr.right, resource, case_exact)
        return matches(expr.left, resource, case_exact) or matches(expr.right, resource, case_exact)
    if isinstance(expr, Not):
        return not matches(expr.expr, resource, case_exact)
    if isinstance(expr, ValuePath):
        container = _lookup(resource, expr.path.urn) if expr.path.urn else resource
        items = _lookup(container, expr.path.attr) or []
        if isinstance(items, dict):
            items = [items]
        parent = expr.path

        def item_case_exact(path: AttrPath) -> bool:
            return case_exact(AttrPath(parent.attr, path.attr, parent.urn))

        return any(isinstance(item, dict) and matches(expr.expr, item, item_case_exact) for item in items)
    values = _values(resource, expr.path)
    if expr.op == "pr":
        return any(v not in ("", [], {}) for v in values)
    exact = case_exact(expr.path)
    if expr.op == "ne":
        return not any(_compare(v, "eq", _operand(expr, v), exact) for v in values)
    return any(_compare(v, expr.op, _operand(expr, v), exact) for v in values)


def _operand(expr: Compare, actual: Any) -> Any:
    """What `actual` is compared with: a number's spelling when the attribute is a string (an ID such as
    1e5 or 1.50 is text to the IdP that sent it unquoted), else the value itself."""
    number = expr.value
    if isinstance(actual, str) and isinstance(number, (int, float)) and not isinstance(number, bool):
        return expr.text if expr.text is not None else str(number)
    return number


def sort_key_value(resource: dict, path: AttrPath) -> Any:
    """The value a resource sorts by (RFC 7644 §3.4.2.3): for a multi-valued attribute, the primary
    item's (else the first one's)."""
    container = _lookup(resource, path.urn) if path.urn and not path.urn.lower().endswith((":user", ":group")) else resource
    top = _lookup(container, path.attr)
    if isinstance(top, list):
        top = next((i for i in top if isinstance(i, dict) and i.get("primary") is True), top[0] if top else None)
        sub = path.sub or "value"
        return _lookup(top, sub) if isinstance(top, dict) else top
    if path.sub:
        return _lookup(top, path.sub)
    return top


def sorted_resources(resources: list[dict], path: AttrPath, descending: bool, case_exact: CaseExact = lambda p: False) -> list[dict]:
    """Sorted by `path`; resources without a value come last in either order."""
    exact = case_exact(path)

    def key(resource: dict) -> tuple:
        value = sort_key_value(resource, path)
        if isinstance(value, str) and not exact:
            value = value.lower()
        return value

    present = [r for r in resources if key(r) not in (None, "")]
    missing = [r for r in resources if key(r) in (None, "")]
    try:
        present.sort(key=key, reverse=descending)
    except TypeError:
        present.sort(key=lambda r: str(key(r)), reverse=descending)
    return present + missing
