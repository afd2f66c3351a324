"""Running the WSGI app: granian (HTTP in Rust, the app on Python threads), or waitress (pure Python)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys

SERVE_PARAMS = "WPSCIM_SERVE_PARAMS"  # `serve`'s settings, for granian's worker processes


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


def metrics_directory(params: dict) -> str | None:
    """With metrics served by several processes, a directory of this run's own where every worker writes
    its metrics (prometheus_client's multiprocess mode), set before any worker starts and removed when
    `serve` ends. One process keeps its metrics in memory: no directory."""
    if not params.get("metrics_token_sha256") or params["processes"] <= 1:
        return None
    import atexit
    import shutil
    import tempfile

    parent = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None  # an operator's choice of place is kept
    directory = tempfile.mkdtemp(prefix="wpscim-metrics-", dir=parent)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    owner = os.getpid()
    atexit.register(lambda: os.getpid() == owner and shutil.rmtree(directory, ignore_errors=True))
    return directory


def banner(params: dict, database: str, site, wordpress_version: str | None) -> list[str]:
    """What `serve` says after its first line: where it listens, the SCIM base URL, the WordPress found."""
    host, port = params["host"], params["port"]
    wildcard = host in ("0.0.0.0", "::", "")
    origin = f"http://{'HOST' if wildcard else (f'[{host}]' if ':' in host else host)}:{port}"
    processes = params["processes"]
    lines = [
        f"  listening on   {host or '*'} port {port}{' (every address of this host)' if wildcard else ''}: {params['server']}, "
        f"{processes} process{'es' if processes > 1 else ''} of {params['threads']} threads",
        f"  SCIM base URL  {origin}/scim/v2",
        f"  WordPress      {('WordPress ' + wordpress_version + ', ') if wordpress_version else ''}db_version {site.db_version}, "
        f"database {database}, table prefix {site.base_prefix}"
        + (f", multisite (site {site.blog_id})" if site.multisite else ""),
        f"  health         {origin}/healthz",
        f"  metrics        {origin + '/metrics (bearer: the metrics token)' if params.get('metrics_token_sha256') else 'off (--metrics-token)'}",
        f"  access log     {'JSON lines on standard error' if params.get('access_log') else 'off'}",
    ]
    return lines
