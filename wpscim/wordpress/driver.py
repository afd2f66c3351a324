"""PyMySQL connections: the plain driver, and the fast path that reaches into its internals.

This is the only module that touches PyMySQL's private names. The fast path saves client CPU on
the requests IdPs send most (bench/RESULTS.md, docs/design.md "Less driver work" for what each part
is measured to gain):

- `FastCursor._mogrify` binds text values with one `str.translate` each instead of a call per value
  through `Connection.escape()` (a create binds about forty);
- `_Result` parses each statement's column definitions once per connection instead of into an
  object per column for every result.

It is used only with a PyMySQL release CI has tested it with (`FAST_PATH_TESTED`) and can be
switched off (`WPSCIM_FAST_PATH=0`, `wpscim serve --no-fast-path`); the plain path is PyMySQL as
published.

For measurement only, single parts can be switched off while the rest stays on:
`WPSCIM_FAST_PATH_OFF=escape,descriptions` (either or both, comma-separated; read once,
when this module is imported; bench/fastpath.py uses it to measure what each part gains). A part
switched off is replaced by PyMySQL's own code for that step; the fast path's other parts and its
answers are unchanged.
"""

from __future__ import annotations

import os
import select

import pymysql
from pymysql.connections import TEXT_TYPES
from pymysql.constants import CLIENT, FIELD_TYPE, SERVER_STATUS

FAST_PATH_TESTED = ((1, 2, 4),)  # PyMySQL releases whose internals the fast path was tested against
_DESCRIPTIONS_KEPT = 256  # per connection; wpscim sends a few dozen distinct column lists

# Errors of the connection itself (as opposed to the statement): the server is gone, restarted, killed
# the session or did not answer in time.
CONNECTION_LOST = frozenset(
    {
        2003,  # CR_CONN_HOST_ERROR: cannot connect
        2006,  # CR_SERVER_GONE_ERROR
        2013,  # CR_SERVER_LOST (also a read or write timeout)
        2055,  # CR_SERVER_LOST_EXTENDED
        1040,  # ER_CON_COUNT_ERROR: too many connections
        1053,  # ER_SERVER_SHUTDOWN
        1927,  # ER_CONNECTION_KILLED (MariaDB)
        4031,  # ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8)
    }
)
CONTENTION = frozenset({1205, 1213})  # lock wait timeout, deadlock: InnoDB rolled the transaction back

FAST_PATH_PARTS = ("escape", "descriptions")


def parts_off(text: str) -> frozenset[str]:
    """The fast-path parts WPSCIM_FAST_PATH_OFF names (see the module's docstring); an unknown name is
    an error, so that a measurement never runs with a part on that it meant to switch off."""
    names = {name.strip().lower().replace("-", "_") for name in text.split(",") if name.strip()}
    unknown = names - set(FAST_PATH_PARTS)
    if unknown:
        raise ValueError(f"WPSCIM_FAST_PATH_OFF: unknown part(s) {', '.join(sorted(unknown))}; the parts are {', '.join(FAST_PATH_PARTS)}")
    return frozenset(names)


FAST_PATH_OFF = parts_off(os.environ.get("WPSCIM_FAST_PATH_OFF", ""))


def fast_path_wanted() -> bool:
    """The fast path unless WPSCIM_FAST_PATH says no, or the installed PyMySQL is not one it was tested with."""
    switch = os.environ.get("WPSCIM_FAST_PATH", "1").strip().lower()
    return switch not in ("0", "false", "no", "off") and fast_path_supported()


def fast_path_supported() -> bool:
    return tuple(pymysql.VERSION[:3]) in FAST_PATH_TESTED


class PlainConnection(pymysql.connections.Connection):
    """PyMySQL's connection as published."""


def connection_lost(error: BaseException) -> bool:
    """Whether `error` means the connection (not the statement) failed: it cannot be used again."""
    if isinstance(error, pymysql.err.InterfaceError):
        return True
    if isinstance(error, pymysql.err.OperationalError):
        return not error.args or error.args[0] in CONNECTION_LOST
    return not isinstance(error, pymysql.err.Error)  # anything else mid-protocol leaves it out of step


def contention(error: BaseException) -> bool:
    return isinstance(error, pymysql.err.OperationalError) and bool(error.args) and error.args[0] in CONTENTION


def error_code(error: BaseException) -> int | None:
    return error.args[0] if isinstance(error, pymysql.err.Error) and error.args and isinstance(error.args[0], int) else None


def usable(conn: pymysql.connections.Connection) -> bool:
    """Whether an idle pooled connection can be used, without a round trip: the server sends nothing
    to an idle session, so anything readable (an error packet before it closed the session — killed,
    timed out, shut down — or the end of the stream) means the session is gone."""
    sock = getattr(conn, "_sock", None)
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


def discard(conn: pymysql.connections.Connection) -> None:
    """Close a connection that must not be used again, whatever state its socket is in."""
    try:
        conn._force_close()
    except Exception:  # noqa: BLE001 - nothing left to do with it
        pass


def connect(fast: bool, **kwargs) -> pymysql.connections.Connection:
    kwargs.setdefault("client_flag", CLIENT.MULTI_STATEMENTS)
    if fast:
        return FastConnection(cursorclass=FastCursor, **kwargs)
    return PlainConnection(**kwargs)


def round_trip(cursor, sql: str, params: tuple | list = (), results: list | None = None) -> int:
    """Run a multi-statement round trip to its end (raising the error of any statement); returns the
    first AUTO_INCREMENT value one of its statements generated, if any. The rows of each statement
    that returns rows are appended to `results`."""
    cursor.execute(sql, params)
    first_id = 0
    while True:
        first_id = first_id or (cursor.lastrowid or 0)
        if results is not None and cursor.description:
            results.append(cursor.fetchall())
        if not cursor.nextset():
            return first_id


# --- the fast path --------------------------------------------------------------------------------

# Connection.escape()'s escaping of text (backslash escapes) as a str.translate table; a list indexed
# by code point translates about twice as fast as a dict.
_TEXT_ESCAPES = [chr(x) for x in range(128)]
for _char, _escaped in {"\0": "\\0", "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\032": "\\Z", '"': '\\"', "'": "\\'"}.items():
    _TEXT_ESCAPES[ord(_char)] = _escaped


class FastCursor(pymysql.cursors.Cursor):
    """PyMySQL's cursor, binding text values without a call per value. Other values, and servers
    running with NO_BACKSLASH_ESCAPES, go through PyMySQL's own escaping."""

    def _mogrify(self, query, args):
        conn = self._get_db()
        status = conn.server_status
        if not isinstance(args, (list, tuple)) or status is None or status & SERVER_STATUS.SERVER_STATUS_NO_BACKSLASH_ESCAPES:
            return super()._mogrify(query, args)
        escape = conn.escape
        try:
            return query % tuple(["'" + a.translate(_TEXT_ESCAPES) + "'" if type(a) is str else escape(a) for a in args])
        except TypeError as exc:
            raise pymysql.err.ProgrammingError(str(exc)) from None


class _Result(pymysql.connections.MySQLResult):
    """PyMySQL's result, with each distinct list of column definitions parsed once per connection. The
    server sends the definitions before every result set, byte for byte the same for the same
    statement, and PyMySQL parses each into an object (some forty Python calls per column)."""

    def _get_descriptions(self):
        conn = self.connection
        packets = tuple([conn._read_packet().get_all_data() for _ in range(self.field_count)])
        eof_packet = conn._read_packet()
        assert eof_packet.is_eof_packet(), "Protocol error, expecting EOF"
        key = (packets, conn.encoding)
        parsed = conn.descriptions.get(key)
        if parsed is None:
            if len(conn.descriptions) >= _DESCRIPTIONS_KEPT:
                conn.descriptions.clear()
            parsed = conn.descriptions[key] = _parse_descriptions(conn, packets)
        self.fields, self.converters, self.description = list(parsed[0]), list(parsed[1]), parsed[2]


def _parse_descriptions(conn, packets: tuple[bytes, ...]) -> tuple[tuple, tuple, tuple]:
    """Fields, (encoding, converter) pairs and the DB-API description, as PyMySQL 1.x's
    MySQLResult._get_descriptions() makes them."""
    fields, converters = [], []
    for data in packets:
        field = pymysql.protocol.FieldDescriptorPacket(data, conn.encoding)
        fields.append(field)
        if not conn.use_unicode:
            encoding = None
        elif field.type_code == FIELD_TYPE.JSON:
            encoding = conn.encoding
        elif field.type_code in TEXT_TYPES:
            encoding = None if field.charsetnr == 63 else conn.encoding  # 63: binary
        else:
            encoding = "ascii"
        converter = conn.decoders.get(field.type_code)
        converters.append((encoding, None if converter is pymysql.converters.through else converter))
    return tuple(fields), tuple(converters), tuple(field.description() for field in fields)


class FastConnection(PlainConnection):
    """PyMySQL's connection, reading results as _Result."""

    def __init__(self, *args, **kwargs):
        self.descriptions: dict = {}  # see _Result
        super().__init__(*args, **kwargs)

    def _read_query_result(self, unbuffered=False):
        """PyMySQL 1.2's, reading results as _Result."""
        self._result = None
        result = _Result(self)
        if unbuffered:
            result.init_unbuffered_query()
        else:
            result.read()
        self._result = result
        if result.server_status is not None:
            self.server_status = result.server_status
        return result.affected_rows


# --- single parts switched off, for measurement (WPSCIM_FAST_PATH_OFF) ------------------------------------
# Each part's own code is replaced by PyMySQL's for that step at import, so the part left on runs exactly
# the code it runs with the whole fast path (no per-call test).

if "escape" in FAST_PATH_OFF:
    del FastCursor._mogrify  # PyMySQL's: Connection.escape() per value
if "descriptions" in FAST_PATH_OFF:
    del _Result._get_descriptions  # PyMySQL's: a FieldDescriptorPacket per column, every result
