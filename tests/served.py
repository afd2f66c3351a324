"""`wpscim serve` (or any command that serves wpscim) as a child process with its standard output and
standard error kept apart, and small HTTP helpers. Used by the operations and deployment tests.

    with Served([sys.executable, "-m", "wpscim", "serve", ...], port, tmp_path) as served:
        status, headers, body = served.get("/healthz")
        served.stderr_lines()
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def http(
    method: str, url: str, *, headers: dict | None = None, data: bytes | None = None, timeout: float = 15, follow_redirects: bool = True
):
    """(status, headers with lower-case names, body) for any answer, errors included; a redirect itself
    when `follow_redirects` is false."""
    request = urllib.request.Request(url, method=method, data=data, headers=headers or {})
    opener = urllib.request.build_opener() if follow_redirects else urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


class Served:
    def __init__(
        self,
        command: list[str],
        port: int,
        log_dir: Path,
        env: dict | None = None,
        name: str = "wpscim",
        ready_path: str = "/healthz",
        timeout: float = 40,
    ):
        self.command = command
        self.port = port
        self.origin = f"http://127.0.0.1:{port}"
        self.stdout_path = log_dir / f"{name}-{port}.out"
        self.stderr_path = log_dir / f"{name}-{port}.err"
        self.env = env
        self.ready_path = ready_path
        self.timeout = timeout
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Served:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> Served:
        with self.stdout_path.open("w") as out, self.stderr_path.open("w") as err:
            self.process = subprocess.Popen(
                self.command, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=self.env, start_new_session=True
            )
        deadline = time.monotonic() + self.timeout
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"{self.command} exited with {self.process.returncode}:\n{self.output()}")
            try:
                status, _, _ = http("GET", self.origin + self.ready_path, timeout=5)
                if status == 200:
                    return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"{self.command} did not answer {self.ready_path} within {self.timeout:g} s:\n{self.output()}")
            time.sleep(0.1)

    def get(self, path: str, **kwargs):
        return http("GET", self.origin + path, **kwargs)

    def request(self, method: str, path: str, **kwargs):
        return http(method, self.origin + path, **kwargs)

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def output(self) -> str:
        return f"--- stdout\n{self.stdout()}\n--- stderr\n{self.stderr()}"

    def pids(self) -> list[int]:
        """The server and every process under it (granian's workers)."""
        found, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            try:
                for task in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{task}/children") as children:
                        todo += [int(c) for c in children.read().split()]
            except OSError:
                pass
        return found

    def stop(self) -> None:
        """SIGTERM to the server (it stops its workers), SIGKILL to its process group if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
