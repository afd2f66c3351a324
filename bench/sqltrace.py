"""Which SQL statements one request of each benchmark scenario makes, and how long each takes.

    python bench/sqltrace.py --users 10000          # traces against wpscim_bench_10000
    python bench/sqltrace.py --users 100000 --explain

Runs wpscim's app in-process (falcon.testing) on a database seeded by bench/run.py (keep one with
`python bench/run.py --users N --reuse`, or this script seeds it when it is missing), wraps PyMySQL's
cursor to record every statement, and prints per request: round trips, time in the database, total
time, and the statements (slowest first; `--explain` adds MySQL's plan for each SELECT slower than
`--slow-ms`). It writes: one user is created, one deactivated, one PUT, one group PATCH pair.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root: the `bench` package

import falcon.testing  # noqa: E402
import pymysql.cursors  # noqa: E402

from bench import seed as seeding  # noqa: E402
from bench.wpscim_api import Database, Storage, TokenStore, bench_address, create_app, detect  # noqa: E402

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
trace: list[tuple[str, float]] | None = None
_execute = pymysql.cursors.Cursor.execute


def _traced(self, query, args=None):
    began = time.perf_counter()
    try:
        return _execute(self, query, args)
    finally:
        if trace is not None:
            trace.append((self.mogrify(query, args) if args is not None else query, time.perf_counter() - began))


pymysql.cursors.Cursor.execute = _traced


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--database-url", default="mysql://root@127.0.0.1:3306/")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--slow-ms", type=float, default=5.0)
    args = parser.parse_args()
    address = bench_address(args.database_url, args.users)
    if seeding.seeded_size(address) != args.users:
        seeding.seed(address, args.users)
    db = Database(address, max_connections=2)
    site = detect(db, "wp_")
    token = TokenStore(db, site).create(f"sqltrace-{time.time_ns()}")
    client = falcon.testing.TestClient(create_app(Storage(db, site)), headers={"Authorization": f"Bearer {token}"})
    n, i = args.users, args.users // 2
    stamp = time.time_ns()
    members = [{"value": str(k)} for k in range(1, 101)]
    user = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": f"trace{stamp}@example.com",
        "name": {"givenName": "Trace", "familyName": "User"},
        "emails": [{"value": f"trace{stamp}@example.com", "primary": True}],
        "displayName": "Trace User",
        "externalId": f"trace{stamp}",
        "active": True,
    }
    put = {
        "schemas": user["schemas"],
        "userName": seeding.login(i + 1),
        "name": {"givenName": "Traced", "familyName": "Put"},
        "emails": [{"value": seeding.email(i + 1), "primary": True, "type": "work"}],
        "externalId": seeding.external_id(i + 1),
    }
    requests = [
        ("create (no password)", "POST", "/scim/v2/Users", user),
        ("lookup userName eq", "GET", "/scim/v2/Users?filter=" + quote(f'userName eq "{seeding.login(i)}"'), None),
        ("lookup externalId eq", "GET", "/scim/v2/Users?filter=" + quote(f'externalId eq "{seeding.external_id(i)}"'), None),
        (
            "PATCH deactivate",
            "PATCH",
            f"/scim/v2/Users/{i + 2}",
            {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]},
        ),
        ("PUT update", "PUT", f"/scim/v2/Users/{i + 1}", put),
        ("page of 100", "GET", f"/scim/v2/Users?startIndex={n // 2}&count=100", None),
        (
            "group PATCH add 100",
            "PATCH",
            "/scim/v2/Groups/editor",
            {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": members}]},
        ),
        (
            "group PATCH remove 100",
            "PATCH",
            "/scim/v2/Groups/editor",
            {"schemas": [PATCH], "Operations": [{"op": "remove", "path": "members", "value": members}]},
        ),
        ("GET /Groups?excludedAttributes=members", "GET", "/scim/v2/Groups?excludedAttributes=members", None),
    ]
    global trace
    client.simulate_get("/scim/v2/Users?count=1")  # token cache, pool, imports
    for title, method, path, body in requests:
        trace = []
        began = time.perf_counter()
        result = client.simulate_request(
            method, path, body=json.dumps(body) if body else None, headers={"Content-Type": "application/scim+json"} if body else None
        )
        total = (time.perf_counter() - began) * 1000
        done, trace = trace, None
        in_db = sum(t for _, t in done) * 1000
        print(
            f"\n## {title}: HTTP {result.status_code}, {len(done)} statements (+ ping, BEGIN, COMMIT), {in_db:.1f} ms in execute(), {total:.1f} ms total"
        )
        for statement, seconds in sorted(done, key=lambda x: -x[1]):
            text = " ".join(str(statement).split())
            print(f"  {seconds * 1000:7.2f} ms  {text[:220]}{'…' if len(text) > 220 else ''}")
            if args.explain and seconds * 1000 >= args.slow_ms and text.upper().startswith("SELECT"):
                with db.reading() as cursor:
                    cursor.execute("EXPLAIN " + str(statement))
                    for row in cursor.fetchall():
                        print("             EXPLAIN", row)
    TokenStore(db, site).revoke(token)


if __name__ == "__main__":
    main()
