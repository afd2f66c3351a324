"""WordPress's naming rules, ported from WordPress 6.1 (wp-includes/formatting.php, kses.php) as it
runs on PHP 8.2, so rows match what wp_insert_user() writes: logins, nicenames and names, and the
other fields it filters: user_url, user_email and the description (store_url, store_email,
store_description). kses's pre_kses filter wp_pre_kses_block_attributes() is ported too
(blocks.php's block parser and serializer, PHP's json_decode()/json_encode() of block
attributes), and so is PHP's parse_url() where esc_url() uses it.

The ports follow the PHP code step by step, PHP's own semantics included (php.py: trim() only
strips " \\t\\n\\r\\v\\0", regular expressions are byte-oriented, strip_tags() is PHP's state
machine), and the pre_user_* name filters run on wp_slash()ed data, as WordPress core's callers pass it.

Environment: like the reference install (Debian's PHP without the intl and mbstring extensions),
remove_accents() does no Unicode normalisation and sanitize_title() lower-cases ASCII only. With
those extensions WordPress differs only for non-ASCII input there; logins are ASCII (strict
sanitize_user), so nicenames do not depend on it.  Locale-specific transliterations of
remove_accents() (de_*, da_DK, ca, sr_RS, bs_BA: "ä" -> "ae" ...) are not applied: the en_US rules.
Debian's WordPress 6.1 package carries later security fixes, and so do the ports:
filter_block_content()'s "--->" rewrite (6.2.1) and its check of a template part's tagName (6.5.5).
"""

from __future__ import annotations

import functools
import html
import re

from wpscim.wordpress import php

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

_ALLOWED_ENTITY_NAMES = frozenset((
    "nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn "
    "acute micro para middot cedil ordm raquo iquest Agrave Aacute Acirc Atilde Auml Aring AElig "
    "Ccedil Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute Ocirc Otilde "
    "Ouml times Oslash Ugrave Uacute Ucirc Uuml Yacute THORN szlig agrave aacute acirc atilde auml "
    "aring aelig ccedil egrave eacute ecirc euml igrave iacute icirc iuml eth ntilde ograve oacute "
    "ocirc otilde ouml divide oslash ugrave uacute ucirc uuml yacute thorn yuml quot amp lt gt apos "
    "OElig oelig Scaron scaron Yuml circ tilde ensp emsp thinsp zwnj zwj lrm rlm ndash mdash lsquo "
    "rsquo sbquo ldquo rdquo bdquo dagger Dagger permil lsaquo rsaquo euro fnof Alpha Beta Gamma "
    "Delta Epsilon Zeta Eta Theta Iota Kappa Lambda Mu Nu Xi Omicron Pi Rho Sigma Tau Upsilon Phi Chi "
    "Psi Omega alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi "
    "rho sigmaf sigma tau upsilon phi chi psi omega thetasym upsih piv bull hellip prime Prime oline "
    "frasl weierp image real trade alefsym larr uarr rarr darr harr crarr lArr uArr rArr dArr hArr "
    "forall part exist empty nabla isin notin ni prod sum minus lowast radic prop infin ang and or "
    "cap cup int sim cong asymp ne equiv le ge sub sup nsub sube supe oplus otimes perp sdot lceil "
    "rceil lfloor rfloor lang rang loz spades clubs hearts diams sup1 sup2 sup3 frac14 frac12 frac34 "
    "there4 "
).split())

_ACCENTS_TABLE = str.maketrans(_ACCENTS)

# $allowedtags: what wp_kses() keeps in the pre_user_* name filters (context = the filter name).
_ALLOWED_TAGS: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "title"}), "abbr": frozenset({"title"}), "acronym": frozenset({"title"}),
    "b": frozenset(), "blockquote": frozenset({"cite"}), "cite": frozenset(), "code": frozenset(),
    "del": frozenset({"datetime"}), "em": frozenset(), "i": frozenset(), "q": frozenset({"cite"}),
    "s": frozenset(), "strike": frozenset(), "strong": frozenset(),
}
# wp_kses_allowed_html('pre_user_description'): $allowedtags, and rel on <a>.
_DESCRIPTION_TAGS = {**_ALLOWED_TAGS, "a": _ALLOWED_TAGS["a"] | {"rel"}}
# htmlspecialchars(..., double_encode=false) keeps only HTML 4.01 entities: all of the above but &apos;.
_HTML401_ENTITY_NAMES = _ALLOWED_ENTITY_NAMES - {"apos"}
_ALLOWED_PROTOCOLS = frozenset(
    "http https ftp ftps mailto news irc irc6 ircs gopher nntp feed telnet mms rtsp sms svn tel fax xmpp webcal urn".split()
)
_URI_ATTRIBUTES = frozenset(
    "action archive background cite classid codebase data formaction href icon longdesc manifest poster profile src "
    "usemap xmlns".split()
)


def remove_accents(text: str) -> str:
    if not any(ord(ch) >= 0x80 for ch in text):
        return text
    return text.translate(_ACCENTS_TABLE)


# --- logins and nicenames ------------------------------------------------------------------------


# Fast paths: texts made only of characters no step of a WordPress filter changes come out as they
# went in (or, for a title, only lower-cased and dashed). The usual IdP values (emails, plain names)
# are such texts. tests/test_properties.py checks each fast path against the full filter, and
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


# --- names: sanitize_text_field, wp_filter_kses, _wp_specialchars ---------------------------------


def _valid_unicode(i: int) -> bool:
    return i in (0x9, 0xA, 0xD) or 0x20 <= i <= 0xD7FF or 0xE000 <= i <= 0xFFFD or 0x10000 <= i <= 0x10FFFF


def _named_entity(m: re.Match) -> str:
    name = m.group(1)
    return f"&{name};" if name in _ALLOWED_ENTITY_NAMES else f"&amp;{name};"


def _decimal_entity(m: re.Match) -> str:
    digits = m.group(1)
    if digits in ("", "0"):  # PHP empty()
        return ""
    if _valid_unicode(int(digits)):
        return f"&#{digits.lstrip('0').rjust(3, '0')};"
    return f"&amp;#{digits};"


def _hex_entity(m: re.Match) -> str:
    digits = m.group(1)
    if digits in ("", "0"):
        return ""
    if not _valid_unicode(int(digits, 16)):
        return f"&amp;#x{digits};"
    return f"&#x{digits.lstrip('0')};"


def _normalize_entities(text: str) -> str:
    """wp_kses_normalize_entities(): every & becomes &amp; unless it starts a known entity."""
    text = text.replace("&", "&amp;")
    text = re.sub(r"&amp;([A-Za-z]{2,8}[0-9]{0,2});", _named_entity, text)
    text = re.sub(r"&amp;#(0*[0-9]{1,7});", _decimal_entity, text)
    return re.sub(r"&amp;#[Xx](0*[0-9A-Fa-f]{1,6});", _hex_entity, text)


_SPECIALCHARS = re.compile(r"&(?:#([xX][0-9a-fA-F]+|[0-9]+);|([A-Za-z0-9]+);)?|[<>\"']")


def _htmlspecialchars(text: str, quotes: bool) -> str:
    """htmlspecialchars($text, ENT_QUOTES or ENT_NOQUOTES, 'UTF-8', double_encode=false)."""

    def one(m: re.Match) -> str:
        token = m.group(0)
        if token == "<":
            return "&lt;"
        if token == ">":
            return "&gt;"
        if token in ("\"", "'"):
            return token if not quotes else "&quot;" if token == "\"" else "&#039;"
        number, name = m.group(1), m.group(2)
        if number is not None:
            value = int(number[1:], 16) if number[0] in "xX" else int(number)
            if value <= 0x10FFFF:
                return token
        elif name is not None and name in _HTML401_ENTITY_NAMES:
            return token
        return "&amp;" + token[1:]

    return _SPECIALCHARS.sub(one, text)


_SPECIAL_CHARS = re.compile(r"[&<>\"']")


def _wp_specialchars(text: str, quotes: bool = False) -> str:
    if not text:
        return ""
    if not _SPECIAL_CHARS.search(text):
        return text
    return _htmlspecialchars(_normalize_entities(text), quotes)


def _esc_html(text: str) -> str:
    return _wp_specialchars(text, quotes=True)


def _pre_kses_less_than(text: str) -> str:
    """wp_pre_kses_less_than(): a '<' that never gets to a '>' is escaped (esc_html(): its
    wp_check_invalid_utf8() makes a piece that is not valid UTF-8, a lone surrogate here, '')."""

    def one(m: re.Match) -> str:
        piece = m.group(0)
        if ">" in piece:
            return piece
        return "" if php.SURROGATE.search(piece) else _esc_html(piece)

    return re.sub(r"<[^>]*?((?=<)|>|$)", one, text)


def _sanitize_text_field(text: str) -> str:
    """_sanitize_text_fields($text, false): tags stripped, whitespace collapsed, octets removed."""
    if php.SURROGATE.search(text):  # wp_check_invalid_utf8(): invalid UTF-8 becomes ''
        return ""
    if "<" in text:
        text = _pre_kses_less_than(text)
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


def _kses_no_null(text: str, keep_slash_zero: bool = True) -> str:
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", text)
    return text if keep_slash_zero else re.sub(r"\\+0+", "", text)


def _kses_decode_entities(text: str) -> str:
    text = re.sub(r"&#([0-9]+);", lambda m: chr(int(m.group(1)) % 256), text)
    return re.sub(r"&#[Xx]([0-9A-Fa-f]+);", lambda m: chr(int(m.group(1), 16) % 256), text)


def _bad_protocol_once2(scheme: str) -> str:
    scheme = _kses_no_null(re.sub(r"\s", "", _kses_decode_entities(scheme), flags=re.A), keep_slash_zero=False)
    scheme = php.strtolower(scheme)
    return f"{scheme}:" if scheme in _ALLOWED_PROTOCOLS else ""


def _bad_protocol_once(text: str, count: int = 1) -> str:
    text = re.sub(r"(&#0*58(?![;0-9])|&#x0*3a(?![;a-f0-9]))", r"\1;", text, flags=re.I | re.A)
    parts = re.split(r":|&#0*58;|&#x0*3a;|&colon;", text, maxsplit=1, flags=re.I | re.A)
    if len(parts) == 2 and "/?" not in parts[0]:
        text = php.trim(parts[1])
        protocol = _bad_protocol_once2(parts[0])
        if protocol == "feed:":
            if count > 2:
                return ""
            text = _bad_protocol_once(text, count + 1)
            if text in ("", "0"):
                return text
        text = protocol + text
    return text


def _bad_protocol(text: str) -> str:
    text = _kses_no_null(text, keep_slash_zero=False)
    iterations = 0
    while True:
        original = text
        text = _bad_protocol_once(text)
        iterations += 1
        if original == text or iterations >= 6:
            break
    return "" if original != text else text


_HTML_ERROR = re.compile(r"^(\"[^\"]*(\"|$)|'[^']*('|$)|\S)*\s*", re.A)


def _kses_hair(attr: str) -> dict[str, str]:
    """wp_kses_hair(): attribute name -> its (protocol-checked) 'whole' text, first one wins."""
    found: dict[str, str] = {}
    mode, name = 0, ""
    while attr:
        working = False
        if mode == 0:
            m = re.match(r"[_a-zA-Z][-_a-zA-Z0-9:.]*", attr)
            if m:
                name, working, mode, attr = m.group(0), True, 1, attr[m.end() :]
        elif mode == 1:
            m = re.match(r"\s*=\s*", attr, re.A)
            if m:
                working, mode, attr = True, 2, attr[m.end() :]
            else:
                m = re.match(r"\s+", attr, re.A)
                if m:
                    working, mode = True, 0
                    found.setdefault(name, name)
                    attr = attr[m.end() :]
        else:
            for value_re, rest_re, quote in (
                (r"\"([^\"]*)\"(\s+|/?$)", r"^\"[^\"]*\"(\s+|$)", "\""),
                (r"'([^']*)'(\s+|/?$)", r"^'[^']*'(\s+|$)", "'"),
                (r"([^\s\"']+)(\s+|/?$)", r"^[^\s\"']+(\s+|$)", "\""),
            ):
                m = re.match(value_re, attr, re.A)
                if m:
                    value = m.group(1)
                    if name.lower() in _URI_ATTRIBUTES:
                        value = _bad_protocol(value)
                    found.setdefault(name, f"{name}={quote}{value}{quote}")
                    working, mode = True, 0
                    attr = re.sub(rest_re, "", attr, count=1, flags=re.A)
                    break
        if not working:  # not well-formed: drop up to the next whitespace and try again
            attr = _HTML_ERROR.sub("", attr, count=1)
            mode = 0
    if mode == 1:
        found.setdefault(name, name)
    return found


def _kses_attr(element: str, attr: str, tags: dict[str, frozenset[str]]) -> str:
    slash = " /" if re.search(r"\s*/\s*$", attr, re.A) else ""
    allowed = tags[element.lower()]
    if not allowed:
        return f"<{element}{slash}>"
    kept = "".join(f" {whole}" for name, whole in _kses_hair(attr).items() if name.lower() in allowed)
    return f"<{element}{re.sub(r'[<>]', '', kept)}{slash}>"


def _kses_split2(piece: str, tags: dict[str, frozenset[str]], blocks: bool) -> str:
    piece = piece.replace("\\\"", "\"")  # wp_kses_stripslashes()
    if not piece.startswith("<"):
        return "&gt;"
    if piece.startswith("<!--"):
        piece = piece.replace("<!--", "").replace("-->", "")
        while (again := _kses(piece, tags, blocks)) != piece:
            piece = again
        if piece == "":
            return ""
        piece = re.sub(r"-$", "", re.sub(r"--+", "-", piece))
        return f"<!--{piece}-->"
    m = re.match(r"<\s*(/\s*)?([a-zA-Z0-9-]+)([^>]*)>?$", piece, re.A)
    if not m:
        return ""
    closing, element, attrs = php.trim(m.group(1) or ""), m.group(2), m.group(3)
    if element.lower() not in tags:
        return ""
    if closing:
        return f"</{element}>"
    return _kses_attr(element, attrs, tags)


def _kses(text: str, tags: dict[str, frozenset[str]] = _ALLOWED_TAGS, blocks: bool = True) -> str:
    """wp_kses($text, <a pre_user_* filter>): `tags` is what wp_kses_allowed_html() gives for the
    filter ($allowedtags; _DESCRIPTION_TAGS for pre_user_description), default protocols, and the
    default pre_kses filters: wp_pre_kses_less_than, then wp_pre_kses_block_attributes (which takes
    itself off the hook while it runs: `blocks` is False inside it)."""
    text = _kses_no_null(text)
    text = _normalize_entities(text)
    text = _pre_kses_less_than(text)
    if blocks and "<!--" in text:  # without a "<!--", parse_blocks() and serialize_block() give the text back
        text = _filter_block_content(text, tags)
    return re.sub(r"(<!--.*?(-->|$))|(<[^>]*(>|$)|>)", lambda m: _kses_split2(m.group(0), tags, blocks), text)


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
    text = php.addslashes(_kses(php.stripslashes(text)))  # wp_filter_kses()
    text = _wp_specialchars(text)
    return php.stripslashes(text)


def read_name(stored: str) -> str:
    """The text a browser shows for a stored name: WordPress prints it through esc_html() /
    esc_attr(), which keep its entities (and escape a stray '&', '<' ...), then the browser decodes."""
    if not _SPECIAL_CHARS.search(stored):
        return stored  # the common case: nothing to escape or decode
    return html.unescape(_esc_html(stored))


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


def scim_locale(wp_locale: str) -> str:
    return wp_locale.replace("_", "-")


def wp_locale(scim: str) -> str:
    return scim.replace("-", "_")


# --- user_url, user_email, description -----------------------------------------------------------

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
    return _kses(php.stripslashes(url))  # wp_filter_kses(), whose addslashes() the row's wp_unslash() undoes


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
    good = _bad_protocol(url)
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
    return _kses(php.stripslashes(email))  # wp_filter_kses(), whose addslashes() the row's wp_unslash() undoes


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
    return _kses(php.stripslashes(php.addslashes(text)), _DESCRIPTION_TAGS)


# --- wp_pre_kses_block_attributes: block comments in kses'd text ---------------------------------
# filter_block_content() parses the text into blocks (WP_Block_Parser), runs wp_kses() on every
# string in the blocks' JSON attributes (and on their keys), and serializes the blocks again
# (serialize_block()). Attributes are PHP arrays here: json_decode($json, true) makes a JSON object
# an array whose numeric-string keys become integers, and json_encode() writes an array whose keys
# are 0..n-1 in order as a JSON list.


class Unstorable(ValueError):
    """WordPress itself fails on this input (a PHP fatal error): it stores nothing."""


_BLOCK_TOKEN = re.compile(
    r"<!--\s+(?P<closer>/)?wp:(?P<namespace>[a-z][a-z0-9_-]*/)?(?P<name>[a-z][a-z0-9_-]*)\s+"
    r"(?P<attrs>{(?:(?:[^}]+|}+(?=})|(?!}\s+/?-->).)*+)?}\s+)?(?P<void>/)?-->",
    re.S | re.A,
)


class _Block:
    __slots__ = ("name", "attrs", "inner_blocks", "inner_html", "inner_content")

    def __init__(self, name, attrs, inner_html: str = "", inner_content: list | None = None):
        self.name = name
        self.attrs = attrs
        self.inner_blocks: list[_Block] = []
        self.inner_html = inner_html
        self.inner_content: list = inner_content if inner_content is not None else []


class _Frame:
    __slots__ = ("block", "token_start", "token_length", "prev_offset", "leading_html_start")

    def __init__(self, block, token_start, token_length, prev_offset, leading_html_start):
        self.block, self.token_start, self.token_length = block, token_start, token_length
        self.prev_offset, self.leading_html_start = prev_offset, leading_html_start


def _php_empty_text(text: str) -> bool:
    return text in ("", "0")


class _BlockParser:
    """WP_Block_Parser, step by step."""

    def parse(self, document: str) -> list[_Block]:
        self.document, self.offset, self.output, self.stack = document, 0, [], []
        while self._proceed():
            pass
        return self.output

    def _proceed(self) -> bool:
        token_type, name, attrs, start, length = self._next_token()
        depth = len(self.stack)
        leading = self.offset if start is not None and start > self.offset else None
        if token_type == "no-more-tokens":
            if depth == 0:
                self._add_freeform()
            else:  # an implicit closer for each open block
                while self.stack:
                    self._add_block_from_stack()
            return False
        if token_type == "void-block":
            if depth == 0:
                if leading is not None:
                    self.output.append(self._freeform(self.document[leading:start]))
                self.output.append(_Block(name, attrs))
            else:
                self._add_inner_block(_Block(name, attrs), start, length)
            self.offset = start + length
            return True
        if token_type == "block-opener":
            self.stack.append(_Frame(_Block(name, attrs), start, length, start + length, leading))
            self.offset = start + length
            return True
        # block-closer
        if depth == 0:  # a closer with no opener: the rest is freeform
            self._add_freeform()
            return False
        if depth == 1:
            self._add_block_from_stack(start)
            self.offset = start + length
            return True
        top = self.stack.pop()
        html_ = self.document[top.prev_offset : start]
        top.block.inner_html += html_
        top.block.inner_content.append(html_)
        top.prev_offset = start + length
        self._add_inner_block(top.block, top.token_start, top.token_length, start + length)
        self.offset = start + length
        return True

    def _next_token(self):
        m = _BLOCK_TOKEN.search(self.document, self.offset)
        if not m:
            return "no-more-tokens", None, None, None, None
        name = (m.group("namespace") or "core/") + m.group("name")
        attrs = php.json_decode(m.group("attrs")) if m.group("attrs") is not None else {}
        if m.group("void") is not None:
            return "void-block", name, attrs, m.start(), m.end() - m.start()
        if m.group("closer") is not None:
            return "block-closer", name, None, m.start(), m.end() - m.start()
        return "block-opener", name, attrs, m.start(), m.end() - m.start()

    @staticmethod
    def _freeform(inner_html: str) -> _Block:
        return _Block(None, {}, inner_html, [inner_html])

    def _add_freeform(self) -> None:
        if len(self.document) - self.offset == 0:
            return
        self.output.append(self._freeform(self.document[self.offset :]))

    def _add_inner_block(self, block: _Block, token_start: int, token_length: int, last_offset: int | None = None) -> None:
        parent = self.stack[-1]
        parent.block.inner_blocks.append(block)
        html_ = self.document[parent.prev_offset : token_start]
        if not _php_empty_text(html_):
            parent.block.inner_html += html_
            parent.block.inner_content.append(html_)
        parent.block.inner_content.append(None)
        parent.prev_offset = last_offset if last_offset else token_start + token_length

    def _add_block_from_stack(self, end_offset: int | None = None) -> None:
        top = self.stack.pop()
        html_ = self.document[top.prev_offset : end_offset] if end_offset is not None else self.document[top.prev_offset :]
        if not _php_empty_text(html_):
            top.block.inner_html += html_
            top.block.inner_content.append(html_)
        if top.leading_html_start is not None:
            self.output.append(self._freeform(self.document[top.leading_html_start : top.token_start]))
        self.output.append(top.block)


def _filter_block_content(text: str, tags: dict[str, frozenset[str]]) -> str:
    """filter_block_content($text, <the kses context>) as wp_pre_kses_block_attributes() runs it."""
    if "<!--" in text and "--->" in text:
        text = re.sub(r"<!--(.*?)--->", lambda m: "<!--" + m.group(1).rstrip("-") + "-->", text)
    out = []
    for block in _BlockParser().parse(text):
        _filter_block_kses(block, tags)
        out.append(_serialize_block(block))
    return "".join(out)


def _filter_block_kses(block: _Block, tags) -> None:
    block.attrs = _filter_block_kses_value(block.attrs, tags, block.name)
    for inner in block.inner_blocks:
        _filter_block_kses(inner, tags)


def _filter_block_kses_value(value, tags, block_name):
    """filter_block_kses_value(): wp_kses() on every string, keys included (the filter that
    called filter_block_content() is off the hook meanwhile)."""
    if isinstance(value, list):  # keys 0..n-1: integers, which the filter leaves alone
        return [_filter_block_kses_value(item, tags, block_name) for item in value]
    if isinstance(value, dict):
        value = dict(value)
        for key, inner in list(value.items()):  # (foreach works on a copy of the array)
            new_key = _filter_block_kses_value(key, tags, block_name)
            new_value = _filter_block_kses_value(inner, tags, block_name)
            if block_name == "core/template-part":
                new_value = _template_part_attribute(new_value, new_key, tags)
            if new_key != key:  # (an integer key comes back as it was, a string key as a string)
                value.pop(key, None)
            value[php.array_key(new_key)] = new_value
        return value
    if isinstance(value, str):
        return _kses(value, tags, blocks=False)
    return value


def _template_part_attribute(value, name, tags):
    """filter_block_core_template_part_attributes(): a template part's tagName must be an allowed tag."""
    if php.empty(value) or name != "tagName":
        return value
    if isinstance(value, (list, dict)):
        raise Unstorable("a core/template-part block's tagName is an array: isset() with an array offset is a TypeError in PHP")
    return value if isinstance(value, str) and php.array_key(value) in tags else ""


def _serialize_block(block: _Block) -> str:
    content = []
    index = 0
    for chunk in block.inner_content:
        if isinstance(chunk, str):
            content.append(chunk)
        else:
            content.append(_serialize_block(block.inner_blocks[index]))
            index += 1
    attrs = block.attrs if isinstance(block.attrs, (dict, list)) else {}
    return _comment_delimited_block_content(block.name, attrs, "".join(content))


def _comment_delimited_block_content(name, attrs, content: str) -> str:
    """get_comment_delimited_block_content()."""
    if name is None:
        return content
    if name.startswith("core/"):  # strip_core_block_namespace()
        name = name[5:]
    serialized = "" if not attrs else _serialize_block_attributes(attrs) + " "
    if _php_empty_text(content):
        return f"<!-- wp:{name} {serialized}/-->"
    return f"<!-- wp:{name} {serialized}-->{content}<!-- /wp:{name} -->"


def _serialize_block_attributes(attrs) -> str:
    """serialize_block_attributes(): wp_json_encode(JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE),
    then --, <, >, & and \\" as \\u escapes. ('' when PHP cannot encode: INF, from a JSON 1e999.)"""
    try:
        encoded = php.json_encode(attrs)
    except ValueError:
        encoded = ""
    encoded = encoded.replace("--", "\\u002d\\u002d").replace("<", "\\u003c").replace(">", "\\u003e")
    return encoded.replace("&", "\\u0026").replace('\\"', "\\u0022")
