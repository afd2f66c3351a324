"""Every name the bench takes from wpscim, in one place.

wpscim's storage layer moves; when these names do, this is the module to change. The bench otherwise
runs wpscim only as a separate process (`python -m wpscim serve | token | index`, see
runner.wpscim_command).

- the database address: `DatabaseAddress`, `parse_database_url` (and `Database`, the pool, for
  seeding and sqltrace.py), wrapped in `bench_address()` / `database_url()` below;
- the schema: `init_schema` (seeding), `detect` (the site's table prefix, keys and defaults);
- WordPress's password hashing for the raw-SQL reference: `hash_password`, `unusable_hash`,
  `uses_wp_bcrypt`;
- for bench/sqltrace.py only: `TokenStore`, `Storage` and `create_app` (loaded on first use, so that
  the load generator's process does not import the whole app).
"""

from __future__ import annotations

from urllib.parse import quote

from wpscim.wordpress.db import Database, DatabaseAddress, parse_database_url
from wpscim.wordpress.passwords import hash_password, unusable_hash, uses_wp_bcrypt
from wpscim.wordpress.site import detect, init_schema
from wpscim.wordpress.tokens import TokenStore

# (Storage and create_app, loaded on first use by __getattr__ below, are importable but not listed.)
__all__ = [
    "Database",
    "DatabaseAddress",
    "TokenStore",
    "bench_address",
    "database_url",
    "detect",
    "hash_password",
    "init_schema",
    "parse_database_url",
    "unusable_hash",
    "uses_wp_bcrypt",
]


def bench_address(server_url: str, users: int) -> DatabaseAddress:
    """The database `wpscim_bench_<users>` on the server that `server_url` names (its database part ignored)."""
    server = parse_database_url(server_url)
    return DatabaseAddress(
        server.host, server.port, server.user, server.password, f"wpscim_bench_{users}", server.unix_socket, server.charset
    )


def database_url(address: DatabaseAddress) -> str:
    """The `--database-url` that makes `wpscim serve`, `token create` … use `address`."""
    auth = address.user + (":" + quote(address.password, safe="") if address.password else "")
    where = address.host + f":{address.port}"
    return f"mysql://{auth}@{where}/{address.database}" + (f"?unix_socket={address.unix_socket}" if address.unix_socket else "")


def __getattr__(name: str):
    if name == "create_app":
        from wpscim.app import create_app

        return create_app
    if name == "Storage":
        from wpscim.wordpress.storage import Storage

        return Storage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
