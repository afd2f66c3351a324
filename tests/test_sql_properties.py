"""Property-based tests (hypothesis) against the real database: the filter → SQL translation agrees
with the in-memory reference evaluator, and bound values reach MySQL unchanged."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import filters

from wpscim.scim.filter import matches, unparse
from wpscim.wordpress.mapping import DEFAULT as DEFAULT_MAPPING
from wpscim.wordpress.query import translate

PEOPLE = [
    {
        "userName": "alice",
        "name": {"givenName": "Alice", "familyName": "Zé"},
        "displayName": "Alice Zé",
        "externalId": "A1",
        "emails": [{"value": "alice@example.com", "type": "work", "primary": True}, {"value": "al@home.example", "type": "home"}],
        "title": "Boss",
        "locale": "en-US",
        "active": True,
    },
    {
        "userName": "Bob_b",
        "name": {"givenName": "bob", "familyName": "Tom & Jerry"},
        "externalId": "a1",
        "active": False,
        "emails": [{"value": "BOB@example.com", "type": "home"}],
        "nickName": "Bobby",
        "profileUrl": "https://b.example/%_x",
    },
    {
        "userName": "carol+tag@example.com",
        "displayName": "100% <c>",
        "externalId": "c3",
        "title": "boss ",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Ops"},
    },
    {"userName": "dave", "name": {"familyName": "ß"}, "locale": "de-DE", "active": True, "displayName": "Dave"},
    {"userName": "Émile", "displayName": "émile", "nickName": "E", "emails": [{"value": "e@example.com", "type": "work"}]},
    {"userName": "z", "active": False, "name": {"givenName": "", "familyName": "a"}},
]


@pytest.fixture
def people(wp):
    api = wp.client()
    for person in PEOPLE:
        assert api.post("/Users", json=person).status_code == 201
    # Filters see users as stored (ScimUser), not the names derived for display of users WordPress made.
    with wp.db.reading() as session:
        total, everyone = wp.storage().users.search(session, None, 1, 1000)
    assert total == len(PEOPLE) + 1
    return wp, wp.site, everyone


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(expr=filters)
def test_sql_agrees_with_the_reference_evaluator(people, expr):
    wp, site, everyone = people
    where, params, exact = translate(expr, site)
    with wp.db.reading() as cursor:
        cursor.execute(f"SELECT u.ID FROM {site.users} u WHERE {where} ORDER BY u.ID", params)
        selected = {str(row[0]) for row in cursor.fetchall()}
    expected = {u["id"] for u in everyone if matches(expr, u, DEFAULT_MAPPING.case_exact)}
    if exact:
        assert selected == expected, unparse(expr)
    else:
        assert expected <= selected, unparse(expr)  # a superset, narrowed by the evaluator


_bound = st.one_of(
    st.text(),
    st.text(alphabet="'\"\\\0\n\r\x1a%s"),
    st.integers(),
    st.none(),
    st.booleans(),
    st.binary(max_size=8),
    st.floats(allow_nan=False, allow_infinity=False),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_bound, min_size=1, max_size=6))
def test_bound_values_are_escaped_as_pymysql_escapes_them(mysql_server, values):
    """The fast path's cursor binds text values itself (wpscim.wordpress.driver.FastCursor): the statement
    it sends is PyMySQL's, and MySQL reads every value back unchanged."""
    import pymysql

    from wpscim.wordpress.db import Database, DatabaseAddress
    from wpscim.wordpress.driver import FastCursor

    db = Database(
        DatabaseAddress(mysql_server["host"], mysql_server["port"], mysql_server["user"], mysql_server["password"]), 1, fast_path=True
    )
    try:
        with db.reading() as session:
            cursor = session.cursor
            assert isinstance(cursor, FastCursor)
            sql = "SELECT " + ", ".join(["%s"] * len(values))
            assert cursor.mogrify(sql, values) == pymysql.cursors.Cursor._mogrify(cursor, sql, values)
            cursor.execute(sql, values)
            row = cursor.fetchone()
            for sent, read in zip(values, row):
                if isinstance(sent, str):
                    assert read == sent
    finally:
        db.close()
