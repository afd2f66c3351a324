"""Where WordPress's database is — a URL, or the site's own wp-config.php — and the other constants
wp-config.php defines that wpscim needs (salts, WP_SITEURL/WP_HOME, WP_REDIS_*, WP_CONTENT_DIR).

wp-config.php is PHP; wpscim reads it without running PHP: a small tokenizer (strings, comments,
numbers, names) and the statements a wp-config.php consists of, `define( 'NAME', value );` and
`$table_prefix = value;`, where a value is a literal or the official Docker image's
`getenv_docker('WORDPRESS_DB_HOST', 'mysql')` (the file named by `WORDPRESS_DB_HOST_FILE`, else the
environment variable, else the default). A value wpscim cannot evaluate (other PHP) is left unknown.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from wpscim.wordpress.db import DatabaseAddress, parse_database_url

_SOCKETS = ("/run/mysqld/mysqld.sock", "/var/run/mysqld/mysqld.sock", "/tmp/mysql.sock")
_TOKEN = re.compile(
    r"""(?P<space>\s+)|(?P<comment>//[^\n]*|\#[^\n]*|/\*.*?\*/)|(?P<single>'(?:[^'\\]|\\.)*')|(?P<double>"(?:[^"\\]|\\.)*")"""
    r"""|(?P<number>\d+(?:\.\d+)?)|(?P<name>\$?[A-Za-z_][A-Za-z0-9_]*)|(?P<open><\?php)|(?P<punct>.)""",
    re.S,
)
_DOUBLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "v": "\v", "f": "\f", "e": "\x1b", "\\": "\\", "$": "$", '"': '"', "0": "\0"}


class ConfigError(Exception):
    pass


@dataclass
class WordPressConfig:
    address: DatabaseAddress
    table_prefix: str
    constants: dict = field(default_factory=dict)  # every define() whose value could be read
    path: Path | None = None

    def constant(self, name: str, default=None):
        return self.constants.get(name, default)


def _tokens(source: str) -> list[tuple[str, str]]:
    tokens = []
    for match in _TOKEN.finditer(source):
        kind = match.lastgroup
        if kind in ("space", "comment", "open"):
            continue
        tokens.append((kind, match.group()))
    return tokens


def _string(kind: str, text: str) -> str:
    body = text[1:-1]
    if kind == "single":
        return re.sub(r"\\([\\'])", r"\1", body)
    return re.sub(r"\\(.)", lambda m: _DOUBLE_ESCAPES.get(m.group(1), "\\" + m.group(1)), body, flags=re.S)


def _php_text(value) -> str:
    """A value as PHP's string conversion writes it."""
    if value is True:
        return "1"
    if value is False or value is None:
        return ""
    return str(value)


class _Unknown(Exception):
    """A value wpscim cannot evaluate without running PHP."""


def getenv_docker(name: str, default, environ) -> str:
    """The official WordPress image's helper: the file `${name}_FILE` names (trailing CR/LF trimmed),
    else the environment variable, else the default."""
    file_name = environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(f"{name}_FILE names {file_name}, which cannot be read: {exc.strerror}") from None
    if name in environ:
        return environ[name]
    return default


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], environ):
        self.tokens = tokens
        self.at = 0
        self.environ = environ

    def peek(self, offset: int = 0) -> tuple[str, str]:
        index = self.at + offset
        return self.tokens[index] if index < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.at += 1
        return token

    def expect(self, text: str) -> None:
        if self.take()[1] != text:
            raise _Unknown()

    def value(self):
        """A term, or terms joined by PHP's string concatenation: `getenv_docker('A', 'x') . ':' . 3306`."""
        value = self.term()
        while self.peek()[1] == "." and self.peek(1)[0] != "number":
            self.take()
            right = self.term()
            value = _php_text(value) + _php_text(right)
        return value

    def term(self):
        """A literal, or getenv_docker(NAME, default)."""
        kind, text = self.take()
        if kind in ("single", "double"):
            return _string(kind, text)
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "name" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if kind == "name" and text.lower() == "null":
            return None
        if kind == "punct" and text == "-" and self.peek()[0] == "number":
            return -self.value()
        if kind == "name" and text in ("getenv_docker", "getenv"):
            self.expect("(")
            name = self.value()
            default = None
            if text == "getenv_docker":
                self.expect(",")
                default = self.value()
            self.expect(")")
            if not isinstance(name, str):
                raise _Unknown()
            if text == "getenv":
                return self.environ.get(name, False)
            return getenv_docker(name, default, self.environ)
        raise _Unknown()

    def statements(self) -> tuple[dict, str | None]:
        constants: dict = {}
        prefix = None
        while self.at < len(self.tokens):
            kind, text = self.take()
            try:
                if kind == "name" and text.lower() == "define" and self.peek()[1] == "(":
                    self.expect("(")
                    name = self.value()
                    self.expect(",")
                    start = self.at
                    try:
                        value = self.value()
                        if self.peek()[1] != ")":
                            raise _Unknown()
                    except _Unknown:
                        self.at = start
                        continue
                    if isinstance(name, str):
                        constants.setdefault(name, value)  # PHP keeps the first definition of a constant
                elif kind == "name" and text == "$table_prefix" and self.peek()[1] == "=":
                    self.take()
                    start = self.at
                    try:
                        value = self.value()
                        if self.peek()[1] == ";" and isinstance(value, str):
                            prefix = value
                    except _Unknown:
                        self.at = start
            except _Unknown:
                continue
        return constants, prefix


def read_wp_config(path: str | Path, environ=None) -> WordPressConfig:
    """The database (DB_NAME, DB_USER, DB_PASSWORD, DB_HOST as host, host:port or host:/socket,
    DB_CHARSET), $table_prefix and every other constant wp-config.php defines with a readable value."""
    environ = os.environ if environ is None else environ
    try:
        source = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    constants, prefix = _Parser(_tokens(source), environ).statements()
    missing = [n for n in ("DB_NAME", "DB_USER", "DB_HOST") if not isinstance(constants.get(n), str)]
    if missing:
        raise ConfigError(f"{path} does not define {', '.join(missing)} (or defines them with PHP wpscim cannot read)")
    host, port, socket = constants["DB_HOST"], 3306, None
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
        user=constants["DB_USER"],
        password=str(constants.get("DB_PASSWORD") or ""),
        database=constants["DB_NAME"],
        unix_socket=socket,
        # wpdb upgrades 'utf8' (the sample config's and the official image's value) to utf8mb4 where the server
        # has it, as every supported MySQL and MariaDB does; a connection in utf8 refuses emoji.
        charset={"utf8": "utf8mb4", "": "utf8mb4"}.get(str(constants.get("DB_CHARSET") or ""), str(constants.get("DB_CHARSET"))),
    )
    return WordPressConfig(address, prefix if prefix is not None else "wp_", constants, Path(path))


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
