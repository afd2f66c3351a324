"""Logins, nicenames, titles and names as WordPress 6.1 stores them (wp-includes/formatting.php,
user.php's wp_insert_user()), so rows match what wp_insert_user() writes.

* logins: sanitize_user($login, true), and login_candidates(), the unique login wpscim picks for a
  userName WordPress cannot store verbatim (base, base-2, ... within LOGIN_MAX).
* titles and nicenames: remove_accents(), sanitize_title() (sanitize_title_with_dashes(..., 'save')
  with utf8_uri_encode()), and wp_insert_user()'s user_nicename: sanitize_title() of the login's
  first 50 characters (nicename_base()), then -2, -3 ... while taken (nicename_candidates()).
* names: what the pre_user_{display_name,first_name,last_name,nickname} filters store (store_name():
  sanitize_text_field(), wp_filter_kses(), _wp_specialchars(), on wp_slash()ed data as WordPress
  core's callers pass it, then wp_unslash()), the text a browser shows for a stored name
  (read_name(): esc_html()), and wp_insert_user()'s default display_name.
* locales: SCIM's "en-US" is WordPress's "en_US".

PHP semantics kept (see php.py): trim() only strips ASCII whitespace and NUL, regular expressions are
byte-oriented, strip_tags() is PHP's state machine (a "<" followed by whitespace is text), and "0"
is false (PHP's empty()).

Environment: like the reference install (Debian's PHP without the intl and mbstring extensions),
remove_accents() does no Unicode normalisation and sanitize_title() lower-cases ASCII only. With
those extensions WordPress differs only for non-ASCII input there; logins are ASCII (strict
sanitize_user), so nicenames do not depend on it.  Locale-specific transliterations of
remove_accents() (de_*, da_DK, ca, sr_RS, bs_BA: "ä" -> "ae" ...) are not applied: the en_US rules.
"""

from __future__ import annotations

import functools
import html
import re

from wpscim.wordpress import kses, php

LOGIN_MAX = 60
NICENAME_MAX = 50


def _pairs(text: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in text.split())


# remove_accents()'s table (WordPress 6.1, en_US): every other non-ASCII character is kept as is.
_ACCENTS = _pairs(
    "ª=a º=o À=A Á=A Â=A Ã=A Ä=A Å=A Æ=AE Ç=C È=E É=E Ê=E Ë=E Ì=I Í=I Î=I Ï=I Ð=D Ñ=N Ò=O Ó=O Ô=O Õ=O "
    "Ö=O Ù=U Ú=U Û=U Ü=U Ý=Y Þ=TH ß=s à=a á=a â=a ã=a ä=a å=a æ=ae ç=c è=e é=e ê=e ë=e ì=i í=i î=i "
    "ï=i ð=d ñ=n ò=o ó=o ô=o õ=o ö=o ø=o ù=u ú=u û=u ü=u ý=y þ=th ÿ=y Ø=O Ā=A ā=a Ă=A ă=a Ą=A ą=a Ć=C "
    "ć=c Ĉ=C ĉ=c Ċ=C ċ=c Č=C č=c Ď=D ď=d Đ=D đ=d Ē=E ē=e Ĕ=E ĕ=e Ė=E ė=e Ę=E ę=e Ě=E ě=e Ĝ=G ĝ=g Ğ=G "
    "ğ=g Ġ=G ġ=g Ģ=G ģ=g Ĥ=H ĥ=h Ħ=H ħ=h Ĩ=I ĩ=i Ī=I ī=i Ĭ=I ĭ=i Į=I į=i İ=I ı=i Ĳ=IJ ĳ=ij Ĵ=J ĵ=j "
    "Ķ=K ķ=k ĸ=k Ĺ=L ĺ=l Ļ=L ļ=l Ľ=L ľ=l Ŀ=L ŀ=l Ł=L ł=l Ń=N ń=n Ņ=N ņ=n Ň=N ň=n ŉ=n Ŋ=N ŋ=n Ō=O ō=o "
    "Ŏ=O ŏ=o Ő=O ő=o Œ=OE œ=oe Ŕ=R ŕ=r Ŗ=R ŗ=r Ř=R ř=r Ś=S ś=s Ŝ=S ŝ=s Ş=S ş=s Š=S š=s Ţ=T ţ=t Ť=T "
    "ť=t Ŧ=T ŧ=t Ũ=U ũ=u Ū=U ū=u Ŭ=U ŭ=u Ů=U ů=u Ű=U ű=u Ų=U ų=u Ŵ=W ŵ=w Ŷ=Y ŷ=y Ÿ=Y Ź=Z ź=z Ż=Z ż=z "
    "Ž=Z ž=z ſ=s Ș=S ș=s Ț=T ț=t €=E £= Ơ=O ơ=o Ư=U ư=u Ầ=A ầ=a Ằ=A ằ=a Ề=E ề=e Ồ=O ồ=o Ờ=O ờ=o Ừ=U "
    "ừ=u Ỳ=Y ỳ=y Ả=A ả=a Ẩ=A ẩ=a Ẳ=A ẳ=a Ẻ=E ẻ=e Ể=E ể=e Ỉ=I ỉ=i Ỏ=O ỏ=o Ổ=O ổ=o Ở=O ở=o Ủ=U ủ=u Ử=U "
    "ử=u Ỷ=Y ỷ=y Ẫ=A ẫ=a Ẵ=A ẵ=a Ẽ=E ẽ=e Ễ=E ễ=e Ỗ=O ỗ=o Ỡ=O ỡ=o Ữ=U ữ=u Ỹ=Y ỹ=y Ấ=A ấ=a Ắ=A ắ=a Ế=E "
    "ế=e Ố=O ố=o Ớ=O ớ=o Ứ=U ứ=u Ạ=A ạ=a Ậ=A ậ=a Ặ=A ặ=a Ẹ=E ẹ=e Ệ=E ệ=e Ị=I ị=i Ọ=O ọ=o Ộ=O ộ=o Ợ=O "
    "ợ=o Ụ=U ụ=u Ự=U ự=u Ỵ=Y ỵ=y ɑ=a Ǖ=U ǖ=u Ǘ=U ǘ=u Ǎ=A ǎ=a Ǐ=I ǐ=i Ǒ=O ǒ=o Ǔ=U ǔ=u Ǚ=U ǚ=u Ǜ=U ǜ=u "
)
_ACCENTS_TABLE = str.maketrans(_ACCENTS)


# --- remove_accents ------------------------------------------------------------------------------


def remove_accents(text: str) -> str:
    if not any(ord(ch) >= 0x80 for ch in text):
        return text
    return text.translate(_ACCENTS_TABLE)


# --- logins and nicenames ------------------------------------------------------------------------


# Fast paths: texts made only of characters no step of a WordPress filter changes come out as they
# went in (or, for a title, only lower-cased and dashed). The usual IdP values (emails, plain names)
# are such texts. tests/unit/test_properties.py checks each fast path against the full filter, and
# tests/test_naming_oracle.py judges the full filters against WordPress.
_PLAIN_LOGIN = re.compile(r"[A-Za-z0-9_.@-]+(?: [A-Za-z0-9_.@-]+)*")
_PLAIN_TITLE = re.compile(r"[A-Za-z0-9 _.@-]*")
_TITLE_DASHES = re.compile(r"[ -]+")


def sanitize_user(login: str, strict: bool = True) -> str:
    """sanitize_user($login, $strict): strict keeps ASCII letters, digits, space and _ . - @ only (as
    wp_insert_user); not strict is how WP_User::get_data_by('login') looks a login up."""
    if _PLAIN_LOGIN.fullmatch(login):
        return login
    return _sanitize_user(login, strict)


def _sanitize_user(login: str, strict: bool = True) -> str:
    text = php.wp_strip_all_tags(login)
    text = remove_accents(text)
    text = re.sub(r"%[a-fA-F0-9][a-fA-F0-9]", "", text)  # kill octets
    text = re.sub(r"&.+?;", "", text)  # kill entities
    if strict:
        text = re.sub(r"[^a-zA-Z0-9 _.\-@]", "", text)
    text = php.trim(text)
    return re.sub(r"\s+", " ", text, flags=re.A)


def _utf8_uri_encode(text: str, length: int = 0) -> str:
    out: list[str] = []
    used = 0
    values: list[int] = []
    octets = 1
    for byte in text.encode("utf-8", "surrogatepass"):
        if byte < 128:
            if length and used + 1 > length:
                break
            out.append(chr(byte))
            used += 1
        else:
            if not values:
                octets = 2 if byte < 224 else 3 if byte < 240 else 4
            values.append(byte)
            if length and used + octets * 3 > length:
                break
            if len(values) == octets:
                out.extend(f"%{value:x}" for value in values)
                used += octets * 3
                values, octets = [], 1
    return "".join(out)


_TITLE_TO_DASH = ("%c2%a0", "%e2%80%93", "%e2%80%94")
_TITLE_ENTITIES_TO_DASH = ("&nbsp;", "&#160;", "&ndash;", "&#8211;", "&mdash;", "&#8212;")
_TITLE_STRIP = (
    "%c2%ad",
    "%c2%a1",
    "%c2%bf",
    "%c2%ab",
    "%c2%bb",
    "%e2%80%b9",
    "%e2%80%ba",
    "%e2%80%98",
    "%e2%80%99",
    "%e2%80%9c",
    "%e2%80%9d",
    "%e2%80%9a",
    "%e2%80%9b",
    "%e2%80%9e",
    "%e2%80%9f",
    "%e2%80%a2",
    "%c2%a9",
    "%c2%ae",
    "%c2%b0",
    "%e2%80%a6",
    "%e2%84%a2",
    "%c2%b4",
    "%cb%8a",
    "%cc%81",
    "%cd%81",
    "%cc%80",
    "%cc%84",
    "%cc%8c",
    "%e2%80%8b",
    "%e2%80%8c",
    "%e2%80%8d",
    "%e2%80%8e",
    "%e2%80%8f",
    "%e2%80%aa",
    "%e2%80%ab",
    "%e2%80%ac",
    "%e2%80%ad",
    "%e2%80%ae",
    "%ef%bb%bf",
    "%ef%bf%bc",
)
_TITLE_WIDE_SPACES = (
    "%e2%80%80",
    "%e2%80%81",
    "%e2%80%82",
    "%e2%80%83",
    "%e2%80%84",
    "%e2%80%85",
    "%e2%80%86",
    "%e2%80%87",
    "%e2%80%88",
    "%e2%80%89",
    "%e2%80%8a",
    "%e2%80%a8",
    "%e2%80%a9",
    "%e2%80%af",
)


def sanitize_title(title: str) -> str:
    """sanitize_title($title) = sanitize_title_with_dashes(remove_accents($title), '', 'save')."""
    if _PLAIN_TITLE.fullmatch(title):
        return _TITLE_DASHES.sub("-", title[:200].lower().replace(".", "-").replace("@", "")).strip("-")
    return _sanitize_title(title)


def _sanitize_title(title: str) -> str:
    text = php.strip_tags(remove_accents(title))
    text = re.sub(r"%([a-fA-F0-9][a-fA-F0-9])", r"---\1---", text)  # preserve escaped octets
    text = text.replace("%", "")
    text = re.sub(r"---([a-fA-F0-9][a-fA-F0-9])---", r"%\1", text)
    # (mb_strtolower() would run here if PHP had mbstring; see the module docstring)
    text = php.strtolower(_utf8_uri_encode(text, 200))
    text = php.replace_all(text, _TITLE_TO_DASH, "-")
    text = php.replace_all(text, _TITLE_ENTITIES_TO_DASH, "-")
    text = text.replace("/", "-")
    text = php.replace_all(text, _TITLE_STRIP, "")
    text = php.replace_all(text, _TITLE_WIDE_SPACES, "-")
    text = text.replace("%c3%97", "x")
    text = re.sub(r"&.+?;", "", text)
    text = text.replace(".", "-")
    text = re.sub(r"[^%a-z0-9 _-]", "", text)
    text = re.sub(r"\s+", "-", text, flags=re.A)
    text = re.sub(r"-+", "-", text)
    return text.strip("-")


@functools.lru_cache(maxsize=4096)
def nicename_base(login: str) -> str:
    """wp_insert_user(): sanitize_title(mb_substr($user_login, 0, 50))."""
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


# --- names: sanitize_text_field, wp_filter_kses, _wp_specialchars --------------------------------


def _sanitize_text_field(text: str) -> str:
    """_sanitize_text_fields($text, false): tags stripped, whitespace collapsed, octets removed."""
    if php.SURROGATE.search(text):  # wp_check_invalid_utf8(): invalid UTF-8 becomes ''
        return ""
    if "<" in text:
        text = kses.wp_pre_kses_less_than(text)
        text = php.wp_strip_all_tags(text)
        text = text.replace("<\n", "&lt;\n")
    text = php.trim(re.sub(r"[\r\n\t ]+", " ", text))
    found = False
    while match := re.search(r"%[a-f0-9]{2}", text, re.I | re.A):
        text = text.replace(match.group(0), "")
        found = True
    if found:
        text = php.trim(re.sub(r" +", " ", text))
    return text


@functools.lru_cache(maxsize=4096)  # pure, and a create asks for the same names several times
def store_name(text: str) -> str:
    """What the pre_user_{display_name,first_name,last_name,nickname} filters store for a name, as
    core's callers (wp_insert_user() from the REST API, wp_create_user(), profile.php) pass it:
    slashed; sanitize_text_field, wp_filter_kses, _wp_specialchars, then update_user_meta()'s
    wp_unslash(). 'Tom & Jerry' is stored as 'Tom &amp; Jerry'.

    (wp_insert_user() itself treats a raw value of "0" like an empty one: PHP's empty().)"""
    if _PLAIN_NAME.fullmatch(text):
        return text
    return _store_name(text)


# No markup, entities, quotes, backslashes, octets, control characters, lone surrogates, nor
# leading, trailing or repeated spaces: nothing in store_name()'s filters applies.
_PLAIN_NAME = re.compile(r"[^\x00-\x20\x7f\\'\"<>&%\ud800-\udfff]+(?: [^\x00-\x20\x7f\\'\"<>&%\ud800-\udfff]+)*")


def _store_name(text: str) -> str:
    text = _sanitize_text_field(php.addslashes(text))
    text = php.addslashes(kses.wp_kses(php.stripslashes(text)))  # wp_filter_kses()
    text = kses.wp_specialchars(text)
    return php.stripslashes(text)


def read_name(stored: str) -> str:
    """The text a browser shows for a stored name: WordPress prints it through esc_html() /
    esc_attr(), which keep its entities (and escape a stray '&', '<' ...), then the browser decodes."""
    if not kses.SPECIAL_CHARS.search(stored):
        return stored  # the common case: nothing to escape or decode
    return html.unescape(kses.esc_html(stored))


def _php_true(value: str | None) -> bool:
    return bool(value) and value != "0"


def default_display_name(login: str, first: str, last: str) -> str:
    """wp_insert_user()'s display_name for a new user without one (PHP truthiness: "0" is false)."""
    if _php_true(first) and _php_true(last):
        return f"{first} {last}"
    if _php_true(first):
        return first
    if _php_true(last):
        return last
    return login


# --- locales -------------------------------------------------------------------------------------


# WordPress loads languages/<locale>.mo (and, from 6.5, includes <locale>.l10n.php) for a user's
# locale, and prints it in its screens: a dot, a slash or markup in one would name a file outside the
# languages folder or plant markup. Letters, digits, '-' and '_' name at most a file that is not there
# (WordPress then speaks the site's language), so any such value is kept, as SCIM clients expect.
_LOCALE = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)


def is_locale(text: str) -> bool:
    return _LOCALE.fullmatch(text) is not None


def scim_locale(wp_locale: str) -> str:
    return wp_locale.replace("_", "-")


def wp_locale(scim: str) -> str:
    return scim.replace("-", "_")
