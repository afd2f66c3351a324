"""PHP's own functions as WordPress 6.1 relies on them, with PHP 8.2's semantics (Debian's PHP,
without the mbstring and intl extensions), for this package's ports of WordPress's filters, which
must give what WordPress gives byte for byte.

* trim(): strips " \\t\\n\\r\\v\\0" only (TRIM_CHARS: not \\f, nothing non-ASCII); strtolower():
  ASCII letters only, whatever the locale.
* addslashes() / stripslashes(): what wp_slash() / wp_unslash() do to a string ("\\0" included).
* strip_tags(): PHP's state machine (php_strip_tags_ex() without allowed tags), run on the UTF-8
  bytes: a "<" followed by whitespace is text, quotes inside a tag hide its ">", "<?", "<!", "<!--"
  and "<?xml" have states of their own. wp_strip_all_tags() (WordPress's formatting.php) is
  strip_tags() after dropping <script> and <style> elements, then trim().
* strlen() counts UTF-8 bytes; SURROGATE finds a lone surrogate (JSON can carry one), which PHP
  sees as invalid UTF-8; replace_all() is str_replace() with an array of needles, one after the other.
* empty(): "", "0", null, false, 0, 0.0 and empty arrays; array_key(): the key PHP makes of a string
  (a canonical decimal integer in range becomes that integer).
* json_decode($json, true) and json_encode($value, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE)
  (block attributes): a JSON object is a PHP array with PHP keys, integers beyond PHP_INT_MAX are
  floats, floats are written as PHP 8 writes them (serialize_precision = -1), a list is an array
  whose keys are 0..n-1 in order, and each fails where PHP fails (NaN/Infinity, lone surrogates,
  nesting deeper than 512).

Regular expressions in all these ports are PCRE without /u, as WordPress's: byte-oriented, so \\s and
\\d are ASCII (re.A) and /i folds ASCII case only.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal

TRIM_CHARS = " \t\n\r\x0b\x00"  # what PHP's trim() strips by default (not \f, nothing non-ASCII)


def trim(text: str, chars: str = TRIM_CHARS) -> str:
    return text.strip(chars)


def strtolower(text: str) -> str:
    """PHP 8.2 strtolower(): ASCII only, whatever the locale."""
    return re.sub(r"[A-Z]+", lambda m: m.group(0).lower(), text)


def addslashes(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'").replace('"', '\\"').replace("\0", "\\0")


_SLASHED = re.compile(r"\\(.?)", re.S)


def stripslashes(text: str) -> str:
    return _SLASHED.sub(lambda m: "\0" if m.group(1) == "0" else m.group(1), text)


_C_SPACE = b" \t\n\x0b\x0c\r"  # isspace() in the C locale


def strip_tags(text: str) -> str:
    """PHP's strip_tags() (php_strip_tags_ex without allowed tags), byte for byte."""
    buf = text.encode("utf-8", "surrogatepass")  # (a lone surrogate from JSON: PHP sees its bytes)
    n = len(buf)
    out = bytearray()
    state = depth = in_q = br = lc = 0
    is_xml = False
    p = 0
    while p < n:
        c = buf[p]
        nxt = buf[p + 1] if p + 1 < n else 0
        prev = buf[p - 1] if p >= 1 else 0
        if state == 0:  # text
            if c == 0:
                pass
            elif c == 0x3C:  # <
                if in_q:
                    pass
                elif nxt in _C_SPACE:
                    out.append(c)
                else:
                    lc, state = 0x3C, 1
            elif c == 0x3E:  # >
                if depth:
                    depth -= 1
                elif not in_q:
                    out.append(c)
            else:
                out.append(c)
        elif state == 1:  # inside a tag
            if c == 0x3C:
                if not in_q and nxt not in _C_SPACE:
                    depth += 1
            elif c == 0x3E:
                if depth:
                    depth -= 1
                elif not in_q:
                    lc = 0x3E
                    if not (is_xml and prev == 0x2D):
                        in_q = state = 0
                        is_xml = False
            elif c in (0x22, 0x27):  # " '
                if p != 0 and (not in_q or c == in_q):
                    in_q = 0 if in_q else c
            elif c == 0x21:  # !
                if prev == 0x3C:
                    state, lc = 3, c
            elif c == 0x3F:  # ?
                if prev == 0x3C:
                    br, state = 0, 2
        elif state == 2:  # <? ... ?>
            if c == 0x28:
                if lc not in (0x22, 0x27):
                    lc = 0x28
                    br += 1
            elif c == 0x29:
                if lc not in (0x22, 0x27):
                    lc = 0x29
                    br -= 1
            elif c == 0x3E:
                if depth:
                    depth -= 1
                elif not in_q and not br and lc != 0x22 and prev == 0x3F:
                    in_q = state = 0
            elif c in (0x22, 0x27):
                if p >= 1 and prev != 0x5C:
                    if lc == c:
                        lc = 0
                    elif lc != 0x5C:
                        lc = c
                    if not in_q or c == in_q:
                        in_q = 0 if in_q else c
            elif c in (0x6C, 0x4C):  # <?xml switches back to a normal tag
                if p > 4 and buf[p - 4 : p].lower() == b"<?xm":
                    state, is_xml = 1, True
        elif state == 3:  # <! ... >
            if c == 0x3E:
                if depth:
                    depth -= 1
                elif not in_q:
                    in_q = state = 0
            elif c in (0x22, 0x27):
                if p != 0 and prev != 0x5C and (not in_q or c == in_q):
                    in_q = 0 if in_q else c
            elif c == 0x2D:
                if p >= 2 and buf[p - 2 : p] == b"!-":
                    state = 4
            elif c in (0x45, 0x65):  # <!DOCTYPE
                if p > 6 and buf[p - 6 : p].lower() == b"doctyp":
                    state = 1
        else:  # <!-- ... -->
            if c == 0x3E and not in_q and p >= 2 and buf[p - 2 : p] == b"--":
                in_q = state = 0
        p += 1
    return out.decode("utf-8", "surrogatepass")


_SCRIPT_STYLE = re.compile(r"<(script|style)[^>]*?>.*?</\1>", re.I | re.S | re.A)


def wp_strip_all_tags(text: str) -> str:
    return trim(strip_tags(_SCRIPT_STYLE.sub("", text)))


def replace_all(text: str, needles, replacement: str) -> str:
    for needle in needles:  # str_replace() with an array: one needle after the other
        text = text.replace(needle, replacement)
    return text


SURROGATE = re.compile("[\ud800-\udfff]")  # a lone surrogate (JSON can carry one): invalid UTF-8 to PHP


def strlen(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def empty(value) -> bool:
    return value in ("", "0") if isinstance(value, str) else not value  # (None, False, 0, 0.0, empty arrays)


_PHP_INT_MIN, _PHP_INT_MAX = -(2**63), 2**63 - 1


def array_key(key):
    """A PHP array key: a string that is a canonical decimal integer in range becomes that integer."""
    if isinstance(key, str) and re.fullmatch(r"0|-?[1-9][0-9]{0,19}", key, re.A) and _PHP_INT_MIN <= int(key) <= _PHP_INT_MAX:
        return int(key)
    return key


_JSON_DEPTH = 512  # json_decode()'s and json_encode()'s default depth


def json_decode(text: str):
    """json_decode($text, true): a PHP array (dict with PHP keys; list for a JSON array), or None
    where PHP fails (invalid JSON, NaN/Infinity, lone surrogates, nesting deeper than 512)."""

    def constant(name):
        raise ValueError(name)

    def integer(digits: str):
        if len(digits.lstrip("-")) > 19:
            return float(digits)  # PHP: an integer beyond PHP_INT_MAX is read as a float
        value = int(digits)
        return value if _PHP_INT_MIN <= value <= _PHP_INT_MAX else float(digits)

    def obj(pairs):
        out: dict = {}
        for key, value in pairs:
            out[array_key(key)] = value
        return out

    try:
        value = json.loads(text, object_pairs_hook=obj, parse_int=integer, parse_constant=constant)
    except (ValueError, RecursionError):
        return None
    if SURROGATE.search(text) or ("\\u" in text and _has_surrogate(value)) or _depth(value) > _JSON_DEPTH:
        return None
    return value


def _has_surrogate(value) -> bool:
    if isinstance(value, str):
        return bool(SURROGATE.search(value))
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


def _depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


_JSON_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_JSON_ESCAPED = re.compile('["\\\\\x00-\x1f\u2028\u2029]')


def _php_json_string(text: str) -> str:
    return '"' + _JSON_ESCAPED.sub(lambda m: _JSON_ESCAPES.get(m.group(0)) or f"\\u{ord(m.group(0)):04x}", text) + '"'


def _php_json_float(value: float) -> str:
    """A double as PHP 8 writes it with serialize_precision = -1 (php_gcvt(), 17 digits, shortest)."""
    if math.isinf(value) or math.isnan(value):
        raise ValueError("Inf and NaN cannot be JSON encoded")
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return sign + "0"
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digit_tuple))
    decpt = len(digits) + exponent  # value = 0.<digits> * 10**decpt
    digits = digits.rstrip("0") or "0"
    if (decpt < -3) if decpt < 0 else (decpt > 17):
        power = decpt - 1
        return f"{sign}{digits[0]}.{digits[1:] or '0'}e{'-' if power < 0 else '+'}{abs(power)}"
    if decpt < 0:
        return f"{sign}0.{'0' * -decpt}{digits}"
    whole = digits[:decpt].ljust(decpt, "0")
    fraction = digits[decpt:]
    return f"{sign}{whole or '0'}.{fraction}" if fraction else f"{sign}{whole}"


def json_encode(value) -> str:
    """json_encode($value, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE) of what
    json_decode() gives (after kses); ValueError where PHP returns false."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _php_json_float(value)
    if isinstance(value, str):
        return _php_json_string(value)
    if isinstance(value, list):
        return "[" + ",".join(json_encode(item) for item in value) + "]"
    if list(value) == list(range(len(value))):  # keys 0..n-1 in order: a list
        return "[" + ",".join(json_encode(item) for item in value.values()) + "]"
    return "{" + ",".join(f"{_php_json_string(str(k))}:{json_encode(v)}" for k, v in value.items()) + "}"
