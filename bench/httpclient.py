"""The load generator's HTTP/1.1 client: one persistent connection per client thread.

Hand-written on a plain, blocking socket because the load generator shares the machine's two cores
with wpscim and MariaDB, so its CPU per request moves the ratios (the raw-SQL reference pays none of
it). Measured against the standard library's http.client.HTTPConnection with keep-alive on the same
server (bench/client_cost.py: 2,000 users, 4 clients, alternating 1 s phases, 6 and 10 rounds; CPU
of the benchmark process per request; 2026-12-02, on the project's 2-core machine):

| request | this client | http.client |
| --- | --- | --- |
| lookup by userName (GET) | 51–52 µs | 140–150 µs |
| create (POST) | 64–67 µs | 169–172 µs |
| page of 100 users (GET, ~100 kB) | 83–99 µs | 205–217 µs |

http.client costs 2.1–2.9× this client's CPU per request (+89 to +134 µs), far above the ~10 % more
that would let the bench use it; with it, wpscim's creates/s fell 2–10 % and its lookups/s 5–12 % in
the same runs. `stream()` does use http.client: one request per stream, where its cost does not matter.
"""

from __future__ import annotations

import http.client
import socket

import orjson

BASE = "/scim/v2"
RETRIES_503 = 3  # wpscim answers 503 (Retry-After) for lock timeouts and deadlocks


class BenchError(Exception):
    """A wrong answer: an unexpected status, a short page, the wrong user."""


class HttpClient:
    """One persistent HTTP/1.1 connection. Requests are written and responses read on a plain, blocking
    socket (the module's docstring has what http.client would cost instead)."""

    def __init__(self, port: int, token: str):
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)  # for stream()
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/scim+json"}
        self.head = f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\nAccept: application/scim+json\r\n".encode()
        self.retried_503 = 0
        self.last_503 = b""

    def _exchange(self, request: bytes) -> tuple[int, bytes]:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=300)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # Blocking from here on: with a timeout every recv is a poll() and a recv() (run_phase bounds a phase).
            self.sock.settimeout(None)
            self.buffer = b""
        self.sock.sendall(request)
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            self._fill()
        head, self.buffer = self.buffer[:end].lower(), self.buffer[end + 4 :]
        status = int(head[9:12])  # b"http/1.1 201 created"
        if b"\r\ntransfer-encoding: chunked" in head:
            body = self._chunked()
        else:
            at = head.find(b"\r\ncontent-length:")
            length = int(head[at + 17 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
            while len(self.buffer) < length:
                self._fill()
            body, self.buffer = self.buffer[:length], self.buffer[length:]
        if b"\r\nconnection: close" in head:
            self.close_socket()
        return status, body

    def _fill(self) -> None:
        data = self.sock.recv(262144)
        if not data:
            raise ConnectionError("wpscim closed the connection")
        self.buffer += data

    def _chunked(self) -> bytes:
        parts = []
        while True:
            while (end := self.buffer.find(b"\r\n")) < 0:
                self._fill()
            size = int(self.buffer[:end].split(b";")[0], 16)
            while len(self.buffer) < end + 2 + size + 2:
                self._fill()
            parts.append(self.buffer[end + 2 : end + 2 + size])
            self.buffer = self.buffer[end + 2 + size + 2 :]
            if size == 0:
                return b"".join(parts)

    def close_socket(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def call(self, method: str, path: str, body=None, expect=(200,)) -> bytes:
        data = b"" if body is None else orjson.dumps(body)
        request = f"{method} {BASE}{path} HTTP/1.1\r\n".encode() + self.head
        if body is not None:
            request += b"Content-Type: application/scim+json\r\nContent-Length: %d\r\n" % len(data)
        request += b"\r\n" + data
        for attempt in range(RETRIES_503 + 1):
            try:
                status, payload = self._exchange(request)
            except OSError:
                self.close_socket()  # reconnects on the next request
                raise
            if status != 503 or attempt == RETRIES_503:
                break
            self.retried_503 += 1  # "retry shortly", as an IdP would (at once: the latency includes it)
            self.last_503 = payload[:200]
        if status not in expect:
            raise BenchError(f"{method} {path} -> {status}: {payload[:300]!r}")
        return payload

    def stream(self, path: str) -> tuple[int, bytes | None]:
        """GET a (chunked) body, read 64 kB at a time; returns its size (and the body when asked)."""
        self.conn.request("GET", BASE + path, headers=self.headers)
        response = self.conn.getresponse()
        size, parts = 0, []
        while chunk := response.read(65536):
            size += len(chunk)
            parts.append(chunk)
        if response.status != 200:
            raise BenchError(f"GET {path} -> {response.status}: {b''.join(parts)[:300]!r}")
        return size, b"".join(parts)

    def close(self) -> None:
        self.close_socket()
        self.conn.close()
