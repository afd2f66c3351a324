"""A MariaDB server of a test's own, on a free port with a temporary datadir, that the test may kill,
restart, stall and resume without touching the shared server.

    server = PrivateMariaDB(tmp_path / "mariadb")
    server.start()                      # mariadb-install-db once, then mariadbd; returns once it answers
    server.kill()                       # SIGKILL: no shutdown, InnoDB recovers at the next start()
    server.start()                      # same datadir: crash recovery
    server.stall(); server.resume()     # SIGSTOP / SIGCONT: the server holds its sockets and answers nothing
    server.stop()                       # SIGTERM (SIGKILL after 30 s)
    server.close()                      # stop, and the datadir is removed

mariadbd runs under `setpriv --pdeathsig KILL` when started from the main thread, so it dies with the
test process even if that is killed itself (pytest's own teardown and `atexit` cover everything else).
`copy_database` copies a database (WordPress's, here) from another server with mariadb-dump.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pymysql

MARIADBD = shutil.which("mariadbd") or shutil.which("mysqld") or "/usr/sbin/mariadbd"
INSTALL_DB = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db") or "mariadb-install-db"
DUMP = shutil.which("mariadb-dump") or shutil.which("mysqldump") or "mariadb-dump"
CLIENT = shutil.which("mariadb") or shutil.which("mysql") or "mariadb"
SETPRIV = shutil.which("setpriv")

_running: set[PrivateMariaDB] = set()  # every server still running, killed at interpreter exit


def _kill_leftovers() -> None:
    for server in list(_running):
        server.kill()


atexit.register(_kill_leftovers)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateMariaDB:
    """One mariadbd over one datadir. `root` has no password and connects over TCP on 127.0.0.1."""

    # Small enough for a test (the default redo log is 96 MiB); durable commits, as in production
    # (innodb_flush_log_at_trx_commit = 1 is the default: a COMMIT that answered survives SIGKILL).
    SERVER_OPTIONS = (
        "--innodb-buffer-pool-size=64M",
        "--innodb-log-file-size=16M",
        "--innodb-flush-log-at-trx-commit=1",
        "--skip-log-bin",
        "--max-connections=300",
        "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_unicode_520_ci",
    )

    def __init__(self, base: Path, port: int | None = None):
        self.base = Path(base)
        self.datadir = self.base / "data"
        self.socket = self.base / "s.sock"
        self.pid_file = self.base / "mariadbd.pid"
        self.error_log = self.base / "error.log"
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None
        self.stalled = False
        self.starts = 0

    # --- what tests connect with ----------------------------------------------------------------

    @property
    def server(self) -> dict:
        """host/port/user/password, as conftest's mysql_server gives them."""
        return {"host": "127.0.0.1", "port": self.port, "user": "root", "password": ""}

    def connect(self, database: str | None = None, **kwargs) -> pymysql.connections.Connection:
        args = dict(self.server, autocommit=True, connect_timeout=5, read_timeout=30)
        if database:
            args["database"] = database
        return pymysql.connect(**{**args, **kwargs})

    def sql(self, statement: str, params=(), database: str | None = None) -> list[tuple]:
        with self.connect(database) as conn, conn.cursor() as cur:
            cur.execute(statement, params or None)  # no parameters: '%' is not a placeholder
            return list(cur.fetchall())

    # --- life cycle -----------------------------------------------------------------------------

    def install(self) -> None:
        """A fresh datadir (mariadb-install-db); root authenticates with its (empty) password."""
        self.base.mkdir(parents=True, exist_ok=True)
        command = [
            INSTALL_DB,
            "--no-defaults",
            f"--datadir={self.datadir}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
            *self.SERVER_OPTIONS,
        ]
        if os.geteuid() == 0:
            command.append("--user=root")
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed ({result.returncode}):\n{result.stdout.decode(errors='replace')[-4000:]}")

    def start(self, timeout: float = 60) -> None:
        """Start mariadbd (installing the datadir the first time) and return once it answers queries.
        After kill(), this is InnoDB's crash recovery."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("this MariaDB is running already")
        if not (self.datadir / "mysql").is_dir():
            self.install()
        command = [
            MARIADBD,
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--port={self.port}",
            f"--socket={self.socket}",
            "--bind-address=127.0.0.1",
            f"--pid-file={self.pid_file}",
            f"--log-error={self.error_log}",
            "--skip-name-resolve",
            *self.SERVER_OPTIONS,
        ]
        if os.geteuid() == 0:
            command.append("--user=root")  # mariadbd refuses to run as root otherwise
        if SETPRIV and threading.current_thread() is threading.main_thread():
            # PR_SET_PDEATHSIG fires when the thread that started the child ends: only the main thread's lasts.
            command = [SETPRIV, "--pdeathsig", "KILL", "--", *command]
        with open(self.base / "mariadbd.out", "ab") as output:
            self.process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _running.add(self)
        self.stalled = False
        self.starts += 1
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                _running.discard(self)
                raise RuntimeError(f"mariadbd exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with self.connect(connect_timeout=1, read_timeout=5) as conn, conn.cursor() as cur:
                    cur.execute("SELECT 1")
                    return
            except pymysql.err.Error:
                if time.monotonic() > deadline:
                    self.kill()
                    raise RuntimeError(f"mariadbd did not answer within {timeout} s:\n{self.log_tail()}") from None
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: the server ends at once, mid-statement, mid-COMMIT, without flushing anything."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)  # also ends a stopped process
        process.wait(timeout=30)
        self.stalled = False
        _running.discard(self)

    def stall(self) -> None:
        """SIGSTOP: the server keeps its sockets (connects complete in the kernel) but answers nothing."""
        self._signal(signal.SIGSTOP)
        self.stalled = True

    def resume(self) -> None:
        self._signal(signal.SIGCONT)
        self.stalled = False

    def stop(self, timeout: float = 30) -> None:
        """A clean shutdown (SIGTERM), SIGKILL if it takes longer than `timeout`."""
        process = self.process
        if process is None or process.poll() is not None:
            _running.discard(self)
            return
        if self.stalled:
            self.resume()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        _running.discard(self)

    def close(self) -> None:
        """Stop the server and remove its datadir."""
        try:
            self.stop()
        finally:
            self.kill()
            shutil.rmtree(self.base, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _signal(self, signum: int) -> None:
        if not self.running:
            raise RuntimeError("this MariaDB is not running")
        self.process.send_signal(signum)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.error_log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no error log)"

    def __enter__(self) -> PrivateMariaDB:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def copy_database(source: dict, source_name: str, target: PrivateMariaDB, target_name: str) -> None:
    """Copy database `source_name` of the server `source` (host/port/user/password) into a new database
    `target_name` on `target`: mariadb-dump piped into the mariadb client."""
    target.sql(f"CREATE DATABASE `{target_name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci")
    dump = [
        DUMP,
        "--no-defaults",
        f"--host={source['host']}",
        f"--port={source['port']}",
        f"--user={source['user']}",
        "--single-transaction",
        "--skip-lock-tables",
        "--skip-triggers",
        "--no-create-db",
        source_name,
    ]
    load = [CLIENT, "--no-defaults", "--host=127.0.0.1", f"--port={target.port}", "--user=root", target_name]
    env = {**os.environ, "MYSQL_PWD": source.get("password") or ""}
    dumper = subprocess.Popen(dump, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
    loaded = subprocess.run(
        load, stdin=dumper.stdout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "MYSQL_PWD": ""}, timeout=300
    )
    dumper.stdout.close()
    dump_errors = dumper.stderr.read().decode(errors="replace")
    dumper.wait(timeout=60)
    if dumper.returncode != 0 or loaded.returncode != 0:
        raise RuntimeError(
            f"copying {source_name} failed: dump {dumper.returncode} {dump_errors[-2000:]}; "
            f"load {loaded.returncode} {loaded.stdout.decode(errors='replace')[-2000:]}"
        )
