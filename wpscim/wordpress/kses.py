"""wp_kses() as WordPress 6.1 runs it in the pre_user_* filters (wp-includes/kses.php, and the
formatting.php functions it needs), its default pre_kses filters included.

* entities and escaping: wp_kses_normalize_entities(), PHP's htmlspecialchars() with
  double_encode = false (it keeps HTML 4.01 entities only), _wp_specialchars() (wp_specialchars
  here), esc_html().
* wp_kses(): wp_kses_no_null(), wp_kses_normalize_entities(), the pre_kses filters, then
  wp_kses_split() / wp_kses_split2() / wp_kses_attr() / wp_kses_hair(), with the tags
  wp_kses_allowed_html() gives the pre_user_* contexts (ALLOWED_TAGS: $allowedtags;
  DESCRIPTION_TAGS: rel on <a> too, for pre_user_description) and the default protocols
  (wp_kses_bad_protocol(), which esc_url() uses too).
* the pre_kses filters: wp_pre_kses_less_than(), and wp_pre_kses_block_attributes(), i.e.
  blocks.php's filter_block_content(), filter_block_kses(), filter_block_kses_value() and
  filter_block_core_template_part_attributes(), over the blocks blocks.py parses and writes.
  Unstorable is raised where WordPress itself fails on the input (a PHP fatal error).

PHP semantics kept (see php.py): regular expressions are byte-oriented (\\s is ASCII whitespace,
/i folds ASCII case), trim() and strtolower() are PHP's, a lone surrogate is invalid UTF-8 (esc_html()
of it is ''), "0" is empty, and block attributes are PHP arrays with PHP keys.
Debian's WordPress 6.1 package carries later security fixes, and so does this port:
filter_block_content()'s "--->" rewrite (6.2.1) and its check of a template part's tagName (6.5.5).
"""

from __future__ import annotations

import re

from wpscim.wordpress import php
from wpscim.wordpress.blocks import Block, parse_blocks, serialize_block

_ALLOWED_ENTITY_NAMES = frozenset(
    (
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
    ).split()
)


# $allowedtags: what wp_kses() keeps in the pre_user_* name filters (context = the filter name).
ALLOWED_TAGS: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "title"}),
    "abbr": frozenset({"title"}),
    "acronym": frozenset({"title"}),
    "b": frozenset(),
    "blockquote": frozenset({"cite"}),
    "cite": frozenset(),
    "code": frozenset(),
    "del": frozenset({"datetime"}),
    "em": frozenset(),
    "i": frozenset(),
    "q": frozenset({"cite"}),
    "s": frozenset(),
    "strike": frozenset(),
    "strong": frozenset(),
}
# wp_kses_allowed_html('pre_user_description'): $allowedtags, and rel on <a>.
DESCRIPTION_TAGS = {**ALLOWED_TAGS, "a": ALLOWED_TAGS["a"] | {"rel"}}
# htmlspecialchars(..., double_encode=false) keeps only HTML 4.01 entities: all of the above but &apos;.
_HTML401_ENTITY_NAMES = _ALLOWED_ENTITY_NAMES - {"apos"}
_ALLOWED_PROTOCOLS = frozenset(
    "http https ftp ftps mailto news irc irc6 ircs gopher nntp feed telnet mms rtsp sms svn tel fax xmpp webcal urn".split()
)
_URI_ATTRIBUTES = frozenset(
    "action archive background cite classid codebase data formaction href icon longdesc manifest poster profile src usemap xmlns".split()
)


# --- entities: wp_kses_normalize_entities, htmlspecialchars, _wp_specialchars, esc_html ----------


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
        if token in ('"', "'"):
            return token if not quotes else "&quot;" if token == '"' else "&#039;"
        number, name = m.group(1), m.group(2)
        if number is not None:
            value = int(number[1:], 16) if number[0] in "xX" else int(number)
            if value <= 0x10FFFF:
                return token
        elif name is not None and name in _HTML401_ENTITY_NAMES:
            return token
        return "&amp;" + token[1:]

    return _SPECIALCHARS.sub(one, text)


SPECIAL_CHARS = re.compile(r"[&<>\"']")


def wp_specialchars(text: str, quotes: bool = False) -> str:
    if not text:
        return ""
    if not SPECIAL_CHARS.search(text):
        return text
    return _htmlspecialchars(_normalize_entities(text), quotes)


def esc_html(text: str) -> str:
    return wp_specialchars(text, quotes=True)


def wp_pre_kses_less_than(text: str) -> str:
    """wp_pre_kses_less_than(): a '<' that never gets to a '>' is escaped (esc_html(): its
    wp_check_invalid_utf8() makes a piece that is not valid UTF-8, a lone surrogate here, '')."""

    def one(m: re.Match) -> str:
        piece = m.group(0)
        if ">" in piece:
            return piece
        return "" if php.SURROGATE.search(piece) else esc_html(piece)

    return re.sub(r"<[^>]*?((?=<)|>|$)", one, text)


# --- wp_kses: null bytes, protocols, attributes, tags --------------------------------------------


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


def wp_kses_bad_protocol(text: str) -> str:
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
                (r"\"([^\"]*)\"(\s+|/?$)", r"^\"[^\"]*\"(\s+|$)", '"'),
                (r"'([^']*)'(\s+|/?$)", r"^'[^']*'(\s+|$)", "'"),
                (r"([^\s\"']+)(\s+|/?$)", r"^[^\s\"']+(\s+|$)", '"'),
            ):
                m = re.match(value_re, attr, re.A)
                if m:
                    value = m.group(1)
                    if name.lower() in _URI_ATTRIBUTES:
                        value = wp_kses_bad_protocol(value)
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
    piece = piece.replace('\\"', '"')  # wp_kses_stripslashes()
    if not piece.startswith("<"):
        return "&gt;"
    if piece.startswith("<!--"):
        piece = piece.replace("<!--", "").replace("-->", "")
        while (again := wp_kses(piece, tags, blocks)) != piece:
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


def wp_kses(text: str, tags: dict[str, frozenset[str]] = ALLOWED_TAGS, blocks: bool = True) -> str:
    """wp_kses($text, <a pre_user_* filter>): `tags` is what wp_kses_allowed_html() gives for the
    filter ($allowedtags; DESCRIPTION_TAGS for pre_user_description), default protocols, and the
    default pre_kses filters: wp_pre_kses_less_than, then wp_pre_kses_block_attributes (which takes
    itself off the hook while it runs: `blocks` is False inside it)."""
    text = _kses_no_null(text)
    text = _normalize_entities(text)
    text = wp_pre_kses_less_than(text)
    if blocks and "<!--" in text:  # without a "<!--", parse_blocks() and serialize_block() give the text back
        text = _filter_block_content(text, tags)
    return re.sub(r"(<!--.*?(-->|$))|(<[^>]*(>|$)|>)", lambda m: _kses_split2(m.group(0), tags, blocks), text)


# --- wp_pre_kses_block_attributes: block comments in kses'd text ---------------------------------
# filter_block_content() parses the text into blocks (WP_Block_Parser), runs wp_kses() on every
# string in the blocks' JSON attributes (and on their keys), and serializes the blocks again
# (serialize_block()). Attributes are PHP arrays here: json_decode($json, true) makes a JSON object
# an array whose numeric-string keys become integers, and json_encode() writes an array whose keys
# are 0..n-1 in order as a JSON list.


class Unstorable(ValueError):
    """WordPress itself fails on this input (a PHP fatal error): it stores nothing."""


def _filter_block_content(text: str, tags: dict[str, frozenset[str]]) -> str:
    """filter_block_content($text, <the kses context>) as wp_pre_kses_block_attributes() runs it."""
    if "<!--" in text and "--->" in text:
        text = re.sub(r"<!--(.*?)--->", lambda m: "<!--" + m.group(1).rstrip("-") + "-->", text)
    out = []
    for block in parse_blocks(text):
        _filter_block_kses(block, tags)
        out.append(serialize_block(block))
    return "".join(out)


def _filter_block_kses(block: Block, tags) -> None:
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
        return wp_kses(value, tags, blocks=False)
    return value


def _template_part_attribute(value, name, tags):
    """filter_block_core_template_part_attributes(): a template part's tagName must be an allowed tag."""
    if php.empty(value) or name != "tagName":
        return value
    if isinstance(value, (list, dict)):
        raise Unstorable("a core/template-part block's tagName is an array: isset() with an array offset is a TypeError in PHP")
    return value if isinstance(value, str) and php.array_key(value) in tags else ""
