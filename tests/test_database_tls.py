"""TLS between wpscim and the database, against a MariaDB of this module's own that offers TLS (as
MariaDB 11.4 and later do by default, with a certificate of their own): none over loopback unless the
URL asks for it (PyMySQL would negotiate it, and it costs every round trip CPU); `?ssl=required`
encrypts; `?ssl_ca=` verifies the server's certificate and name and refuses a server it cannot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pymysql
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from private_mariadb import PrivateMariaDB  # noqa: E402

from wpscim.wordpress.db import Database, parse_database_url  # noqa: E402
from wpscim.wordpress.errors import Unavailable  # noqa: E402


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


def _certificates(where: Path) -> None:
    """ca.pem (a CA of the test's own), server.pem/server.key (signed by it, for IP 127.0.0.1) and
    other-ca.pem (a CA that signed nothing)."""
    where.mkdir(parents=True)
    for name in ("ca", "other-ca"):
        _openssl(
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN=wpscim test {name}",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.pem",
            cwd=where,
        )
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr", cwd=where)
    (where / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "server.pem",
        cwd=where,
    )


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("tls-mariadb")
    certificates = base / "certs"
    _certificates(certificates)

    class TlsMariaDB(PrivateMariaDB):
        SERVER_OPTIONS = (
            *PrivateMariaDB.SERVER_OPTIONS,
            f"--ssl-cert={certificates / 'server.pem'}",
            f"--ssl-key={certificates / 'server.key'}",
        )

    server = TlsMariaDB(base / "mariadb")
    try:
        server.start()
        server.sql("CREATE DATABASE wp")
        yield server, certificates
    finally:
        server.close()


def _cipher(url: str, fast_path: bool) -> str:
    """The TLS cipher of a read session and of a write transaction ('' when unencrypted): both pools."""
    db = Database(parse_database_url(url), max_connections=1, fast_path=fast_path)
    try:
        ciphers = set()
        with db.reading() as session:
            session.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            ciphers.add(session.fetchall()[0][1])
        with db.transaction() as tx:
            results: list = []
            tx.run("SHOW SESSION STATUS LIKE 'Ssl_cipher'; SELECT 1", (), results)
            ciphers.add(results[0][0][1])
        assert len(ciphers) == 1, ciphers
        return ciphers.pop()
    finally:
        db.close()


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "plain-driver"])
def test_no_tls_over_loopback_unless_asked(tls_server, fast_path):
    server, _ = tls_server
    with pymysql.connect(host="127.0.0.1", port=server.port, user="root") as conn, conn.cursor() as cur:
        cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        assert cur.fetchall()[0][1], "the driver on its own negotiates TLS with this server: the check below means something"
    assert _cipher(f"mysql://root@127.0.0.1:{server.port}/wp", fast_path) == ""
    assert _cipher(f"mysql://root@127.0.0.1:{server.port}/wp?ssl=required", fast_path) != ""
    assert _cipher(f"mysql://root@127.0.0.1:{server.port}/wp?ssl=preferred", fast_path) != ""


def test_certificate_verified_against_the_given_ca(tls_server):
    server, certificates = tls_server
    assert _cipher(f"mysql://root@127.0.0.1:{server.port}/wp?ssl_ca={certificates / 'ca.pem'}", True) != ""
    with pytest.raises(Unavailable, match="certificate"):
        _cipher(f"mysql://root@127.0.0.1:{server.port}/wp?ssl_ca={certificates / 'other-ca.pem'}", True)


def test_tls_required_of_a_server_without_it_is_refused(tmp_path):
    class PlainMariaDB(PrivateMariaDB):
        SERVER_OPTIONS = (*PrivateMariaDB.SERVER_OPTIONS, "--skip-ssl")

    server = PlainMariaDB(tmp_path / "mariadb")
    try:
        server.start()
        server.sql("CREATE DATABASE wp")
        assert _cipher(f"mysql://root@127.0.0.1:{server.port}/wp?ssl=preferred", True) == ""
        with pytest.raises(Unavailable, match="SSL is required"):
            _cipher(f"mysql://root@127.0.0.1:{server.port}/wp?ssl=required", True)
    finally:
        server.close()
