"""Where WordPress's database is: a URL, or the site's own wp-config.php."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from wpscim.wordpress.db import DatabaseAddress, parse_database_url

_DEFINE = re.compile(r"""define\s*\(\s*['"](DB_NAME|DB_USER|DB_PASSWORD|DB_HOST|DB_CHARSET)['"]\s*,\s*(['"])(.*?)(?<!\\)\2\s*\)""", re.S)
_PREFIX = re.compile(r"""\$table_prefix\s*=\s*(['"])(.*?)\1\s*;""")
_SOCKETS = ("/run/mysqld/mysqld.sock", "/var/run/mysqld/mysqld.sock", "/tmp/mysql.sock")


class ConfigError(Exception):
    pass


@dataclass
class WordPressConfig:
    address: DatabaseAddress
    table_prefix: str


def _php_string(text: str) -> str:
    return text.replace("\\'", "'").replace('\\"', '"').replace("\\\\", "\\")


def _strip_comments(source: str) -> str:
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.S)
    return re.sub(r"^\s*(//|#).*$", "", source, flags=re.M)


def read_wp_config(path: str | Path) -> WordPressConfig:
    """DB_NAME, DB_USER, DB_PASSWORD, DB_HOST (host, host:port or host:/socket), DB_CHARSET and $table_prefix."""
    try:
        source = _strip_comments(Path(path).read_text(encoding="utf-8", errors="replace"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    values = {name: _php_string(value) for name, _, value in _DEFINE.findall(source)}
    missing = [n for n in ("DB_NAME", "DB_USER", "DB_HOST") if n not in values]
    if missing:
        raise ConfigError(f"{path} does not define {', '.join(missing)}")
    prefix = _PREFIX.search(source)
    host, port, socket = values["DB_HOST"], 3306, None
    if ":" in host:
        host, _, rest = host.partition(":")
        if rest.startswith("/"):
            socket = rest
        elif rest.isdigit():
            port = int(rest)
    host = host or "localhost"
    if host == "localhost" and socket is None and port == 3306:
        # PHP's mysqli treats "localhost" as the server's Unix socket.
        socket = next((s for s in _SOCKETS if os.path.exists(s)), None)
    address = DatabaseAddress(
        host="127.0.0.1" if host == "localhost" else host,
        port=port,
        user=values["DB_USER"],
        password=values.get("DB_PASSWORD", ""),
        database=values["DB_NAME"],
        unix_socket=socket,
        charset=values.get("DB_CHARSET") or "utf8mb4",
    )
    return WordPressConfig(address, prefix.group(2) if prefix else "wp_")


def resolve_database(database_url: str | None, wp_config: str | None, table_prefix: str | None) -> tuple[DatabaseAddress, str]:
    """--database-url first, else --wp-config; --table-prefix overrides the prefix either names."""
    if database_url:
        try:
            address = parse_database_url(database_url)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if not address.database:
            raise ConfigError("the database URL names no database: mysql://user:pass@host:port/DATABASE")
        return address, table_prefix or "wp_"
    if wp_config:
        config = read_wp_config(wp_config)
        return config.address, table_prefix or config.table_prefix
    raise ConfigError("say where WordPress's database is: --database-url mysql://user:pass@host:port/db or --wp-config PATH")
