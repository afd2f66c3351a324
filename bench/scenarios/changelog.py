"""What telling WordPress costs: one wpscim server measured against another, in alternating phases, as
the other rows alternate wpscim and raw SQL. Both are started by the bench (Bench.start_server) on the
size's seeded database, served alike (server kind, processes, threads, pool; no access log), and get
the same requests.

| row | measured | baseline | target |
| --- | --- | --- | --- |
| changelog | POST /Users on a server with the change log and the direct Redis invalidation: `--redis-url <--redis-url> --redis-prefix wpscim-bench-<run id>:`, no site URL known (so no companion to wake) | POST /Users on a `--no-change-log` server (no event, no invalidation) | ratio ≥ 0.85 |
| changelog_wake | the same, with the seeded site's URL (`--wp-url http://localhost`, where nothing answers here) | the changelog row's server | info |
| companion | POST /Users on a server with `--object-cache companion --wp-url <the bench's WordPress>`: each create waits for a delivery by the companion (concurrent creates share one) | the same `--no-change-log` server | info |
| access_log | lookup by userName on a server with the access log on (wpscim's default) | the same lookups on the size's own server (`--no-access-log`, as every server of the bench) | info |

changelog: the Redis invalidation must really happen, or the row could pass with it silently off.
Before each measured phase of the change-log server the bench sets a key every create's invalidation
deletes (`<prefix>wp:users:last_changed`, wpscim/wordpress/cache.py) and reads Redis's INFO
commandstats; after it, the key must be gone and DEL must have been called at least once per create
(wpscim sends one DEL per request). The change-log server's events are counted too (one per create),
and the baseline's (none).

companion: WordPress 6.1 is served by `php -S` for the seeded database with the companion as its only
mu-plugin (bench/wordpress.py); the events earlier rows left undelivered are marked delivered first
(they would be the first delivery's work), and `siteurl`/`home` are put back afterwards. The CPU of
WordPress's processes is charged to the measured side ("wordpress"); the row also reports how many
deliveries the creates shared and that every event was delivered.

Site URL: wpscim's notifier wakes the companion at the site's URL after each commit whenever it knows
one (README "WordPress hears of every change"), and retries while it does not answer. The seeded
site's `home` option is init_schema's http://localhost, where nothing answers here: the size's own
server and the access_log row's servers run like that (the seeded site as it is). The changelog row
measures the change log and the Redis invalidation alone, so its server starts while `home` is empty
(no URL known: hooks are not fired); changelog_wake then measures what the wake-ups against the
unanswering URL add (the same server given `--wp-url` with the seeded URL).
"""

from __future__ import annotations

import time

import pymysql
import redis

from ..runner import OUT, Bench, Row, _cleanups, free_port, log
from ..wordpress import BenchWordPress, WordPressUnavailable
from .create import http_create
from .lookups import http_lookup


def _created_events(bench: Bench, side: str) -> tuple[int, int]:
    """(events, of which undelivered) of the creates one side of a row made (names new-<run>-<side>…)."""
    pattern = f'%"user_login":"new-{bench.run_id}-{side}%'
    args = bench.address.connect_args()
    args["autocommit"] = True
    with pymysql.connect(**args) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT COUNT(*), COALESCE(SUM(delivered_at IS NULL), 0) FROM wp_wpscim_events WHERE action = 'create' AND detail LIKE %s",
            (pattern,),
        )
        total, undelivered = cur.fetchone()
    return int(total), int(undelivered)


def _unavailable(bench: Bench, key: str, title: str, labels: tuple[str, str], reason: str) -> None:
    log(f"{title}: not measured: {reason}")
    bench.result.rows[key] = Row(key, title, bench.args.clients, None, None, status=f"n/a ({reason[:160]})", labels=labels)


def _options(bench: Bench, names: tuple[str, ...]) -> dict[str, str]:
    args = bench.address.connect_args()
    args["autocommit"] = True
    with pymysql.connect(**args) as conn, conn.cursor() as cur:
        cur.execute("SELECT option_name, option_value FROM wp_options WHERE option_name IN (" + ", ".join(["%s"] * len(names)) + ")", names)
        return dict(cur.fetchall())


def _set_options(bench: Bench, values: dict[str, str]) -> None:
    args = bench.address.connect_args()
    args["autocommit"] = True
    with pymysql.connect(**args) as conn, conn.cursor() as cur:
        for name, value in values.items():
            cur.execute("UPDATE wp_options SET option_value = %s WHERE option_name = %s", (value, name))


class _RedisWatch:
    """Before each measured phase of the change-log side: set a key its creates must delete and read the
    DEL count; after it: was the key deleted, how many DEL calls reached Redis."""

    def __init__(self, client: redis.Redis, key: str, side: str = "wpscim"):
        self.client, self.key, self.side = client, key, side
        self.checks = {"phases": 0, "sentinel_deleted": 0, "del_calls": 0, "creates": 0}
        self._calls = 0

    def _del_calls(self) -> int:
        return int(self.client.info("commandstats").get("cmdstat_del", {}).get("calls", 0))

    def before(self, side: str) -> None:
        if side == self.side:
            self.client.set(self.key, "set by the bench", ex=3600)
            self._calls = self._del_calls()

    def after(self, side: str, phase) -> None:
        if side == self.side:
            self.checks["phases"] += 1
            self.checks["del_calls"] += self._del_calls() - self._calls
            self.checks["creates"] += len(phase.latencies)
            self.checks["sentinel_deleted"] += not self.client.exists(self.key)


def changelog(bench: Bench) -> None:
    """Rows changelog (creates with the change log and the Redis invalidation vs creates with neither)
    and changelog_wake (the same server, also waking a companion that does not answer, vs without)."""
    key, title = "changelog", "create: change log + Redis invalidation vs --no-change-log"
    labels = ("change log + Redis", "no change log")
    url = bench.args.redis_url
    try:
        client = redis.Redis.from_url(url, socket_timeout=5)
        client.ping()
    except redis.RedisError as exc:
        _unavailable(bench, key, title, labels, f"no Redis at {url}: {exc}")
        return
    prefix = f"wpscim-bench-{bench.run_id}:"
    redis_options = ("--redis-url", url, "--redis-prefix", prefix)
    site = _options(bench, ("home",))
    _set_options(bench, {"home": ""})  # no URL known to the servers started now: no companion to wake
    try:
        logged = bench.start_server("changelog", redis_options)
        plain = bench.start_server("no-changelog", ("--no-change-log",))
    finally:
        _set_options(bench, site)
    watch = _RedisWatch(client, f"{prefix}wp:users:last_changed")  # RedisCache.keys(): every user event deletes it
    try:
        row = bench.compare(
            key,
            title,
            bench.args.clients,
            http_create(bench, "l"),
            http_create(bench, "n"),
            server=logged,
            reference=plain,
            labels=labels,
            before_phase=watch.before,
            after_phase=watch.after,
        )
        checks = watch.checks
        checks["events"], _ = _created_events(bench, "l")
        checks["baseline_events"], _ = _created_events(bench, "n")
        row.wpscim.extra["redis"] = checks
        log(
            f"  Redis: {checks['del_calls']} DEL calls for {checks['creates']} measured creates, the bench's key deleted in "
            f"{checks['sentinel_deleted']} of {checks['phases']} phases; events: {checks['events']} (baseline {checks['baseline_events']})"
        )

        home = site.get("home") or ""
        if home:
            waking = bench.start_server("changelog-wake", (*redis_options, "--wp-url", home))
            try:
                row = bench.compare(
                    "changelog_wake",
                    f"create: change log + Redis, waking the companion at {home} (nothing answers) vs no URL known",
                    bench.args.clients,
                    http_create(bench, "u"),
                    http_create(bench, "o"),
                    server=waking,
                    reference=logged,
                    labels=(f"URL {home}", "no URL"),
                )
            finally:
                waking.stop()
                bench.servers.pop("changelog-wake", None)
            warned = waking.log_tail(10_000).count("companion did not answer")
            row.wpscim.extra["wake"] = {"url": home, "warnings": warned}
    finally:
        client.delete(watch.key)
        logged.stop()
        bench.servers.pop("changelog", None)


def companion(bench: Bench) -> None:
    """Row companion: creates that wait for the companion's delivery vs creates with no change log."""
    key, title = "companion", "create: waits for the companion (--object-cache companion) vs --no-change-log"
    labels = ("companion", "no change log")
    args = bench.address.connect_args()
    args["autocommit"] = True
    urls = _options(bench, ("siteurl", "home"))
    try:
        wp = BenchWordPress.start(bench.address, OUT, OUT / f"wordpress-site-{bench.users}", free_port())
    except WordPressUnavailable as exc:
        _unavailable(bench, key, title, labels, str(exc))
        return
    _cleanups.append(wp.stop)
    try:
        with pymysql.connect(**args) as conn, conn.cursor() as cur:
            # Earlier rows' events, which no WordPress heard of: the first delivery would deliver them all.
            marked = cur.execute(
                "UPDATE wp_wpscim_events SET delivered_at = UTC_TIMESTAMP(6), "
                "cleared_at = COALESCE(cleared_at, UTC_TIMESTAMP(6)) WHERE delivered_at IS NULL"
            )
        log(
            f"WordPress (php -S, {wp.options_added} options of a fresh install added) at {wp.url}; {marked} earlier events marked delivered"
        )
        waiting = bench.start_server("companion", ("--object-cache", "companion", "--wp-url", wp.url))
        plain = bench.start_server("no-changelog", ("--no-change-log",))
        deliveries = {"measured": 0, "creates": 0}
        before_count = [0]

        def before(side: str) -> None:
            if side == "wpscim":
                before_count[0] = wp.deliveries()

        def after(side: str, phase) -> None:
            if side == "wpscim":
                deliveries["measured"] += wp.deliveries() - before_count[0]
                deliveries["creates"] += len(phase.latencies)

        try:
            row = bench.compare(
                key,
                title,
                bench.args.clients,
                http_create(bench, "k"),
                http_create(bench, "m"),
                server=waiting,
                reference=plain,
                labels=labels,
                before_phase=before,
                after_phase=after,
                processes={"wordpress": wp.pids},
            )
            deadline = time.monotonic() + 30
            while (events := _created_events(bench, "k"))[1] and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            bench.servers.pop("companion", None)
            waiting.stop()
        late = waiting.log_tail(10_000).count("did not confirm its caches were cleaned")
        row.wpscim.extra["companion"] = {
            **deliveries,
            "events": events[0],
            "undelivered": events[1],
            "waits_timed_out": late,
            "php_errors": len(wp.errors().splitlines()),
        }
        log(
            f"  companion: {deliveries['measured']} deliveries for {deliveries['creates']} measured creates; {events[0]} events, "
            f"{events[1]} undelivered; {late} waits timed out; PHP error log lines: {len(wp.errors().splitlines())}"
        )
    finally:
        wp.stop()
        _cleanups.remove(wp.stop)
        _set_options(bench, urls)


def access_log(bench: Bench) -> None:
    """Row access_log: lookups with the access log on vs the size's own server (off)."""
    key, title = "access_log", "lookup by userName: access log on vs off"
    logging_server = bench.start_server("access-log", access_log=True)
    op = http_lookup(bench, "userName")
    try:
        row = bench.compare(
            key,
            title,
            bench.args.clients,
            op,
            op,
            server=logging_server,
            reference=bench.server,
            labels=("access log on", "access log off"),
        )
    finally:
        logging_server.stop()
        bench.servers.pop("access-log", None)
    try:
        lines = sum(1 for line in logging_server.log_path.read_text(errors="replace").splitlines() if line.startswith("{"))
    except OSError:
        lines = 0
    row.wpscim.extra["access_log_lines"] = lines
    log(f"  access log: {lines} lines written")
