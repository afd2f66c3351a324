"""Unquoted filter values that look like numbers (Entra sends externalId unquoted): a string attribute
compares with the value as written, and nothing unparseable is a 500."""

from __future__ import annotations

import pytest

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def create(api, user_name: str, external_id: str) -> str:
    result = api.post("/Users", json={"userName": user_name, "externalId": external_id, "emails": [{"value": f"{user_name}@example.com"}]})
    assert result.status_code == 201, result.text
    return result.json["id"]


def found(api, query: str) -> list[str]:
    result = api.get("/Users", params={"filter": query})
    assert result.status_code == 200, result.text
    assert result.json["totalResults"] == len(result.json["Resources"])
    return sorted(u["id"] for u in result.json["Resources"])


@pytest.fixture
def people(api) -> dict[str, str]:
    return {
        "zeros": create(api, "zeros", "00123"),
        "bond": create(api, "007", "agent"),
        "exponent": create(api, "exponent", "1e5"),
        "spelled": create(api, "spelled", "100000"),
        "plain": create(api, "plain", "12345"),
        "decimal": create(api, "decimal", "1.50"),
    }


@pytest.mark.parametrize(
    "query, who",
    [
        ("externalId eq 00123", ["zeros"]),
        ("userName eq 007", ["bond"]),
        ("externalId eq 1e5", ["exponent"]),
        ("externalId eq 100000 or externalId eq 1e5", ["exponent", "spelled"]),
        ("externalId eq 12345 or externalId eq 1.50", ["decimal", "plain"]),
        ("externalId sw 001", ["zeros"]),
        ("externalId eq 00123 or userName eq 007", ["bond", "zeros"]),
        ("externalId ne 1e5 and externalId sw 1", ["decimal", "plain", "spelled"]),
    ],
)
def test_unquoted_numbers_compare_with_strings_as_written(api, people, query, who):
    assert found(api, query) == sorted(people[name] for name in who)


def test_unquoted_numbers_in_a_search_request(api, people):
    result = api.post("/Users/.search", json={"schemas": [SEARCH], "filter": "externalId eq 1e5"})
    assert result.status_code == 200, result.text
    assert [u["id"] for u in result.json["Resources"]] == [people["exponent"]]


@pytest.mark.parametrize("query", ['userName eq "\\ud800"', 'externalId eq "\\udc00x"', "externalId eq 007 and", "userName eq 007)"])
def test_unparseable_filters_are_400_not_500(api, people, query):
    for result in (
        api.get("/Users", params={"filter": query}),
        api.post("/Users/.search", json={"schemas": [SEARCH], "filter": query}),
        api.get("/Groups", params={"filter": query}),
    ):
        assert result.status_code == 400, result.text
        assert result.json["schemas"] == [ERROR] and result.json["scimType"] == "invalidFilter", result.json
