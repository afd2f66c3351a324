"""Running the WSGI app: granian (HTTP in Rust, the app on Python threads), or waitress (pure Python)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys

SERVE_PARAMS = "WPSCIM_SERVE_PARAMS"  # `serve`'s settings, for granian's worker processes


class PortInUse(Exception):
    pass


def ensure_port_free(host: str, port: int) -> None:
    """Refuse a port another process listens on. granian's and waitress's workers share their port with
    SO_REUSEPORT, so a second `wpscim serve` would otherwise start silently and share it: requests would
    alternate between two services (and two databases). A plain bind (no SO_REUSEPORT) fails while any
    socket listens there; SO_REUSEADDR only lets it through connections left in TIME_WAIT."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PortInUse(f"cannot listen on {host}:{port}: {exc.strerror} (is another wpscim serve or another "
                            "service running there? choose another --port)") from None


def granian(params: dict) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    os.environ[SERVE_PARAMS] = json.dumps(params)
    # Requests run on `threads` Python threads per worker; the Rust side parses HTTP, so a request costs
    # the interpreter only the app's own work. Streamed bodies (a role's members) are sent as produced.
    Granian("wpscim.cli:worker_app", factory=True, interface=Interfaces.WSGI, address=params["host"], port=params["port"],
            workers=params["processes"], blocking_threads=params["threads"], websockets=False, log_access=False).serve()


def waitress(params: dict, db, make_app) -> None:
    import waitress as server

    from wpscim.wordpress.db import Database

    options = dict(threads=params["threads"], ident="wpscim",
                   # A streamed response (a role's members) is buffered by waitress up to
                   # outbuf_high_watermark: 1 MiB instead of 16 keeps memory flat whatever the group's size.
                   outbuf_high_watermark=1 << 20)
    if params["processes"] <= 1:
        server.serve(make_app(db), host=params["host"], port=params["port"], **options)
        return
    # Several processes share the port (SO_REUSEPORT: the kernel spreads connections): Python runs one
    # thread at a time per process, and wpscim keeps all its state in MySQL.
    pool_size = params["pool_size"] or params["threads"]
    address, fast_path = db.address, db.fast_path
    db.close()
    workers = []
    for _ in range(params["processes"]):
        pid = os.fork()
        if pid == 0:
            _die_with_parent()
            listener = socket.socket(socket.AF_INET6 if ":" in params["host"] else socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            listener.bind((params["host"], params["port"]))
            listener.listen(1024)
            server.serve(make_app(Database(address, max_connections=pool_size, fast_path=fast_path)), sockets=[listener], **options)
            os._exit(0)
        workers.append(pid)

    def stop(signum, frame):
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    os.wait()  # one worker gone: stop the others too, and let a supervisor restart the service
    stop(None, None)


def _die_with_parent() -> None:
    """A worker process ends when the `wpscim serve` that started it ends (Linux prctl PR_SET_PDEATHSIG)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
