"""Telling WordPress what changed, after each commit (the change log's listener).

- Redis Object Cache drop-in: the stale keys are deleted directly, before the answer (a few hundred
  microseconds); the events were written as cleared. If Redis cannot be reached the answer still goes
  out (the database is the truth): the events are marked uncleared and cleared again in the background
  until Redis answers. When wpscim starts it clears again what the last minutes changed, in case a
  previous process stopped between a commit and its clearing; at start and every minute it also clears
  the events the change log holds as uncleared (another process, or one since stopped, marked them).
- Another persistent object cache: only WordPress can clear it, so the request waits (at most
  `wait_seconds`) for a delivery by the companion that began after its commit. Concurrent requests
  share one delivery: a PHP bootstrap per request would cap throughput at PHP's speed.
- Hooks: the companion fires them for every pending event, in the background, in order, once each.
  While WordPress does not answer, deliveries are retried with a growing pause; nothing is lost and the
  companion's lock and per-event marks keep anything from being delivered twice.
- Retention: events older than `retention_days` are deleted, once an hour.
"""

from __future__ import annotations

import logging
import threading
import time

from wpscim.wordpress.errors import StorageError
from wpscim.wordpress.events import ChangeLog, Event

log = logging.getLogger("wpscim")
RECLEAR_MINUTES = 10
SWEEP_SECONDS = 60  # how often the change log's uncleared events are looked for
_MAX_PAUSE = 30.0


class WordPressNotifier:
    def __init__(self, db, changes: ChangeLog, cache=None, companion=None, wait_seconds: float = 2.0, retention_days: int = 0):
        self.db = db
        self.changes = changes
        self.cache = cache  # RedisCache, or None
        self.companion = companion  # Companion, or None
        self.wait_seconds = wait_seconds
        self.retention_days = retention_days
        self.companion_clears = companion is not None and not changes.cleared_on_commit
        self._uncleared: list[Event] = []
        self._lock = threading.Lock()
        self._delivered = threading.Condition(self._lock)
        self._wanted = 0  # deliveries asked for (each waiter asks for one that starts after its commit)
        self._done = 0  # the highest ask a finished delivery covered
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failing = False  # the last delivery or clearing failed: retried after a growing pause
        self.last_delivery: dict = {}  # when, and what the companion answered or why it failed (for check/health)

    # --- after each commit (in the request) ------------------------------------------------------

    def __call__(self, events: list[Event]) -> None:
        if self.cache is not None:
            try:
                self.cache.clear(events)
            except Exception as exc:  # noqa: BLE001 - redis errors and socket errors alike
                log.warning(
                    "could not clear WordPress's cache in Redis (%s); the change is saved, the cache will be cleared when Redis answers",
                    exc,
                )
                self._mark_uncleared(events)
        if self.companion is None:
            return
        if self.companion_clears:
            self._deliver_and_wait()
        else:
            self._wake.set()  # hooks need not delay the answer

    def _deliver_and_wait(self) -> None:
        if self.failing:
            self._wake.set()
            return  # WordPress did not answer the last delivery: the next one, after its pause, takes this change too
        deadline = time.monotonic() + self.wait_seconds
        with self._delivered:
            self._wanted += 1
            ask = self._wanted
            self._wake.set()
            while self._done < ask:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    log.warning(
                        "WordPress did not confirm its caches were cleaned within %.1f s; the change is saved and "
                        "will be delivered when WordPress answers",
                        self.wait_seconds,
                    )
                    return
                self._delivered.wait(remaining)

    def _mark_uncleared(self, events: list[Event]) -> None:
        with self._lock:
            self._uncleared.extend(events)
        try:
            with self.db.transaction() as tx:
                self.changes.mark_cleared(tx, events, cleared=False)
        except StorageError:
            pass  # the database is down too: the events stay in memory and are cleared from there
        self._wake.set()

    # --- in the background ------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="wpscim-notifier", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _run(self) -> None:
        if self.cache is not None:
            self._reclear_recent()
        pause, retry_at, next_purge, next_sweep = 0.0, 0.0, time.monotonic(), time.monotonic()
        self._wake.set()  # deliver what waited while wpscim was not running
        while not self._stop.is_set():
            self._wake.wait(timeout=max(0.0, retry_at - time.monotonic()) if pause else 60.0)
            if pause and time.monotonic() < retry_at:
                # A commit woke it during the pause after a failure: that does not cut the pause short
                # (each commit would otherwise cost a connection to a WordPress that is not answering).
                self._stop.wait(retry_at - time.monotonic())
            self._wake.clear()
            if self._stop.is_set():
                return
            if self.cache is not None and time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + SWEEP_SECONDS
                self._sweep_uncleared()
            ok = self._clear_uncleared()
            if self.companion is not None:
                ok = self._deliver() and ok
            pause = 0.0 if ok else min(max(pause * 2, 1.0), _MAX_PAUSE)
            retry_at = time.monotonic() + pause
            self.failing = not ok
            if self.retention_days and time.monotonic() >= next_purge:
                next_purge = time.monotonic() + 3600
                try:
                    purged = self.changes.purge(self.db, self.retention_days)
                    if purged:
                        log.info("deleted %d change events older than %d days", purged, self.retention_days)
                except StorageError as exc:
                    log.warning("could not delete old change events: %s", exc.detail)

    def _deliver(self) -> bool:
        with self._lock:
            ask = self._wanted
        try:
            while True:
                answer = self.companion.deliver()
                self.last_delivery = {"at": time.time(), "status": answer.status, "answer": answer.body}
                if not answer.ok:
                    if answer.status == 503:  # another process is delivering: it covers what this one would
                        continue
                    log.warning("the companion could not deliver: HTTP %s %s", answer.status, answer.body.get("error"))
                    return False
                if not answer.body.get("pending"):
                    break
        except Exception as exc:  # noqa: BLE001 - WordPress down, the companion missing, a timeout
            if self.last_delivery.get("error") != str(exc):
                log.warning("WordPress's companion did not answer (%s); pending changes are delivered when it does", exc)
            self.last_delivery = {"at": time.time(), "error": str(exc)}
            return False
        with self._delivered:
            self._done = max(self._done, ask)
            self._delivered.notify_all()
        return True

    def _clear_uncleared(self) -> bool:
        with self._lock:
            events, self._uncleared = self._uncleared, []
        if not events or self.cache is None:
            return True
        try:
            self.cache.clear(events)
        except Exception:  # noqa: BLE001
            with self._lock:
                self._uncleared = events + self._uncleared
            return False
        try:
            with self.db.transaction() as tx:
                self.changes.mark_cleared(tx, events, cleared=True)
        except StorageError:
            pass  # cleared; only the mark is missing, and clearing again does no harm
        log.info("cleared WordPress's cache in Redis for %d change(s) made while it did not answer", len(events))
        return True

    def _sweep_uncleared(self) -> None:
        """Take up the events the change log holds as uncleared (this process's are in memory already:
        clearing a key twice does no harm)."""
        try:
            with self.db.reading() as session:
                events = self.changes.uncleared_events(session)
        except StorageError as exc:
            log.warning("could not read the change log's uncleared events: %s", exc.detail)
            return
        with self._lock:
            held_ids = {event.id for event in self._uncleared if event.id}
            held_requests = {event.request_id for event in self._uncleared if event.request_id}
            self._uncleared.extend(e for e in events if e.id not in held_ids and not (e.request_id and e.request_id in held_requests))

    def _reclear_recent(self) -> None:
        """Clear again what the last RECLEAR_MINUTES changed: a process that stopped between a commit and
        its clearing left those keys stale (deleting a key twice does no harm)."""
        try:
            with self.db.reading() as session:
                recent = self.changes.recent_events(session, RECLEAR_MINUTES)
            if recent:
                self.cache.clear(recent)
        except Exception as exc:  # noqa: BLE001
            log.warning("could not clear recent changes from WordPress's cache at start (%s); retrying in the background", exc)
            with self._lock:
                self._uncleared.extend(recent if "recent" in locals() else [])
