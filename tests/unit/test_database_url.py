"""The database URL: where, who, and whether the connection is encrypted (TLS)."""

from __future__ import annotations

import pytest

from wpscim.wordpress.db import DatabaseAddress, parse_database_url


def test_url_parts():
    address = parse_database_url("mysql://u:p%40ss@db.example:3310/blog?charset=utf8mb4")
    assert (address.user, address.password, address.host, address.port, address.database) == ("u", "p@ss", "db.example", 3310, "blog")
    assert parse_database_url("mysql://root@localhost/db?unix_socket=/tmp/s.sock").unix_socket == "/tmp/s.sock"


@pytest.mark.parametrize(
    "url",
    [
        "mysql://root@127.0.0.1/wp",
        "mysql://root@127.0.0.2:3307/wp",
        "mysql://root@localhost/wp",
        "mysql://root@[::1]:3306/wp",
        "mysql://root@db.example/wp?unix_socket=/run/mysqld/mysqld.sock",
    ],
)
def test_no_tls_to_this_machine_itself(url):
    # Nothing to protect on loopback or a socket, and TLS costs every round trip CPU (WordPress's
    # mysqli goes without it there too).
    assert parse_database_url(url).connect_args()["ssl_disabled"] is True


@pytest.mark.parametrize("url", ["mysql://root@db.example/wp", "mysql://root@10.0.0.5/wp", "mysql://root@mysql:3306/wp"])
def test_tls_when_offered_to_another_host(url):
    args = parse_database_url(url).connect_args()
    assert not any(key.startswith("ssl") for key in args)  # PyMySQL's default: TLS when the server offers it


def test_tls_modes_chosen_in_the_url():
    assert parse_database_url("mysql://root@db.example/wp?ssl=off").connect_args()["ssl_disabled"] is True
    assert "ssl_disabled" not in parse_database_url("mysql://root@127.0.0.1/wp?ssl=preferred").connect_args()
    required = parse_database_url("mysql://root@127.0.0.1/wp?ssl=required").connect_args()
    assert required["ssl"] and "ssl_disabled" not in required
    verified = parse_database_url("mysql://root@127.0.0.1/wp?ssl_ca=/etc/ssl/db-ca.pem").connect_args()
    assert verified["ssl_ca"] == "/etc/ssl/db-ca.pem" and verified["ssl_verify_cert"] and verified["ssl_verify_identity"]


def test_unknown_tls_mode_is_refused():
    with pytest.raises(ValueError, match="ssl=maybe"):
        parse_database_url("mysql://root@127.0.0.1/wp?ssl=maybe")


def test_address_built_in_code_defaults_to_auto():
    assert DatabaseAddress("127.0.0.1").connect_args()["ssl_disabled"] is True
    assert "ssl_disabled" not in DatabaseAddress("db.example").connect_args()
