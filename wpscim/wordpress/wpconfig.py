"""Where WordPress's database is — a URL, or the site's own wp-config.php — and the other constants
wp-config.php defines that wpscim needs (salts, WP_SITEURL/WP_HOME, WP_REDIS_*, WP_CONTENT_DIR).

wp-config.php is PHP; wpscim reads it without running PHP: a small tokenizer (strings, comments,
numbers, names) and the statements a wp-config.php consists of, `define( 'NAME', value );` and
`$table_prefix = value;`, where a value is a literal, a constant already defined, `__DIR__`, `__FILE__`,
`dirname(…)` or the official Docker image's `getenv_docker('WORDPRESS_DB_HOST', 'mysql')` (the file
named by `WORDPRESS_DB_HOST_FILE`, else the environment variable, else the default). A value wpscim
cannot evaluate (other PHP) is left unknown.

`require`/`include` (and their `_once` forms) of a path wpscim can evaluate are followed where they
stand, as PHP runs them. One it cannot evaluate (`require_once($debian_file)`, as Debian's packaged
wp-config.php does) before the database constants are known stops the reading: what follows it is
often `if (!defined('DB_NAME')) define('DB_NAME', 'wordpress');`, fallbacks that are not the settings.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from wpscim.wordpress.db import DatabaseAddress, parse_database_url

_SOCKETS = ("/run/mysqld/mysqld.sock", "/var/run/mysqld/mysqld.sock", "/tmp/mysql.sock")
_TOKEN = re.compile(
    r"""(?P<space>\s+)|(?P<comment>//[^\n]*|\#[^\n]*|/\*.*?\*/)|(?P<single>'(?:[^'\\]|\\.)*')|(?P<double>"(?:[^"\\]|\\.)*")"""
    r"""|(?P<number>\d+(?:\.\d+)?)|(?P<name>\$?[A-Za-z_][A-Za-z0-9_]*)|(?P<open><\?php)|(?P<punct>.)""",
    re.S,
)
_INCLUDES = ("require", "require_once", "include", "include_once")
_DATABASE = ("DB_NAME", "DB_USER", "DB_PASSWORD", "DB_HOST")
_EXISTS_TESTS = ("file_exists", "is_file", "is_readable")
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


def _tokens(source: str) -> tuple[list[tuple[str, str]], list[int]]:
    """The tokens, and where each starts in the source (for the line an error names)."""
    tokens, offsets = [], []
    for match in _TOKEN.finditer(source):
        kind = match.lastgroup or ""
        if kind in ("space", "comment", "open"):
            continue
        tokens.append((kind, match.group()))
        offsets.append(match.start())
    return tokens, offsets


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


class _Reader:
    """What reading wp-config.php and the files it includes has found so far, in PHP's order."""

    def __init__(self, environ: Mapping[str, str]):
        self.environ = environ
        self.constants: dict = {}
        self.unreadable: set[str] = set()  # constants defined with a value wpscim cannot evaluate
        self.prefix: str | None = None
        self.read: set[str] = set()  # files read (real paths): `_once`, and no include loop

    def read_file(self, path: Path, included_from: str = "") -> None:
        real = os.path.realpath(path)
        self.read.add(real)
        try:
            source = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise ConfigError(f"{included_from}cannot read {path}: {exc.strerror}") from None
        _Parser(source, Path(real), self).statements()

    def include(self, keyword: str, target: str, where: str, directory: Path) -> None:
        # A relative path is taken from the including file's directory; PHP looks in the include_path's "."
        # (the request's directory: WordPress's root, where wp-config.php is) and then there.
        path = directory / target
        if os.path.realpath(path) in self.read:
            return  # what `_once` does; a plain include of a file read already would only redefine (or loop)
        if not path.exists():
            if keyword.startswith("include"):
                return  # PHP warns and goes on
            raise ConfigError(f"{where} requires {path}, which does not exist")
        # A file that exists but wpscim cannot read is an error even for include: PHP (as another user) may
        # read it, and what it defines would be missing here.
        self.read_file(path, included_from=f"{where} includes {path}: ")


class _Parser:
    def __init__(self, source: str, path: Path, reader: _Reader):
        self.source = source
        self.path = path  # its real path, as __FILE__ is
        self.tokens, self.offsets = _tokens(source)
        self.at = 0
        self.reader = reader
        self.environ = reader.environ
        self.checked: set[str] = set()  # paths tested with file_exists() (and alike) in this file

    def peek(self, offset: int = 0) -> tuple[str, str]:
        index = self.at + offset
        return self.tokens[index] if 0 <= index < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.at += 1
        return token

    def expect(self, text: str) -> None:
        if self.take()[1] != text:
            raise _Unknown()

    def where(self, index: int) -> str:
        return f"{self.path}:{self.source.count(chr(10), 0, self.offsets[index]) + 1}"

    def value(self):
        """A term, or terms joined by PHP's string concatenation: `getenv_docker('A', 'x') . ':' . 3306`."""
        value = self.term()
        while self.peek()[1] == "." and self.peek(1)[0] != "number":
            self.take()
            right = self.term()
            value = _php_text(value) + _php_text(right)
        return value

    def term(self):
        """A literal, a parenthesised value, __DIR__, __FILE__, dirname(…), a constant already defined,
        or getenv_docker(NAME, default)."""
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
        if kind == "punct" and text == "(":
            value = self.value()
            self.expect(")")
            return value
        if kind == "name" and text == "__DIR__":
            return str(self.path.parent)
        if kind == "name" and text == "__FILE__":
            return str(self.path)
        if kind == "name" and text.lower() == "dirname" and self.peek()[1] == "(":
            self.expect("(")
            path, levels = self.value(), 1
            if self.peek()[1] == ",":
                self.take()
                levels = self.value()
            self.expect(")")
            if not isinstance(path, str) or not isinstance(levels, int) or levels < 1:
                raise _Unknown()
            for _ in range(levels):
                path = os.path.dirname(path)
            return path
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
        if kind == "name" and text in self.reader.constants and self.peek()[1] != "(":
            return self.reader.constants[text]  # ABSPATH, …
        raise _Unknown()

    def statements(self) -> None:
        reader = self.reader
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
                        if isinstance(name, str) and name not in reader.constants:
                            # Defined, to a value wpscim does not know: a later `if (!defined())` fallback is not it.
                            reader.unreadable.add(name)
                        continue
                    if isinstance(name, str) and name not in reader.unreadable:
                        reader.constants.setdefault(name, value)  # PHP keeps the first definition of a constant
                elif kind == "name" and text == "$table_prefix" and self.peek()[1] == "=":
                    guarded = self.isset_guarded()
                    self.take()
                    start = self.at
                    try:
                        value = self.value()
                        if self.peek()[1] == ";" and isinstance(value, str) and not (guarded and reader.prefix is not None):
                            reader.prefix = value
                    except _Unknown:
                        self.at = start
                elif kind == "name" and text.lower() in _EXISTS_TESTS and self.peek()[1] == "(":
                    self.expect("(")
                    tested = self.value()
                    if isinstance(tested, str):
                        self.checked.add(str(self.path.parent / tested))
                elif (
                    kind == "name" and text.lower() in _INCLUDES and self.peek(-3)[1] + self.peek(-2)[1] not in ("->", "::")
                ):  # not $x->include()
                    self.include(text.lower(), self.at - 1)
            except _Unknown:
                continue

    def isset_guarded(self) -> bool:
        """Whether the `$table_prefix` at hand is `if (!isset($table_prefix)) [{] $table_prefix = …`: a
        fallback, as Debian's wp-config.php has after its include, that does not replace a prefix set."""
        before = [t.lower() for _, t in self.tokens[max(0, self.at - 11) : self.at - 1]]
        if before[-1:] == ["{"]:
            before.pop()
        return before[-8:] == ["if", "(", "!", "isset", "(", "$table_prefix", ")", ")"]

    def include(self, keyword: str, at: int) -> None:
        end = self.at
        while end < len(self.tokens) and self.tokens[end][1] != ";" and self.tokens[end : end + 2] != [("punct", "?"), ("punct", ">")]:
            end += 1
        # Every wp-config.php ends by loading WordPress (`require_once ABSPATH . 'wp-settings.php'`): not configuration.
        if any(k in ("single", "double") and _string(k, t).endswith("wp-settings.php") for k, t in self.tokens[self.at : end]):
            self.at = end
            return
        try:
            target = self.value()
            if self.at != end or not isinstance(target, str) or not target:
                raise _Unknown()
        except _Unknown:
            self.at = end
            if all(n in self.reader.constants for n in _DATABASE):
                return  # the database is known already; what else the file would define stays unknown, as before
            statement = " ".join(self.source[self.offsets[at] : self.offsets[end] if end < len(self.offsets) else None].split())
            raise ConfigError(
                f"{self.where(at)}: `{statement}` includes a file wpscim cannot name without running PHP, and"
                " DB_NAME, DB_USER, DB_PASSWORD and DB_HOST are not all defined before it (fallbacks after it are"
                " not the settings): point --wp-config at the file that defines DB_NAME, DB_USER, DB_PASSWORD and"
                " DB_HOST (for Debian's packaged WordPress: /etc/wordpress/config-<host>.php)"
            ) from None
        path = self.path.parent / target
        if str(path) in self.checked:
            keyword = "include"  # `if (file_exists(X)) require X;`: PHP does not reach the require when X is missing
        self.reader.include(keyword, target, self.where(at), self.path.parent)


def parse_db_host(value: str) -> tuple[str, int | None, str | None]:
    """(host, port, socket) of DB_HOST as wpdb::parse_db_host() reads it: `host`, `host:port`,
    `host:/socket`, `:/socket`, and IPv6 addresses (`::1`, `[::1]:3307`)."""
    socket = None
    at = value.find(":/")
    if at != -1:
        value, socket = value[:at], value[at + 1 :]
    if value.count(":") > 1:
        match = re.match(r"^(?:\[)?(?P<host>[0-9a-fA-F:]+)(?:\]:(?P<port>\d+))?", value)
    else:
        match = re.match(r"^(?P<host>[^:/]*)(?::(?P<port>\d+))?", value)
    if match is None:
        return "", None, socket
    port = int(match["port"]) if match["port"] else None
    return match["host"], port or None, socket


def read_wp_config(path: str | Path, environ=None) -> WordPressConfig:
    """The database (DB_NAME, DB_USER, DB_PASSWORD, DB_HOST as host, host:port or host:/socket,
    DB_CHARSET), $table_prefix and every other constant wp-config.php defines with a readable value."""
    reader = _Reader(os.environ if environ is None else environ)
    reader.read_file(Path(path))
    constants, prefix = reader.constants, reader.prefix
    missing = [n for n in ("DB_NAME", "DB_USER", "DB_HOST") if not isinstance(constants.get(n), str)]
    if missing:
        raise ConfigError(f"{path} does not define {', '.join(missing)} (or defines them with PHP wpscim cannot read)")
    host, port, socket = parse_db_host(constants["DB_HOST"])
    host = host or "localhost"
    if host == "localhost":
        # PHP's mysqli reaches "localhost" through the Unix socket (the one named, else its default),
        # whatever the port; another host over TCP, whatever the socket.
        socket = socket or next((s for s in _SOCKETS if os.path.exists(s)), None)
    else:
        socket = None
    address = DatabaseAddress(
        host="127.0.0.1" if host == "localhost" else host,
        port=port or 3306,
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
