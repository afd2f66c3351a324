"""Pages of 100 users: one random page under load, and a full import page by page.

| row | wpscim | raw-SQL reference |
| --- | --- | --- |
| page of 100 | GET /Users?startIndex=random&count=100 | SELECT 100 users ORDER BY ID LIMIT/OFFSET + their usermeta |
| full import | GET /Users?startIndex=1,101,…&count=100 until totalResults (1 client, like Okta) | the same pages with LIMIT/OFFSET until a short page |

The import runs --import-rounds times per side, alternating; its row reports pages/s and the whole
import's seconds (the target: under 30 s at 100,000 users).
"""

from __future__ import annotations

import json
import time

from ..runner import PAGE, Bench, BenchError, Result, Row, Worker, log, phase_order


def http_page(bench: Bench):
    """GET /Users?startIndex=<random>&count=100; also what bench/fastpath.py sends."""
    n = bench.users

    def op(w: Worker, seq: int) -> None:
        start = w.rng.randint(1, n - PAGE + 1)
        payload = w.client.call("GET", f"/Users?startIndex={start}&count={PAGE}")
        if seq % 50 == 0 and len(json.loads(payload)["Resources"]) != PAGE:
            raise BenchError(f"page at {start} is short")

    return op


def page(bench: Bench) -> None:
    """Row page: one random page of 100 users per request."""
    n = bench.users

    def sql_op(w: Worker, seq: int) -> None:
        start = w.rng.randint(1, n - PAGE + 1)
        with w.client.transaction() as cur:
            sql_page(cur, start - 1)

    bench.compare("page", "one page of 100 users", bench.args.clients, http_page(bench), sql_op)


def sql_page(cur, offset: int) -> int:
    """The reference's page: 100 users rows from `offset` and their usermeta. Returns the users read."""
    cur.execute(f"SELECT * FROM wp_users ORDER BY ID LIMIT {PAGE} OFFSET %s", (offset,))
    ids = [row[0] for row in cur.fetchall()]
    if ids:
        cur.execute(
            "SELECT user_id, meta_key, meta_value FROM wp_usermeta WHERE user_id IN ("
            + ",".join(["%s"] * len(ids))
            + ") ORDER BY umeta_id",
            ids,
        )
        cur.fetchall()
    return len(ids)


def full_import(bench: Bench) -> None:
    """Row import: every user, 100 per page, by one client."""
    log("full import (1 client)")
    bench.server.reset_peak()

    def wpscim_import() -> Result:
        client, result = bench.http_client(), Result()
        start, total, seen = 1, None, 0
        began = time.perf_counter()
        try:
            while total is None or start <= total:
                t = time.perf_counter()
                doc = json.loads(client.call("GET", f"/Users?startIndex={start}&count={PAGE}"))
                result.latencies.append(time.perf_counter() - t)
                total = doc["totalResults"]
                seen += len(doc["Resources"])
                if not doc["Resources"]:
                    break
                start += PAGE
        except Exception as exc:
            result.errors, result.first_error = 1, f"{type(exc).__name__}: {exc}"[:300]
        finally:
            client.close()
        result.elapsed = time.perf_counter() - began
        if total is not None and seen != total:
            result.errors += 1
            result.first_error = result.first_error or f"import saw {seen} of totalResults {total}"
        result.extra = {"total_s": round(result.elapsed, 2), "users": seen}
        return result

    def raw_import() -> Result:
        client, result = bench.sql_client(), Result()
        offset, seen = 0, 0
        began = time.perf_counter()
        try:
            while True:
                t = time.perf_counter()
                with client.transaction() as cur:
                    got = sql_page(cur, offset)
                result.latencies.append(time.perf_counter() - t)
                seen += got
                offset += PAGE
                if got < PAGE:
                    break
        finally:
            client.close()
        result.elapsed = time.perf_counter() - began
        result.extra = {"total_s": round(result.elapsed, 2), "users": seen}
        return result

    wp, raw = Result(), Result()
    with bench.profiled("import"):
        for r in range(bench.args.import_rounds):
            for name in phase_order(r):
                part = raw_import() if name == "raw" else wpscim_import()
                (raw if name == "raw" else wp).add(part)
                log(f"  {name} import: {part.extra['users']} users in {part.elapsed:.2f} s")
    for res in (wp, raw):
        res.extra = {"total_s": round(res.elapsed / bench.args.import_rounds, 2)}
    bench.result.rows["import"] = Row("import", "full import, 100-user pages", 1, wp, raw, bench.server.status()["VmHWM"], unit="pages/s")
