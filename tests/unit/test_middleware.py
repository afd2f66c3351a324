"""DatabaseGate: a burst beyond the slots is queued while the database moves, refused when it is stuck."""

from __future__ import annotations

import threading
import time

import falcon.testing
import pytest

from wpscim.http.middleware import DatabaseGate
from wpscim.scim.errors import ScimError


class UsesDatabase:
    uses_database = True


def enter(gate: DatabaseGate):
    """One request through the gate's door; returns it (to leave with `leave`) or raises the 503."""
    req, resp = falcon.testing.create_req(), falcon.Response()
    gate.process_resource(req, resp, UsesDatabase(), {})
    return req, resp


def leave(gate: DatabaseGate, request) -> None:
    gate.process_response(*request, UsesDatabase(), True)


def churn(gate: DatabaseGate, slots: int, seconds: float, hold: float) -> list[threading.Thread]:
    """`slots` clients that each hold a slot for `hold` s, leave and come straight back, for `seconds`,
    started `hold / slots` apart: a database that is busy but moving (some request leaves every
    `hold / slots` s). All slots are held when this returns."""
    ready = threading.Semaphore(0)

    def client():
        request, until = enter(gate), time.monotonic() + seconds
        ready.release()
        while True:
            time.sleep(hold)
            leave(gate, request)
            if time.monotonic() >= until:
                return
            request = enter(gate)

    threads = []
    for _ in range(slots):
        threads.append(threading.Thread(target=client, daemon=True))
        threads[-1].start()
        ready.acquire()
        time.sleep(hold / slots)
    return threads


def test_requests_beyond_the_slots_get_503_promptly_when_none_leaves():
    gate = DatabaseGate(1)
    held = enter(gate)
    started = time.monotonic()
    with pytest.raises(ScimError) as refused:
        enter(gate)
    waited = time.monotonic() - started
    assert refused.value.status == 503 and refused.value.headers == {"Retry-After": "1"}
    assert DatabaseGate.STUCK_SECONDS <= waited < DatabaseGate.STUCK_SECONDS + 0.5
    for _ in range(3):  # until a slot moves again, the requests after it are refused at once
        started = time.monotonic()
        with pytest.raises(ScimError):
            enter(gate)
        assert time.monotonic() - started < 0.1
    leave(gate, held)
    leave(gate, enter(gate))  # the slot is free again


def test_a_slot_taken_recently_is_movement_though_no_answer_has_left_yet():
    # After a quiet spell, a burst takes every slot: the one beyond waits for them, it is not refused
    # because nothing has left for a while.
    gate = DatabaseGate(1)
    gate.STUCK_SECONDS = 0.25
    gate._moved -= 60
    held = enter(gate)
    releaser = threading.Timer(gate.STUCK_SECONDS / 2, leave, (gate, held))
    releaser.start()
    leave(gate, enter(gate))
    releaser.join()


def test_a_burst_waits_for_a_slot_while_requests_keep_leaving():
    # Each client holds its slot twice as long as a stuck request may; eight of them, staggered, leave
    # one every hold / 8 s, far inside STUCK_SECONDS even on a busy machine.
    gate = DatabaseGate(8)
    gate.STUCK_SECONDS = 0.25  # the mechanism, at a quarter of the default's pace
    hold = 2 * gate.STUCK_SECONDS
    clients = churn(gate, 8, seconds=3 * hold, hold=hold)
    started = time.monotonic()
    leave(gate, enter(gate))  # no 503, though every slot was held when it came
    waited = time.monotonic() - started
    for client in clients:
        client.join()
    assert waited < gate.QUEUE_SECONDS


def test_the_queue_is_bounded_even_while_requests_keep_leaving():
    gate = DatabaseGate(1)
    gate.STUCK_SECONDS = 0.25  # the mechanism, at a quarter of the default's pace
    gate.QUEUE_SECONDS = 3 * gate.STUCK_SECONDS
    stop = threading.Event()
    holder = enter(gate)

    def keep_leaving():  # the slot changes hands among others only: leave and take it back at once
        request = holder
        while not stop.is_set():
            time.sleep(0.05)
            gate._moved = time.monotonic()
        leave(gate, request)

    thread = threading.Thread(target=keep_leaving, daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        with pytest.raises(ScimError) as refused:
            enter(gate)
    finally:
        stop.set()
        thread.join()
    assert refused.value.status == 503
    assert gate.QUEUE_SECONDS <= time.monotonic() - started < gate.QUEUE_SECONDS + 0.5
