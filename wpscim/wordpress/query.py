"""SCIM filters translated to SQL over `{prefix}users u` — every value bound, never formatted in.

`translate` returns (where, params, exact). When `exact` is False the SQL selects a superset (for
attributes WordPress keeps as JSON, e.g. secondary emails) and the caller checks each candidate with
wpscim.scim.filter.matches, which is the reference semantics.
"""

from __future__ import annotations

from datetime import UTC, datetime

from wpscim.scim import filter as scim_filter
from wpscim.scim import schemas
from wpscim.scim.resource import user_number
from wpscim.wordpress import mapping
from wpscim.wordpress.mapping import SUSPENDED_PASS_META, USERNAME_META, Mapping
from wpscim.wordpress.metavalues import meta_value
from wpscim.wordpress.site import Site

ANY = ("1=1", [], False)


def _like(value: str, op: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return {"co": f"%{escaped}%", "sw": f"{escaped}%", "ew": f"%{escaped}"}[op]


_SQL_OP = {"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def _registered_condition(op: str, when: datetime) -> tuple[str, list, bool]:
    """meta.created against user_registered, which holds whole seconds of UTC: an instant with an offset
    is compared in UTC, and a fraction of a second turns the operator into its whole-second equivalent."""
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    second = when.strftime("%Y-%m-%d %H:%M:%S")
    if when.microsecond:
        if op in ("eq", "ne"):
            return ("1=0" if op == "eq" else "1=1"), [], True
        op = {"gt": "gt", "ge": "gt", "lt": "le", "le": "le"}[op]  # R >= 51.5 is R > 51; R < 51.5 is R <= 51
    return f"u.user_registered {_SQL_OP[op]} %s", [second], True


def _string_condition(column: str, op: str, value, case_exact: bool) -> tuple[str, list]:
    """`column op value` for a string attribute, with SCIM's semantics rather than the collation's:
    WordPress's _ci collations also equate accents and ignore trailing spaces, so comparisons are made
    on LOWER()ed bytes; for `eq` the collation comparison comes first so MySQL can use an index."""
    if op == "pr":
        return f"({column} IS NOT NULL AND {column} <> '')", []
    text = value if isinstance(value, str) else str(value)
    if op in ("co", "sw", "ew"):
        if case_exact:
            return f"{column} LIKE BINARY %s", [_like(text, op)]
        return f"LOWER({column}) LIKE BINARY LOWER(%s)", [_like(text, op)]
    if op in ("eq", "ne"):
        # The collation comparison first, so an index on the column can be used; then the exact one.
        refine = f"BINARY {column} = %s" if case_exact else f"LOWER({column}) = BINARY LOWER(%s)"
        equal = f"({column} = %s AND {refine})"
        params = [text, text]
        return (equal if op == "eq" else f"NOT ({equal})"), params
    # An empty value is no value: it is neither greater nor less than anything.
    if case_exact:
        return f"({column} <> '' AND BINARY {column} {_SQL_OP[op]} %s)", [text]
    return f"({column} <> '' AND LOWER({column}) {_SQL_OP[op]} BINARY LOWER(%s))", [text]


def _path_name(path: scim_filter.AttrPath) -> str | None:
    if path.urn and path.urn.lower() != schemas.CORE_USER.lower():
        return None
    return (path.attr + ("." + path.sub if path.sub else "")).lower()


def translate(expr: scim_filter.Filter, site: Site, user_mapping: Mapping = mapping.DEFAULT) -> tuple[str, list, bool]:
    if isinstance(expr, scim_filter.Logical):
        left, right = translate(expr.left, site, user_mapping), translate(expr.right, site, user_mapping)
        joiner = " AND " if expr.op == "and" else " OR "
        return f"({left[0]}{joiner}{right[0]})", left[1] + right[1], left[2] and right[2]
    if isinstance(expr, scim_filter.Not):
        inner = translate(expr.expr, site, user_mapping)
        return (f"NOT ({inner[0]})", inner[1], True) if inner[2] else ANY
    if isinstance(expr, scim_filter.ValuePath):
        if _path_name(expr.path) == "emails":
            value = _value_eq(expr.expr)
            if value is not None:
                return _email_superset(site, value)
        return _mapped_value_path(expr, site, user_mapping)
    return _compare(expr, site, user_mapping)


def _value_eq(expr) -> str | None:
    """X when the value filter requires `value eq X`."""
    if isinstance(expr, scim_filter.Compare) and expr.op == "eq" and expr.path.attr.lower() == "value" and isinstance(expr.value, str):
        return expr.value
    if isinstance(expr, scim_filter.Logical) and expr.op == "and":
        return _value_eq(expr.left) or _value_eq(expr.right)
    return None


def _email_superset(site: Site, value: str) -> tuple[str, list, bool]:
    sql = f"(u.user_email = %s OR u.ID IN (SELECT user_id FROM {site.usermeta} WHERE meta_key = %s AND meta_value LIKE %s))"
    return sql, [value, mapping.EMAILS_META, _like(value, "co")], False


def _meta_condition(site: Site, key: str, op: str, value, case_exact: bool) -> tuple[str, list]:
    if op == "ne":
        inner, params = _string_condition("meta_value", "eq", value, case_exact)
        return f"u.ID NOT IN (SELECT user_id FROM {site.usermeta} WHERE meta_key = %s AND {inner})", [key, *params]
    inner, params = _string_condition("meta_value", op, value, case_exact)
    return f"u.ID IN (SELECT user_id FROM {site.usermeta} WHERE meta_key = %s AND {inner})", [key, *params]


def _defaulted(site: Site, attribute: str) -> str:
    """Users for whom `attribute` is a WordPress default the client left unassigned (not reported)."""
    return (
        f"u.ID IN (SELECT user_id FROM {site.usermeta} WHERE meta_key = '{mapping.DEFAULTED_META}' "
        f"AND meta_value LIKE '%%\"{attribute}\"%%')"  # '%%': the statement goes through %-formatting
    )


def _active(site: Site, op: str, value) -> tuple[str, list, bool]:
    """`active` as read (mapping.from_storage): false while suspended, always reported then; true
    otherwise, reported unless WordPress's default stood in for a value the client never sent."""
    suspended = f"(u.ID IN (SELECT user_id FROM {site.usermeta} WHERE meta_key = %s){' OR u.spam <> 0' if site.multisite else ''})"
    if op == "pr":
        return f"(NOT {_defaulted(site, 'active')} OR {suspended})", [SUSPENDED_PASS_META], True
    if op not in ("eq", "ne") or not isinstance(value, bool):
        return ANY
    matching = f"(NOT {_defaulted(site, 'active')} AND NOT {suspended})" if value else suspended
    return (matching if op == "eq" else f"NOT {matching}"), [SUSPENDED_PASS_META], True


def _compare(expr: scim_filter.Compare, site: Site, user_mapping: Mapping) -> tuple[str, list, bool]:
    name, op, value = _path_name(expr.path), expr.op, expr.value
    if name is None:  # an extension attribute: only a mapped one has a WordPress place to look
        name = "" if user_mapping.field_for(expr.path) is not None else None
    if name is None:
        return ANY
    if name == "active":
        return _active(site, op, value)
    if name in ("emails", "emails.value"):
        if op == "eq" and isinstance(value, str) and value:
            return _email_superset(site, value)
        return ANY
    if op != "pr" and (not isinstance(value, str) or value == ""):
        # Comparing a string attribute with a number, boolean, null or "": left to the reference evaluator.
        return ANY
    if name == "id":
        if op == "pr":
            return "1=1", [], True
        if op not in ("eq", "ne"):
            return ANY  # ids are strings to SCIM: "12" < "5"
        number = user_number(value)
        if number is None:
            return ("0=1" if op == "eq" else "1=1"), [], True
        return f"u.ID {_SQL_OP[op]} %s", [number], True
    if name == "username":
        if op == "eq":
            login, login_params = _string_condition("u.user_login", "eq", value, False)
            exact, exact_params = _string_condition("meta_value", "eq", value, False)
            sql = (
                f"(({login} AND u.ID NOT IN (SELECT user_id FROM {site.usermeta} WHERE meta_key = %s)) "
                f"OR u.ID IN (SELECT user_id FROM {site.usermeta} WHERE meta_key = %s AND {exact}))"
            )
            return sql, [*login_params, USERNAME_META, USERNAME_META, *exact_params], True
        effective = (
            f"COALESCE((SELECT m.meta_value FROM {site.usermeta} m WHERE m.user_id = u.ID AND m.meta_key = "
            f"'{USERNAME_META}' ORDER BY m.umeta_id LIMIT 1), u.user_login)"
        )
        sql, params = _string_condition(effective, op, value, False)
        return sql, params, True
    field = user_mapping.field_for(expr.path)
    if field is None or name == "meta.lastmodified" or field.direction == "write" or field.path.value_filter is not None:
        return ANY
    if name == "meta.created":
        if op == "pr":
            return "1=1", [], True
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return ANY
        if op not in _SQL_OP or not scim_filter.looks_like_datetime(value):
            return ANY
        return _registered_condition(op, when)
    exact = True
    if field.target in mapping.WORDPRESS_SANITIZED and op != "pr":
        # Stored as WordPress's filters leave it (a URL gains http://, loses what esc_url drops): only an
        # equality narrows to the stored form; the evaluator decides the rest.
        if op != "eq":
            return ANY
        exact = False
    elif (field.transform is not None or field.escaped) and op != "pr":
        # Stored transformed (HTML-escaped names, en_US locales): the transform is not one-to-one, so the
        # SQL only narrows the candidates (eq and substrings); other operators are left to the evaluator.
        if op not in ("eq", "co", "sw", "ew"):
            return ANY
        exact = False
    stored = field.to_wordpress(value) if op != "pr" else None
    if field.column:
        sql, params = _string_condition(f"u.`{field.column}`", op, stored, field.case_exact)
    else:
        sql, params = _meta_condition(site, field.meta_key, op, stored, field.case_exact)
    if field.scim in mapping.DEFAULTABLE:
        sql = f"({sql} OR {_defaulted(site, field.scim)})" if op == "ne" else f"({sql} AND NOT {_defaulted(site, field.scim)})"
    return sql, params, exact


def sort_expression(path: scim_filter.AttrPath, site: Site, user_mapping: Mapping = mapping.DEFAULT) -> tuple[str, list] | None:
    """An SQL expression ordering users by `path` and its bound parameters, or None when only the
    in-memory sort can (JSON-held attributes)."""
    name = _path_name(path)
    if name is None and user_mapping.field_for(path) is not None:
        name = ""
    if name is None:
        return None
    meta_value = f"(SELECT m.meta_value FROM {site.usermeta} m WHERE m.user_id = u.ID AND m.meta_key = %s ORDER BY m.umeta_id LIMIT 1)"
    if name == "id":
        return "u.ID", []
    if name == "username":
        return f"COALESCE({meta_value}, u.user_login)", [USERNAME_META]
    if name in ("emails", "emails.value"):
        return "u.user_email", []
    if name == "meta.lastmodified":
        return f"COALESCE({meta_value}, DATE_FORMAT(u.user_registered, '%%Y-%%m-%%dT%%H:%%i:%%sZ'))", ["wpscim_meta.lastModified"]
    field = user_mapping.field_for(path)
    if field is None or field.direction == "write" or field.path.value_filter is not None:
        return None
    if field.column:
        return f"u.`{field.column}`", []  # one of mapping_file.COLUMNS or the built-in table's
    return meta_value, [field.meta_key]


def _mapped_value_path(expr: scim_filter.ValuePath, site: Site, user_mapping: Mapping) -> tuple[str, list, bool]:
    """`phoneNumbers[type eq "work" and value eq "x"]` where the mapping routes
    `phoneNumbers[type eq "work"].value` to a usermeta key: narrowed through that key."""
    if not (isinstance(expr.expr, scim_filter.Logical) and expr.expr.op == "and"):
        return ANY
    for f in user_mapping.fields:
        path = f.path
        if path.value_filter is None or path.attr.lower() != expr.path.attr.lower() or not f.meta_key or f.direction == "write":
            continue
        for selector, comparison in ((expr.expr.left, expr.expr.right), (expr.expr.right, expr.expr.left)):
            if (
                selector == path.value_filter
                and isinstance(comparison, scim_filter.Compare)
                and comparison.op == "eq"
                and isinstance(comparison.value, str)
                and comparison.value
                and comparison.path.attr.lower() == (path.sub or "value").lower()
            ):
                sql, params = _meta_condition(site, f.meta_key, "eq", f.to_wordpress(comparison.value), False)
                return sql, params, False
    return ANY


def login_lookup(expr: scim_filter.Filter) -> str | None:
    """The value of a plain `userName eq "…"` filter, or None for any other filter."""
    if (
        isinstance(expr, scim_filter.Compare)
        and expr.op == "eq"
        and isinstance(expr.value, str)
        and expr.value
        and _path_name(expr.path) == "username"
    ):
        return expr.value
    return None


def selective_ids(expr: scim_filter.Filter, cursor, site: Site, user_mapping: Mapping = mapping.DEFAULT) -> set[int] | None:
    """For filters an IdP looks users up with (`userName eq`, `externalId eq`, `id eq`, and `and`/`or`
    of them): the few candidate IDs, found through indexes before the main query, which then reads
    them by primary key instead of scanning users in ID order. None when the filter is not selective."""
    if isinstance(expr, scim_filter.Logical):
        left = selective_ids(expr.left, cursor, site, user_mapping)
        right = selective_ids(expr.right, cursor, site, user_mapping)
        if expr.op == "and":
            return left & right if left is not None and right is not None else (left if left is not None else right)
        return left | right if left is not None and right is not None else None
    if not isinstance(expr, scim_filter.Compare) or expr.op != "eq" or not isinstance(expr.value, str) or not expr.value:
        return None
    name = _path_name(expr.path)
    if name == "id":
        return {number} if (number := user_number(expr.value)) is not None else set()
    if name == "username":
        cursor.execute(
            f"SELECT ID FROM {site.users} WHERE user_login = %s "
            f"UNION ALL SELECT user_id FROM {site.usermeta} WHERE meta_key = %s AND meta_value = %s",
            (expr.value, USERNAME_META, meta_value(expr.value)),
        )
        return {row[0] for row in cursor.fetchall()}
    field = user_mapping.field_for(expr.path)
    if field is not None and field.meta_key and field.path.value_filter is None and field.transform is None and not field.escaped:
        cursor.execute(
            f"SELECT user_id FROM {site.usermeta} WHERE meta_key = %s AND meta_value = %s", (field.meta_key, meta_value(expr.value))
        )
        return {row[0] for row in cursor.fetchall()}
    return None
