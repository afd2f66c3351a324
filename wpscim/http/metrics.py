"""Prometheus metrics (prometheus_client), served at `GET /metrics` to requests bearing the metrics
token (`--metrics-token`; only its SHA-256 is kept, compared in constant time).

| metric | type | labels |
| --- | --- | --- |
| `wpscim_http_requests_total` | counter | `method`, `route` (the template: `/scim/v2/Users/{user_id}`), `status` |
| `wpscim_http_request_duration_seconds` | histogram | `method`, `route` |
| `wpscim_db_pool_connections_in_use` | gauge | `pool` (`writes`, `reads`) |
| `wpscim_db_pool_connections_max` | gauge | `pool` |
| `wpscim_change_events_undelivered` | gauge | | events whose WordPress hooks the companion has not fired yet |
| `wpscim_change_events_uncleared` | gauge | | events whose WordPress cache clearing is pending |
| `wpscim_change_events_oldest_undelivered_timestamp_seconds` | gauge | | (only while events wait) |

`route` is `(unmatched)` for paths no route serves, so scanners cannot grow the label set; methods other
than HTTP's usual ones count as `other`. The change-event numbers are read from the database at scrape
time, at most once per PENDING_MAX_AGE seconds per process, and a scrape waits at most
PENDING_WAIT_SECONDS for them (it reports the previous numbers, or none, when the database is slow).

Several processes (`--processes N`): `wpscim serve` gives each run a directory of its own in
PROMETHEUS_MULTIPROC_DIR before any worker starts; every worker writes its counters, histograms and pool
gauges there (prometheus_client's multiprocess mode: memory-mapped files) and the worker answering a
scrape adds up all of them. Pool gauges are written every POOL_SAMPLE_SECONDS by each worker and summed
over the live workers; a worker that died is dropped from them at the next scrape (its requests stay
counted)."""

from __future__ import annotations

import glob
import hashlib
import hmac
import logging
import os
import re
import threading
import time
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from wpscim.http.health import Probe
from wpscim.http.middleware import route_template
from wpscim.scim.errors import ScimError

log = logging.getLogger("wpscim")

MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "(unmatched)"
PENDING_MAX_AGE = 10.0
PENDING_WAIT_SECONDS = 2.0
POOL_SAMPLE_SECONDS = 1.0
MIN_TOKEN_LENGTH = 16
_LIVE_GAUGE_FILE = re.compile(r"^gauge_live\w*?_(\d+)\.db$")


def token_sha256(token: str) -> str:
    """What is kept of the metrics token (hex), in memory and in the workers' settings."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Metrics:
    def __init__(self, status, token_sha256_hex: str, router=None):
        self.status = status
        self.router = router
        self._token = bytes.fromhex(token_sha256_hex)
        self.directory = os.environ.get(MULTIPROCESS_DIRECTORY) or None
        if self.directory and values.ValueClass.__name__ != "MmapedValue":
            # prometheus_client picks its value class when first imported; serve sets the directory before
            # building an app, but something may have imported the library earlier in this process.
            values.ValueClass = values.get_value_class()
        # In multiprocess mode the values live in the directory's files and the scrape registry reads them
        # all; the metric objects themselves are registered nowhere (an app per test, several per process).
        own = None if self.directory else CollectorRegistry()
        self.requests = Counter(
            "wpscim_http_requests", "HTTP requests answered, by route template and status", ["method", "route", "status"], registry=own
        )
        self.duration = Histogram(
            "wpscim_http_request_duration_seconds",
            "Time until the response starts, by route template",
            ["method", "route"],
            buckets=BUCKETS,
            registry=own,
        )
        self.pool_in_use = Gauge(
            "wpscim_db_pool_connections_in_use",
            "Database connections in use (all processes)",
            ["pool"],
            registry=own,
            multiprocess_mode="livesum",
        )
        self.pool_max = Gauge(
            "wpscim_db_pool_connections_max",
            "Size of the connection pool (all processes)",
            ["pool"],
            registry=own,
            multiprocess_mode="livesum",
        )
        self.registry = own or CollectorRegistry()
        if self.directory:
            _SizedFilesCollector(self.registry, self.directory)
            threading.Thread(target=self._sample_pools_forever, name="wpscim-metrics-pools", daemon=True).start()
        self.registry.register(_ChangeEvents(Probe(status.change_events, PENDING_WAIT_SECONDS, PENDING_MAX_AGE, stale_ok=True)))
        self.middleware = _Observe(self)
        self.endpoint = _Endpoint(self)

    def observe(self, req, resp) -> None:
        started = getattr(req.context, "started", None)
        method = req.method if req.method in METHODS else "other"
        route = route_template(req, self.router) or UNMATCHED
        self.requests.labels(method, route, str(resp.status_code)).inc()
        if started is not None:
            self.duration.labels(method, route).observe(time.perf_counter() - started)

    def sample_pools(self) -> None:
        for pool, (in_use, size) in self.status.pools().items():
            self.pool_in_use.labels(pool).set(in_use)
            self.pool_max.labels(pool).set(size)

    def _sample_pools_forever(self) -> None:
        while True:
            try:
                self.sample_pools()
            except Exception:  # noqa: BLE001 - a sampling failure must not end the thread
                log.exception("metrics: sampling the connection pools failed")
            time.sleep(POOL_SAMPLE_SECONDS)

    def forget_dead_processes(self) -> None:
        """Drop the pool gauges of workers that are gone (a crashed worker's last values would count on)."""
        for name in os.listdir(self.directory):
            match = _LIVE_GAUGE_FILE.match(name)
            if match and not _alive(int(match[1])):
                mark_process_dead(int(match[1]), self.directory)

    def authorized(self, header: str | None) -> bool:
        scheme, _, token = (header or "").strip().partition(" ")
        digest = hashlib.sha256(token.strip().encode("utf-8")).digest()
        return hmac.compare_digest(digest, self._token) and scheme.lower() == "bearer"

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        self.sample_pools()
        if self.directory:
            self.forget_dead_processes()
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Observe:
    """Middleware: counts and times every request (after the others have answered it)."""

    def __init__(self, metrics: Metrics):
        self.metrics = metrics

    def process_response(self, req, resp, resource, req_succeeded) -> None:
        try:
            self.metrics.observe(req, resp)
        except Exception:  # noqa: BLE001 - metrics never fail a request
            log.exception("metrics: could not count request %s", getattr(req.context, "request_id", "-"))


class _SizedFilesCollector(MultiProcessCollector):
    """prometheus_client's multiprocess collector, leaving out a file another process has created but not
    sized yet: reading an empty file raises struct.error, so a scrape while a worker started answered 500."""

    def __init__(self, registry, directory: str):
        super().__init__(registry, directory)
        self.directory = directory

    def collect(self):
        files = []
        for path in glob.glob(os.path.join(self.directory, "*.db")):
            try:
                if os.path.getsize(path) >= 8:  # the header: how much of the file is in use
                    files.append(path)
            except OSError:
                pass  # gone since (a stopped worker's live gauges)
        return self.merge(files, accumulate=True)


class _Endpoint:
    """GET /metrics, with the metrics token (not an IdP token)."""

    def __init__(self, metrics: Metrics):
        self.metrics = metrics

    def on_get(self, req, resp) -> None:
        if not self.metrics.authorized(req.get_header("Authorization")):
            raise ScimError(
                401,
                "send 'Authorization: Bearer <metrics token>' (the --metrics-token setting)",
                headers={"WWW-Authenticate": 'Bearer realm="wpscim-metrics"'},
            )
        req.context.token_name = "metrics"
        body, content_type = self.metrics.exposition(req.get_header("Accept"))
        resp.content_type = content_type
        resp.cache_control = ["no-store"]
        resp.data = body


class _ChangeEvents:
    """The change log's pending counts, read at scrape time (cached, bounded: see the module's docstring)."""

    def __init__(self, probe: Probe):
        self.probe = probe

    def collect(self):
        ok, found = self.probe.outcome()
        if not ok:
            log.warning("metrics: the change log's counts could not be read: %s", getattr(found, "detail", None) or found)
            return
        yield GaugeMetricFamily(
            "wpscim_change_events_undelivered", "Change events whose WordPress hooks were not fired yet", value=found["undelivered"]
        )
        yield GaugeMetricFamily(
            "wpscim_change_events_uncleared", "Change events whose WordPress cache clearing is pending", value=found["uncleared"]
        )
        oldest = found.get("oldest_undelivered")
        if oldest:
            stamp = datetime.fromisoformat(oldest.replace("Z", "+00:00")).timestamp()
            yield GaugeMetricFamily(
                "wpscim_change_events_oldest_undelivered_timestamp_seconds",
                "When the oldest undelivered change event was written (Unix time)",
                value=stamp,
            )
