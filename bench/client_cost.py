"""What the load generator's HTTP client costs: bench/httpclient.py's HttpClient against the standard
library's http.client.HTTPConnection (keep-alive, TCP_NODELAY), on the same server, same requests.

    python bench/client_cost.py                       # 2,000 users, 4 clients, 6 rounds of 1 s per client
    python bench/client_cost.py --rounds 10 --seconds 2

Seeds and serves like bench/run.py (Bench.prepare), then for a lookup (GET, one user), a create
(POST) and a page of 100 users (GET, ~100 kB) runs phases alternating between the two clients (the
order flips every round) and prints per request: this process's CPU (the load generator's cost, what
the choice is about), wpscim's and the database's CPU, and requests/s. The hand-written client stays
only while http.client costs more than ~10 % more load-generator CPU per request.
"""

from __future__ import annotations

import argparse
import http.client
import random
import sys
from collections import Counter as Tally
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root: the `bench` package

import orjson  # noqa: E402

from bench import seed as seeding  # noqa: E402
from bench.httpclient import BASE, RETRIES_503, BenchError, HttpClient  # noqa: E402
from bench.run import parse_args  # noqa: E402
from bench.runner import PAGE, Bench, Sequence, Worker, log, run_phase  # noqa: E402
from bench.scenarios.scim import user_body  # noqa: E402


class StdlibClient:
    """The same `call()` as HttpClient (503 retries, status check) on http.client.HTTPConnection."""

    def __init__(self, port: int, token: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port)  # blocking; connect() sets TCP_NODELAY
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/scim+json"}
        self.body_headers = {**self.headers, "Content-Type": "application/scim+json"}
        self.retried_503 = 0

    def call(self, method: str, path: str, body=None, expect=(200,)) -> bytes:
        data = None if body is None else orjson.dumps(body)
        for attempt in range(RETRIES_503 + 1):
            self.conn.request(method, BASE + path, body=data, headers=self.headers if data is None else self.body_headers)
            response = self.conn.getresponse()
            payload = response.read()
            if response.status != 503 or attempt == RETRIES_503:
                break
            self.retried_503 += 1
        if response.status not in expect:
            raise BenchError(f"{method} {path} -> {response.status}: {payload[:300]!r}")
        return payload

    def close(self) -> None:
        self.conn.close()


CLIENTS = {"hand-written (HttpClient)": HttpClient, "http.client": StdlibClient}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--database-url", default="mysql://root@127.0.0.1:3306/")
    own = parser.parse_args()
    args = parse_args(["--users", str(own.users), "--clients", str(own.clients), "--database-url", own.database_url])
    bench = Bench(args, own.users)
    n = own.users

    def lookup(w: Worker, seq: int) -> None:
        w.client.call("GET", f"/Users?filter=userName%20eq%20%22{seeding.login(w.rng.randint(1, n))}%22")

    def create(w: Worker, seq: int) -> None:
        name = f"cost-{bench.run_id}-{w.state['kind']}{seq}@example.com"
        w.client.call(
            "POST", "/Users", user_body(name, name, "New", f"User{seq}", f"00c{bench.run_id}{w.state['kind']}{seq}"), expect=(201,)
        )

    def page(w: Worker, seq: int) -> None:
        w.client.call("GET", f"/Users?startIndex={w.rng.randint(1, n - PAGE + 1)}&count={PAGE}")

    lines = [
        "| request | client | req/s | load generator CPU µs/req | wpscim CPU µs/req | database CPU µs/req |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    try:
        bench.prepare()
        for title, op in (("lookup by userName", lookup), ("create", create), ("page of 100", page)):
            log(f"{title} ({own.clients} clients)")
            used = {kind: Tally() for kind in CLIENTS}
            sides = {}
            for k, (kind, make) in enumerate(CLIENTS.items()):
                workers = [
                    Worker(i, make(bench.server.port, bench.token), random.Random(f"{title}/{kind}/{i}"), {"kind": "hp"[k]})
                    for i in range(own.clients)
                ]
                sides[kind] = (workers, Sequence())
                run_phase(workers, op, 0.3, sides[kind][1], None)  # warm-up: connections, caches
            for r in range(own.rounds):
                for kind in list(CLIENTS) if r % 2 == 0 else list(CLIENTS)[::-1]:
                    workers, seq = sides[kind]
                    before = bench.cpu_now()
                    phase = run_phase(workers, op, own.seconds, seq, None)
                    used[kind].update({part: value - before[part] for part, value in bench.cpu_now().items()})
                    used[kind]["requests"] += len(phase.latencies)
                    used[kind]["seconds"] += phase.elapsed
                    if phase.errors:
                        log(f"  {kind}: {phase.errors} errors, first: {phase.first_error}")
            for kind, (workers, _) in sides.items():
                Bench.close(workers)
                u = used[kind]
                per = {part: 1e6 * u[part] / u["requests"] for part in ("bench", "server", "database")}
                lines.append(
                    f"| {title} | {kind} | {u['requests'] / u['seconds']:.0f} | {per['bench']:.0f} | {per['server']:.0f} | "
                    f"{per['database']:.0f} |"
                )
                log(
                    f"  {kind}: {u['requests'] / u['seconds']:.0f}/s, load generator {per['bench']:.0f} µs, wpscim {per['server']:.0f} µs, "
                    f"database {per['database']:.0f} µs per request"
                )
    finally:
        bench.finish()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
