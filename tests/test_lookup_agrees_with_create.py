"""What an IdP reads agrees with what it can write: a userName its lookup does not find can be created,
an import pages through every user once however many processes serve it, and a creation-time filter
means the instant it names, whatever its offset."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from wpscim.wordpress.users import search


def _lookup(api, user_name: str) -> int:
    found = api.get("/Users", params={"filter": f'userName eq "{user_name}"', "startIndex": "1", "count": "100"})
    assert found.status_code == 200, found.text
    return found.json["totalResults"]


@pytest.mark.parametrize(
    "held, asked",
    [("jose.garcia", "josé.garcía"), ("strasse", "straße"), ("ana", "åna")],
)
def test_a_username_the_lookup_does_not_find_is_created_not_refused(api, wp, held, asked):
    """MariaDB's collation equates accents, and ß with ss; SCIM's userName is equal only
    case aside. Okta looks the userName up before it creates it: absent there means creatable."""
    assert api.post("/Users", json={"userName": held, "emails": [{"value": "held@example.com"}]}).status_code == 201
    assert _lookup(api, asked) == 0
    created = api.post("/Users", json={"userName": asked, "emails": [{"value": "asked@example.com"}]})
    assert created.status_code == 201, created.text
    assert created.json["userName"] == asked and _lookup(api, asked) == 1
    (login,) = wp.sql("SELECT user_login FROM wp_users WHERE ID = %s", (int(created.json["id"]),))[0]
    assert login != held  # WordPress's own comparison would call it taken: the new user gets another login
    # A rename onto the held userName is refused, and one onto the asked spelling's case variant too.
    uid = created.json["id"]
    assert api.patch(f"/Users/{uid}", json=_replace("userName", held.upper())).status_code == 409
    assert api.post("/Users", json={"userName": asked.upper(), "emails": [{"value": "c@example.com"}]}).status_code == 409


def _replace(path: str, value) -> dict:
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": path, "value": value}]}


def _import(api, count: int) -> list[str]:
    ids, start = [], 1
    while True:
        page = api.get("/Users", params={"startIndex": str(start), "count": str(count)}).json
        ids += [u["id"] for u in page["Resources"]]
        start += count
        if start > page["totalResults"]:
            return ids


def test_an_import_served_by_two_processes_lists_every_user_once(wp):
    """Each process remembers where the import's last page ended; a delete in another process (or in
    WordPress) shifts the pages after it, so a remembered end serves only the page right after it."""
    first, second = wp.client(), wp.client()  # two processes' worth of state over one site
    for i in range(24):
        assert first.post("/Users", json={"userName": f"paged{i}@example.com"}).status_code == 201
    everyone = _import(second, 10)
    assert len(everyone) == len(set(everyone)) == 25  # the site's administrator and 24 users
    for uid in everyone[1:3]:
        assert first.delete(f"/Users/{uid}").status_code == 204
    # The next import: its first page from the process that deleted, the rest from the other.
    page_one = first.get("/Users", params={"startIndex": "1", "count": "10"}).json
    ids = [u["id"] for u in page_one["Resources"]]
    for start in (11, 21):
        ids += [u["id"] for u in second.get("/Users", params={"startIndex": str(start), "count": "10"}).json["Resources"]]
    assert len(ids) == len(set(ids)) == 23, ids
    # Within one process an import walks on from the page's end (a delete there shifts nothing it missed).
    assert _import(first, 10) == ids


def test_a_remembered_page_end_goes_stale(wp, monkeypatch):
    monkeypatch.setattr(search, "PAGE_END_SECONDS", 0.2)
    first, second = wp.client(), wp.client()
    for i in range(14):
        assert first.post("/Users", json={"userName": f"stale{i}@example.com"}).status_code == 201
    assert len(_import(second, 10)) == 15
    second.get("/Users", params={"startIndex": "1", "count": "10"})  # remembers where page 11 starts
    uid = first.get("/Users", params={"startIndex": "2", "count": "1"}).json["Resources"][0]["id"]
    assert first.delete(f"/Users/{uid}").status_code == 204
    time.sleep(0.3)
    page = second.get("/Users", params={"startIndex": "11", "count": "10"}).json
    assert [u["id"] for u in page["Resources"]] == [
        u["id"] for u in first.get("/Users", params={"startIndex": "11", "count": "10"}).json["Resources"]
    ]


def test_a_creation_time_with_an_offset_is_the_instant_it_names(api):
    made = api.post("/Users", json={"userName": "created@example.com"}).json
    created = datetime.fromisoformat(made["meta"]["created"].replace("Z", "+00:00"))
    plus_two = timezone(timedelta(hours=2))

    def found(op: str, when: datetime) -> bool:
        text = when.isoformat(timespec="microseconds" if when.microsecond else "seconds")
        answer = api.get("/Users", params={"filter": f'userName eq "created@example.com" and meta.created {op} "{text}"'})
        assert answer.status_code == 200, answer.text
        by_sql = api.get("/Users", params={"filter": f'meta.created {op} "{text}"'}).json["Resources"]
        assert (made["id"] in [u["id"] for u in by_sql]) == (answer.json["totalResults"] == 1), (op, text)
        return answer.json["totalResults"] == 1

    half_hour_before = (created - timedelta(minutes=30)).astimezone(plus_two)
    assert found("gt", half_hour_before) and not found("lt", half_hour_before)
    assert found("eq", created.astimezone(plus_two)) and not found("ne", created.astimezone(plus_two))
    half_second_before = created - timedelta(milliseconds=500)
    assert found("gt", half_second_before) and found("ge", half_second_before)
    assert not found("lt", half_second_before) and not found("le", half_second_before)
    half_second_after = created + timedelta(milliseconds=500)
    assert found("lt", half_second_after) and found("le", half_second_after) and not found("eq", half_second_after)
