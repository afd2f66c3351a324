"""Meta values as WordPress writes and reads them (wp-includes/functions.php, 6.1).

update_user_meta() stores maybe_serialize($value): a text that already looks PHP-serialized is
serialized again, as a string. get_user_meta() returns maybe_unserialize($stored): a stored text that
looks serialized is unserialized. A text sent as a name such as 'O:8:"stdClass":0:{}' must therefore
be written as 's:19:"O:8:"stdClass":0:{}";', or WordPress would read back an object it built from it
(PHP object injection) instead of the name. wpscim writes every text usermeta value it writes through
meta_value() and reads back through meta_text()."""

from __future__ import annotations

import re

from wpscim.wordpress.site import unserialize

_PHP_TRIM = b" \t\n\r\x0b\x00"
_LENGTHED = {ord(c): re.compile(rb"^" + c.encode() + rb":[0-9]+:", re.S) for c in "saOE"}
_SCALAR_STRICT = {ord(c): re.compile(rb"^" + c.encode() + rb":[0-9.E+-]+;\n?\Z") for c in "bid"}
_SCALAR = {ord(c): re.compile(rb"^" + c.encode() + rb":[0-9.E+-]+;") for c in "bid"}


def is_serialized(text: str, strict: bool = True) -> bool:
    """WordPress's is_serialized(), on the text's UTF-8 bytes as PHP sees them."""
    stripped = text.strip(" \t\n\r\x0b\x00")
    if stripped[1:2] != ":" and stripped != "N;":
        return False  # the common, cheap answer (a first character of several bytes never passes either)
    data = stripped.encode("utf-8", "surrogatepass")
    if data == b"N;":
        return True
    if len(data) < 4 or data[1] != ord(":"):
        return False
    if strict:
        if data[-1] not in (ord(";"), ord("}")):
            return False
    else:
        semicolon, brace = data.find(b";"), data.find(b"}")
        if semicolon == -1 and brace == -1:
            return False
        if semicolon != -1 and semicolon < 3:
            return False
        if brace != -1 and brace < 4:
            return False
    token = data[0]
    if token == ord("s"):
        if strict:
            if data[-2:-1] != b'"':
                return False
        elif b'"' not in data:
            return False
    if token in _LENGTHED:
        return _LENGTHED[token].match(data) is not None
    if token in _SCALAR:
        return (_SCALAR_STRICT if strict else _SCALAR)[token].match(data) is not None
    return False


def meta_value(text: str) -> str:
    """What update_user_meta() stores for a text: maybe_serialize()."""
    if is_serialized(text, strict=False):
        raw = text.encode("utf-8", "surrogatepass")
        return f's:{len(raw)}:"{text}";'
    return text


def meta_text(stored: str) -> str:
    """What get_user_meta() returns for a stored text wpscim wrote: maybe_unserialize(), for strings.
    A value serialized as anything but a string (someone else's array) is returned as stored."""
    if not is_serialized(stored):
        return stored
    try:
        value = unserialize(stored.strip(" \t\n\r\x0b\x00"))
    except (ValueError, TypeError, UnicodeDecodeError):
        return stored
    return value if isinstance(value, str) else stored
