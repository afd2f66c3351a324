"""Block markup as WordPress 6.1 reads and writes it (wp-includes/class-wp-block-parser.php,
blocks.php): parse_blocks() (WP_Block_Parser, step by step) and serialize_block() (with
get_comment_delimited_block_content(), strip_core_block_namespace() and
serialize_block_attributes()). Its one user is kses.py's wp_pre_kses_block_attributes() filter,
which parses kses'd text, filters the blocks' attributes and writes the blocks back.

PHP semantics kept: a block's attributes are PHP arrays (php.json_decode($json, true): a JSON
object's numeric-string keys become integers; php.json_encode() writes an array whose keys are
0..n-1 in order as a JSON list), PHP's empty() decides whether inner HTML is there ("0" is not),
and serialize_block_attributes() writes '' where json_encode() fails (INF, from a JSON 1e999).
"""

from __future__ import annotations

import re

from wpscim.wordpress import php

_BLOCK_TOKEN = re.compile(
    r"<!--\s+(?P<closer>/)?wp:(?P<namespace>[a-z][a-z0-9_-]*/)?(?P<name>[a-z][a-z0-9_-]*)\s+"
    r"(?P<attrs>{(?:(?:[^}]+|}+(?=})|(?!}\s+/?-->).)*+)?}\s+)?(?P<void>/)?-->",
    re.S | re.A,
)


class Block:
    __slots__ = ("name", "attrs", "inner_blocks", "inner_html", "inner_content")

    def __init__(self, name, attrs, inner_html: str = "", inner_content: list | None = None):
        self.name = name
        self.attrs = attrs
        self.inner_blocks: list[Block] = []
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

    def parse(self, document: str) -> list[Block]:
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
                self.output.append(Block(name, attrs))
            else:
                self._add_inner_block(Block(name, attrs), start, length)
            self.offset = start + length
            return True
        if token_type == "block-opener":
            self.stack.append(_Frame(Block(name, attrs), start, length, start + length, leading))
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
    def _freeform(inner_html: str) -> Block:
        return Block(None, {}, inner_html, [inner_html])

    def _add_freeform(self) -> None:
        if len(self.document) - self.offset == 0:
            return
        self.output.append(self._freeform(self.document[self.offset :]))

    def _add_inner_block(self, block: Block, token_start: int, token_length: int, last_offset: int | None = None) -> None:
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


def parse_blocks(document: str) -> list[Block]:
    """parse_blocks(): the blocks of `document`, the HTML around them as freeform blocks (name None)."""
    return _BlockParser().parse(document)


def serialize_block(block: Block) -> str:
    content = []
    index = 0
    for chunk in block.inner_content:
        if isinstance(chunk, str):
            content.append(chunk)
        else:
            content.append(serialize_block(block.inner_blocks[index]))
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
