"""Running the WSGI app: granian (HTTP in Rust, the app on Python threads), or gunicorn (pure Python)."""

from __future__ import annotations

import json
import os
import socket

SERVE_PARAMS = "WPSCIM_SERVE_PARAMS"  # `serve`'s settings, for granian's worker processes


class PortInUse(Exception):
    pass


def ensure_port_free(host: str, port: int) -> None:
    """Refuse a port another process listens on. granian's workers share their port with SO_REUSEPORT,
    so a second `wpscim serve` would otherwise start silently and share it: requests would alternate
    between two services (and two databases). A plain bind (no SO_REUSEPORT) fails while any
    socket listens there; SO_REUSEADDR only lets it through connections left in TIME_WAIT."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PortInUse(
                f"cannot listen on {host}:{port}: {exc.strerror} (is another wpscim serve or another "
                "service running there? choose another --port)"
            ) from None


def granian(params: dict) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    os.environ[SERVE_PARAMS] = json.dumps(params)
    # Requests run on `threads` Python threads per worker; the Rust side parses HTTP, so a request costs
    # the interpreter only the app's own work. Streamed bodies (a role's members) are sent as produced.
    # On SIGTERM workers finish the requests in flight; one still busy after 30 s is killed (as gunicorn's).
    Granian(
        "wpscim.cli:worker_app",
        factory=True,
        interface=Interfaces.WSGI,
        address=params["host"],
        port=params["port"],
        workers=params["processes"],
        blocking_threads=params["threads"],
        websockets=False,
        log_access=False,
        workers_kill_timeout=30,
    ).serve()


def gunicorn(params: dict, make_app) -> None:
    """gunicorn's pre-fork server with threaded workers (pure Python): `processes` workers of `threads`
    threads, each worker building its own app and connection pool (`make_app()`). On SIGTERM the
    workers stop accepting and finish the requests in flight (up to 30 s) before they exit."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self):
            for name, value in dict(
                bind=f"[{params['host']}]:{params['port']}" if ":" in params["host"] else f"{params['host']}:{params['port']}",
                workers=params["processes"],
                worker_class="gthread",
                threads=params["threads"],
                graceful_timeout=30,
                timeout=120,
                keepalive=5,
                proc_name="wpscim",
                errorlog="-",
                loglevel="warning",
            ).items():
                self.cfg.set(name, value)

        def load(self):
            return make_app()

    Server().run()


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
        f"database {database}, table prefix {site.base_prefix}" + (f", multisite (site {site.blog_id})" if site.multisite else ""),
        f"  health         {origin}/healthz",
        f"  metrics        {origin + '/metrics (bearer: the metrics token)' if params.get('metrics_token_sha256') else 'off (--metrics-token)'}",
        f"  access log     {'JSON lines on standard error' if params.get('access_log') else 'off'}",
    ]
    return lines
