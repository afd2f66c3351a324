"""`GET /healthz`: 200 `{"status":"ok"}` while the database answers a trivial query, else 503
`{"status":"unavailable"}` with Retry-After. No token, and nothing else is said (no versions, no names).

A stalled database would hold a query for the read timeout (10 s); a health check answers within
WAIT_SECONDS instead: the query runs on a thread of its own (`Probe`), one at a time, and callers wait
for it at most that long. Checks arriving while one is stalled share it, so they never pile up."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from wpscim.wordpress.errors import Unavailable

log = logging.getLogger("wpscim")

WAIT_SECONDS = 2.5
RETRY_AFTER_SECONDS = 5
_OK = b'{"status":"ok"}'
_UNAVAILABLE = b'{"status":"unavailable"}'


class ProbeTimeout(Exception):
    pass


class Probe:
    """Runs `check` on a daemon thread, one run at a time; `outcome()` waits at most `wait` seconds for
    it. An outcome younger than `max_age` seconds is reused; when a run outlasts the wait, the previous
    successful value is returned if `stale_ok` (a metric may be a little old, a health check may not)."""

    def __init__(self, check: Callable[[], object], wait: float, max_age: float = 0.0, stale_ok: bool = False):
        self._check = check
        self._wait = wait
        self._max_age = max_age
        self._stale_ok = stale_ok
        self._lock = threading.Lock()
        self._running: threading.Event | None = None
        self._outcome: tuple[float, bool, object] | None = None  # (finished at, succeeded, value or exception)
        self._last_value: tuple[bool, object] = (False, None)

    def outcome(self) -> tuple[bool, object]:
        """(True, value) or (False, the exception)."""
        with self._lock:
            done = self._outcome
            if done is not None and time.monotonic() - done[0] <= self._max_age:
                return done[1], done[2]
            running = self._running
            if running is None:
                running = self._running = threading.Event()
                threading.Thread(target=self._run, args=(running,), name="wpscim-probe", daemon=True).start()
        if running.wait(self._wait):
            with self._lock:
                return self._outcome[1], self._outcome[2]
        if self._stale_ok and self._last_value[0]:
            return self._last_value
        return False, ProbeTimeout(f"no answer within {self._wait:g} s")

    def _run(self, finished: threading.Event) -> None:
        try:
            value, succeeded = self._check(), True
        except Exception as exc:  # noqa: BLE001 - the outcome carries it to the caller
            value, succeeded = exc, False
        with self._lock:
            self._outcome = (time.monotonic(), succeeded, value)
            if succeeded:
                self._last_value = (True, value)
            self._running = None
        finished.set()


class Health:
    def __init__(self, ping: Callable[[], None], wait: float = WAIT_SECONDS):
        self.probe = Probe(ping, wait)
        self._failing = False

    def on_get(self, req, resp) -> None:
        ok, problem = self.probe.outcome()
        if ok != (not self._failing):  # log the changes, not every check
            self._failing = not ok
            if ok:
                log.info("health: the database answers again")
            else:
                log.warning("health: the database does not answer: %s", getattr(problem, "detail", None) or problem)
        resp.content_type = "application/json"
        resp.cache_control = ["no-store"]
        if ok:
            resp.data = _OK
            return
        resp.status = 503
        retry = problem.retry_after if isinstance(problem, Unavailable) else RETRY_AFTER_SECONDS
        resp.set_header("Retry-After", str(min(max(int(retry), 1), 30)))
        resp.data = _UNAVAILABLE
