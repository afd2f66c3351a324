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
* the other fields wp_insert_user() filters, passed slashed through their pre_user_* filters, then
  wp_unslash(): user_url (store_url(): wp_strip_all_tags(), esc_url($url, null, 'db') with a port
  of PHP's parse_url() where it uses it, wp_filter_kses(); url_fits()), user_email (store_email(),
  is_email()) and the description (store_description(); it may raise kses.Unstorable).

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


def sanitize_user(login: str) -> str:
    """sanitize_user($login, strict=true): ASCII letters, digits, space and _ . - @ only."""
    if _PLAIN_LOGIN.fullmatch(login):
        return login
    return _sanitize_user(login)


def _sanitize_user(login: str) -> str:
    text = php.wp_strip_all_tags(login)
    text = remove_accents(text)
    text = re.sub(r"%[a-fA-F0-9][a-fA-F0-9]", "", text)  # kill octets
    text = re.sub(r"&.+?;", "", text)  # kill entities
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
    "%c2%ad", "%c2%a1", "%c2%bf", "%c2%ab", "%c2%bb", "%e2%80%b9", "%e2%80%ba", "%e2%80%98", "%e2%80%99",
    "%e2%80%9c", "%e2%80%9d", "%e2%80%9a", "%e2%80%9b", "%e2%80%9e", "%e2%80%9f", "%e2%80%a2", "%c2%a9",
    "%c2%ae", "%c2%b0", "%e2%80%a6", "%e2%84%a2", "%c2%b4", "%cb%8a", "%cc%81", "%cd%81", "%cc%80", "%cc%84",
    "%cc%8c", "%e2%80%8b", "%e2%80%8c", "%e2%80%8d", "%e2%80%8e", "%e2%80%8f", "%e2%80%aa", "%e2%80%ab",
    "%e2%80%ac", "%e2%80%ad", "%e2%80%ae", "%ef%bb%bf", "%ef%bf%bc",
)
_TITLE_WIDE_SPACES = (
    "%e2%80%80", "%e2%80%81", "%e2%80%82", "%e2%80%83", "%e2%80%84", "%e2%80%85", "%e2%80%86", "%e2%80%87",
    "%e2%80%88", "%e2%80%89", "%e2%80%8a", "%e2%80%a8", "%e2%80%a9", "%e2%80%af",
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


def scim_locale(wp_locale: str) -> str:
    return wp_locale.replace("_", "-")


def wp_locale(scim: str) -> str:
    return scim.replace("-", "_")


# --- user_url: pre_user_url, esc_url, parse_url --------------------------------------------------

URL_MAX = 100  # wp_insert_user() refuses a user_url whose filtered, slashed value is longer (user_url_too_long)


@functools.lru_cache(maxsize=4096)
def store_url(text: str) -> str:
    """What wp_insert_user() stores as user_url for `text`, passed slashed as core's callers do: the
    pre_user_url filters (wp_strip_all_tags, sanitize_url = esc_url($url, null, 'db'),
    wp_filter_kses), then the row's wp_unslash(). 'example.com' is stored as 'http://example.com',
    'javascript:alert(1)' as '', 'http://x.test/?a=1&b=2' as 'http://x.test/?a=1&amp;b=2'.

    (wp_insert_user() takes a raw "0" as empty, PHP's empty(): it stores ''. It refuses a value that
    url_fits() does not accept. A lone surrogate in `text` is kept where PHP would keep its bytes;
    WordPress's wpdb then refuses to write the row, as it is not valid UTF-8.)"""
    if _PLAIN_URL.fullmatch(text):
        return text
    return _store_url(text)


# An http(s) URL of characters no step changes: no markup, quotes, backslashes, spaces, "&" (kses
# would make it "&amp;"), ";" (";//"), brackets (re-encoded), nor a %0d / %0a that esc_url() strips.
_PLAIN_URL = re.compile(r"https?://(?!.*%0[adAD])[A-Za-z0-9\-._~:/?#@!$()*+,=%]*")


def _store_url(text: str) -> str:
    url = php.wp_strip_all_tags(php.addslashes(text))
    url = _esc_url_db(url)
    return kses.wp_kses(php.stripslashes(url))  # wp_filter_kses(), whose addslashes() the row's wp_unslash() undoes


def url_fits(stored: str) -> bool:
    """Whether wp_insert_user() accepts a user_url that store_url() gave: it measures the filtered
    value while it is still slashed (mb_strlen($user_url) > 100 is user_url_too_long)."""
    return len(php.addslashes(stored)) <= URL_MAX


# esc_url()'s '|[^a-z0-9-~+_.?#=!&;,/:%@$\|*\'()\[\]\x80-\xff]|i' ("0-9-~" is 0-9, "-" and "~";
# every byte of a non-ASCII character is in \x80-\xff).
_URL_STRIP = re.compile(r"[^a-zA-Z0-9\-~+_.?#=!&;,/:%@$|*'()\[\]\x80-\U0010ffff]")
_URL_CRLF = ("%0d", "%0a", "%0D", "%0A")
_PHP_FILE = re.compile(r"[a-z0-9-]+?\.php", re.I | re.A)


def _deep_replace(needles, text: str) -> str:
    """_deep_replace(): str_replace() with '' until nothing is replaced any more."""
    while True:
        replaced = php.replace_all(text, needles, "")
        if replaced == text:
            return text
        text = replaced


def _esc_url_db(url: str) -> str:
    """esc_url($url, null, 'db'), i.e. sanitize_url() / esc_url_raw(): no entity normalisation here,
    that is the display context's."""
    if url == "":
        return url
    url = url.lstrip(php.TRIM_CHARS).replace(" ", "%20")
    url = _URL_STRIP.sub("", url)
    if url == "":
        return url
    if php.strtolower(url[:7]) != "mailto:":  # stripos($url, 'mailto:') !== 0
        url = _deep_replace(_URL_CRLF, url)
    url = url.replace(";//", "://")
    # (_deep_replace() may have emptied it: PHP's $url[0] is then '' with a warning)
    if ":" not in url and url[:1] not in ("/", "#", "?") and not _PHP_FILE.match(url):
        url = "http://" + url
    if "[" in url or "]" in url:
        url = _encode_brackets(url)
    if url[0] == "/":
        return url
    good = kses.wp_kses_bad_protocol(url)
    if php.strtolower(good) != php.strtolower(url):
        return ""
    return good  # (the clean_url filter: nothing is hooked to it)


def _encode_brackets(url: str) -> str:
    """esc_url(): '[' and ']' after the scheme, user, password, host and port become %5B / %5D."""
    parsed = _wp_parse_url(url) or {}
    front = ""
    if "scheme" in parsed:
        front += parsed["scheme"] + "://"
    elif url[0] == "/":
        front += "//"
    if "user" in parsed:
        front += parsed["user"]
    if "pass" in parsed:
        front += ":" + parsed["pass"]
    if "user" in parsed or "pass" in parsed:
        front += "@"
    if "host" in parsed:
        front += parsed["host"]
    if "port" in parsed:
        front += f":{parsed['port']}"
    end_dirty = url.replace(front, "") if front else url  # (PHP's str_replace() with '' does nothing)
    end_clean = end_dirty.replace("[", "%5B").replace("]", "%5D")
    return url.replace(end_dirty, end_clean) if end_dirty else url


def _wp_parse_url(url: str) -> dict | None:
    """wp_parse_url(): parse_url(), with placeholders for a '//host' or '/path' URL."""
    unset: tuple[str, ...] = ()
    if url[:2] == "//":
        unset, url = ("scheme",), "placeholder:" + url
    elif url[:1] == "/":
        unset, url = ("scheme", "host"), "placeholder://placeholder" + url
    parts = _parse_url(url)
    if parts is None:
        return None
    for key in unset:
        parts.pop(key, None)
    return parts


def _isalpha(c: str) -> bool:
    return "a" <= c <= "z" or "A" <= c <= "Z"


def _isdigit(c: str) -> bool:
    return "0" <= c <= "9"


def _strtol_port(digits: str) -> int | None:
    """ZEND_STRTOL(port_buf) checked as parse_url() does: None when it is no port (0-65535)."""
    m = re.match(r"[ \t\n\v\f\r]*([+-]?[0-9]+)", digits)
    if not m:
        return None
    port = int(m.group(1))
    return port if 0 <= port <= 65535 else None


def _parse_url(url: str) -> dict | None:
    """PHP 8.2's parse_url() (php_url_parse_ex2), for the parts esc_url() uses: scheme, user, pass,
    host, port; None where PHP returns false. Control characters are gone before it runs here
    (esc_url() stripped them), so php_replace_controlchars() has nothing to do."""
    ret: dict = {}
    s, ue = 0, len(url)

    def strcspn(start: int, end: int, chars: str) -> int:
        for ch in chars:
            found = url.find(ch, start, end)
            if found != -1:
                end = found
        return end

    e = url.find(":")
    goto = "parse_host"
    if e > 0:  # (memchr() found a ':' that is not the first character)
        p = s
        bad_scheme = False
        while p < e:
            c = url[p]
            if not _isalpha(c) and not _isdigit(c) and c not in "+.-":
                if e + 1 < ue and e < strcspn(s, ue, "?#"):
                    goto = "parse_port"
                elif s + 1 < ue and url[s] == "/" and url[s + 1] == "/":
                    s += 2
                    e = -1
                    goto = "parse_host"
                else:
                    goto = "just_path"
                bad_scheme = True
                break
            p += 1
        if not bad_scheme:
            if e + 1 == ue:
                ret["scheme"] = url[s:e]
                return ret
            if url[e + 1] != "/":
                p = e + 1
                while p < ue and _isdigit(url[p]):
                    p += 1
                if (p == ue or url[p] == "/") and (p - e) < 7:
                    goto = "parse_port"
                else:
                    ret["scheme"] = url[s:e]
                    s = e + 1
                    goto = "just_path"
            else:
                ret["scheme"] = url[s:e]
                if e + 2 < ue and url[e + 2] == "/":
                    s = e + 3
                    if ret["scheme"].lower() == "file" and e + 3 < ue and url[e + 3] == "/":
                        if e + 5 < ue and url[e + 5] == ":":
                            s = e + 4
                        goto = "just_path"
                else:
                    s = e + 1
                    goto = "just_path"
    elif e == 0:
        goto = "parse_port"
    elif s + 1 < ue and url[s] == "/" and url[s + 1] == "/":
        s += 2
    else:
        goto = "just_path"

    if goto == "parse_port":
        p = e + 1
        pp = p
        while pp < ue and pp - p < 6 and _isdigit(url[pp]):
            pp += 1
        if 0 < pp - p < 6 and (pp == ue or url[pp] == "/"):
            port = _strtol_port(url[p:pp])
            if port is None:
                return None
            ret["port"] = port
            if s + 1 < ue and url[s] == "/" and url[s + 1] == "/":
                s += 2
            goto = "parse_host"
        elif p == pp and pp == ue:
            return None
        elif s + 1 < ue and url[s] == "/" and url[s + 1] == "/":
            s += 2
            goto = "parse_host"
        else:
            goto = "just_path"

    if goto == "parse_host":
        e = strcspn(s, ue, "/?#")
        p = url.rfind("@", s, e)
        if p != -1:
            pp = url.find(":", s, p)
            if pp != -1:
                ret["user"] = url[s:pp]
                ret["pass"] = url[pp + 1 : p]
            else:
                ret["user"] = url[s:p]
            s = p + 1
        if s < ue and url[s] == "[" and url[e - 1] == "]":
            p = -1  # an IPv6 address: no port scan
        else:
            p = url.rfind(":", s, e)
        if p != -1:
            if not ret.get("port"):
                p += 1
                if e - p > 5:
                    return None
                if e - p > 0:
                    port = _strtol_port(url[p:e])
                    if port is None:
                        return None
                    ret["port"] = port
                p -= 1
        else:
            p = e
        if p - s < 1:
            return None
        ret["host"] = url[s:p]
    # (just_path: path, query and fragment are not needed by esc_url())
    return ret


# --- user_email: pre_user_email, sanitize_email, is_email ----------------------------------------


@functools.lru_cache(maxsize=4096)
def store_email(text: str) -> str:
    """What wp_insert_user() stores as user_email for `text`, passed slashed: the pre_user_email
    filters (trim, sanitize_email, wp_filter_kses), then the row's wp_unslash(). An address that
    sanitize_email() cannot repair becomes '' ('a b@example.com' is stored as 'ab@example.com',
    'x@localhost' as ''); kses escapes a bare '&' in it ('a&b@example.com' -> 'a&amp;b@example.com').

    (wp_insert_user() takes a raw "0" as empty and does not check the address: is_email() is the
    test its own callers make. wpdb refuses a user_email longer than the column, 100 characters.)"""
    if len(text) >= 6 and _PLAIN_EMAIL.fullmatch(text):
        return text
    return _store_email(text)


EMAIL_MAX = 100  # wp_users.user_email is varchar(100): wpdb refuses to write a longer one

# Six characters or more (checked by the caller) of what sanitize_email() keeps and kses leaves alone,
# one '@', and a domain of two or more labels with no leading or trailing hyphen.
_PLAIN_EMAIL = re.compile(r"[A-Za-z0-9._+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")


def _store_email(text: str) -> str:
    email = _sanitize_email(php.trim(php.addslashes(text)))
    return kses.wp_kses(php.stripslashes(email))  # wp_filter_kses(), whose addslashes() the row's wp_unslash() undoes


_EMAIL_LOCAL_STRIP = re.compile(r"[^a-zA-Z0-9!#$%&'*+/=?^_`{|}~.\-]")
_EMAIL_LOCAL = re.compile(r"^[a-zA-Z0-9!#$%&'*+/=?^_`{|}~.\-]+$")  # ("$" also before a final "\n", as in PCRE)
_EMAIL_SUB = re.compile(r"^[a-z0-9-]+$", re.I | re.A)
_EMAIL_SUB_STRIP = re.compile(r"[^a-z0-9-]+", re.I | re.A)


def _sanitize_email(email: str) -> str:
    """sanitize_email()."""
    if php.strlen(email) < 6:
        return ""
    if email.find("@", 1) == -1:  # strpos($email, '@', 1): an '@' after the first byte
        return ""
    local, domain = email.split("@", 1)
    local = _EMAIL_LOCAL_STRIP.sub("", local)
    if local == "":
        return ""
    domain = re.sub(r"\.{2,}", "", domain)
    if domain == "":
        return ""
    domain = php.trim(domain, php.TRIM_CHARS + ".")
    if domain == "":
        return ""
    subs = domain.split(".")
    if len(subs) < 2:
        return ""
    kept = [sub for sub in (_EMAIL_SUB_STRIP.sub("", php.trim(sub, php.TRIM_CHARS + "-")) for sub in subs) if sub != ""]
    if len(kept) < 2:
        return ""
    return f"{local}@{'.'.join(kept)}"


def is_email(text: str) -> bool:
    """WordPress's is_email(): whether WordPress (the REST API, the profile screen) accepts `text`
    as an address. It does not grok IDN domains, quoted local parts nor IP literals."""
    if php.strlen(text) < 6 or text.find("@", 1) == -1:
        return False
    local, domain = text.split("@", 1)
    if not _EMAIL_LOCAL.match(local):
        return False
    if re.search(r"\.{2,}", domain):
        return False
    if php.trim(domain, php.TRIM_CHARS + ".") != domain:
        return False
    subs = domain.split(".")
    if len(subs) < 2:
        return False
    return all(php.trim(sub, php.TRIM_CHARS + "-") == sub and _EMAIL_SUB.match(sub) for sub in subs)


# --- description: pre_user_description -----------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def store_description(text: str) -> str:
    """The description meta wp_insert_user() stores for `text`, passed slashed: pre_user_description's
    wp_filter_kses (its tags are $allowedtags and rel on <a>), then update_user_meta()'s
    wp_unslash(). '<script>x</script>' is stored as 'x', '<a href="javascript:x">' as '<a href="x">'.

    This is the value get_user_meta() reads back: update_user_meta() serializes a text that
    already looks serialized (maybe_serialize(): 'i:1;' is written as 's:4:"i:1;";').
    (wp_insert_user() takes a raw "0" as empty. A lone surrogate in `text` may be kept where PHP
    would keep its bytes; WordPress's wpdb then refuses to write the meta row.)"""
    if _PLAIN_DESCRIPTION.fullmatch(text):
        return text
    return _store_description(text)


# No markup, "&" nor control characters that wp_kses_no_null() removes: nothing in wp_kses() applies.
_PLAIN_DESCRIPTION = re.compile(r"[^<>&\x00-\x08\x0b\x0c\x0e-\x1f]*")


def _store_description(text: str) -> str:
    # wp_filter_kses(wp_slash($text)) = addslashes(wp_kses(stripslashes(addslashes($text)))), unslashed.
    return kses.wp_kses(php.stripslashes(php.addslashes(text)), kses.DESCRIPTION_TAGS)
