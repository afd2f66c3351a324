"""The other user fields wp_insert_user() filters (WordPress 6.1, wp-includes/user.php,
formatting.php, kses.php, http.php), so rows match what it writes: user_url, user_email and the
description meta, each passed slashed as WordPress core's callers pass it, through its pre_user_*
filters, then wp_unslash().

* user_url: store_url(): wp_strip_all_tags(), sanitize_url() = esc_url($url, null, 'db') (with
  _deep_replace(), wp_parse_url() and a port of PHP 8.2's parse_url() for the parts esc_url()
  uses), wp_filter_kses(); url_fits(): wp_insert_user()'s user_url_too_long check (URL_MAX).
* user_email: store_email(): trim(), sanitize_email(), wp_filter_kses(); is_email(), the check
  WordPress's own callers make; EMAIL_MAX, the column's size.
* description: store_description(): wp_filter_kses() with pre_user_description's tags (it may
  raise kses.Unstorable, where WordPress fails on the input).

PHP semantics kept (see php.py): trim() strips ASCII whitespace and NUL only, strlen() counts bytes,
regular expressions are byte-oriented (esc_url()'s \\x80-\\xff is every non-ASCII character),
parse_url() scans as PHP's C code does, and a raw "0" is empty to wp_insert_user() (the callers'
concern: these functions are given non-empty values).

Each store_*() returns early for text none of its steps changes (the usual http(s) URLs, plain
addresses, descriptions without markup); tests/unit/test_properties.py checks those fast paths
against the full filters, and tests/test_naming_oracle.py judges the full filters against WordPress.
"""

from __future__ import annotations

import functools
import re

from wpscim.wordpress import kses, php

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
