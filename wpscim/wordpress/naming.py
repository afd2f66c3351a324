"""WordPress's naming rules, ported from wp-includes/formatting.php, so rows match what wp_insert_user() writes."""

from __future__ import annotations

import html
import re
import unicodedata

LOGIN_MAX = 60
NICENAME_MAX = 50

# remove_accents() transliterations that Unicode decomposition does not give.
_SPECIAL = {
    "ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ł": "l", "Ł": "L",
    "þ": "th", "Þ": "TH", "ð": "d", "Ð": "D", "œ": "oe", "Œ": "OE", "ħ": "h", "Ħ": "H", "ı": "i",
    "ŋ": "n", "Ŋ": "N", "ŧ": "t", "Ŧ": "T", "ĸ": "k", "ſ": "s",
}
_TAGS = re.compile(r"<(script|style)[^>]*?>.*?</\1>|<[^>]*>", re.I | re.S)
_OCTETS = re.compile(r"%[a-fA-F0-9][a-fA-F0-9]")
_ENTITIES = re.compile(r"&.+?;")


def remove_accents(text: str) -> str:
    text = "".join(_SPECIAL.get(ch, ch) for ch in text)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def strip_all_tags(text: str) -> str:
    return _TAGS.sub("", text)


def sanitize_user(login: str) -> str:
    """sanitize_user($login, strict=true): ASCII letters, digits, space and _ . - @ only."""
    text = strip_all_tags(login)
    text = remove_accents(text)
    text = _OCTETS.sub("", text)
    text = _ENTITIES.sub("", text)
    text = re.sub(r"[^a-zA-Z0-9 _.\-@]", "", text)
    text = text.strip()
    return re.sub(r"\s+", " ", text)


def sanitize_title(title: str) -> str:
    """sanitize_title_with_dashes($title, '', 'save') for an already-ASCII login."""
    text = strip_all_tags(remove_accents(title)).lower()
    text = re.sub(r"%(?![a-f0-9]{2})", "", text)
    text = _ENTITIES.sub("", text)
    text = text.replace(".", "-")
    text = re.sub(r"[^%a-z0-9 _-]", "", text)
    text = re.sub(r"\s+", "-", text)
    text = re.sub(r"-+", "-", text)
    return text.strip("-")


def nicename_base(login: str) -> str:
    return sanitize_title(login[:NICENAME_MAX])


def nicename_candidates(base: str):
    """base, then base[:49-len(n)] + '-n' for n = 2, 3, … (wp_insert_user's rule)."""
    yield base
    suffix = 2
    while True:
        yield f"{base[: 49 - len(str(suffix))]}-{suffix}"
        suffix += 1


def login_candidates(base: str):
    """A unique login for a userName WordPress cannot store verbatim: base, base-2, base-3 … within 60 chars."""
    yield base[:LOGIN_MAX]
    suffix = 2
    while True:
        yield f"{base[: LOGIN_MAX - 1 - len(str(suffix))]}-{suffix}"
        suffix += 1


def _sanitize_text_field(text: str) -> str:
    """_sanitize_text_fields(): tags stripped, line breaks and runs of whitespace collapsed, octets removed."""
    if "<" in text:
        text = re.sub(r"<(?=[^a-zA-Z/!?])", "&lt;", text)  # wp_pre_kses_less_than for a stray '<'
        text = strip_all_tags(text)
    text = re.sub(r"[\r\n\t ]+", " ", text).strip()
    found = True
    while found:
        found = False
        new = _OCTETS.sub("", text)
        if new != text:
            text, found = new, True
    return text.strip()


_VALID_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


def store_name(text: str) -> str:
    """The pre_user_{display_name,first_name,last_name,nickname} filters: sanitize_text_field,
    wp_filter_kses, _wp_specialchars — so 'Tom & Jerry' is stored as 'Tom &amp; Jerry'."""
    text = _sanitize_text_field(text)
    out, pos = [], 0
    for match in _VALID_ENTITY.finditer(text):
        out.append(_escape(text[pos : match.start()]))
        out.append(match.group(0))
        pos = match.end()
    out.append(_escape(text[pos:]))
    return "".join(out)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def read_name(stored: str) -> str:
    return html.unescape(stored)


def default_display_name(login: str, first: str, last: str) -> str:
    if first and last:
        return f"{first} {last}"
    return first or last or login


def scim_locale(wp_locale: str) -> str:
    return wp_locale.replace("_", "-")


def wp_locale(scim: str) -> str:
    return scim.replace("-", "_")
