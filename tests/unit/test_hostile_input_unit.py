"""Hostile input, without a database: request JSON that Python reads but SCIM cannot mean, the
ids that name a WordPress user, control characters in userName and externalId."""

from __future__ import annotations

import logging
import sys

import pytest

from wpscim.cli import LOG_MESSAGE_MAX, OneLineFormatter
from wpscim.http.media import parse_body
from wpscim.scim.errors import ScimError
from wpscim.scim.jsontext import loads
from wpscim.scim.resource import user_number, validate_user
from wpscim.wordpress.users.writing import _fingerprint


@pytest.mark.parametrize(
    "text, number",
    [("1", 1), ("42", 42), ("007", 7), ("18446744073709551615", 18446744073709551615), (5, 5)],
)
def test_ascii_digits_name_a_user(text, number):
    assert user_number(text) == number


@pytest.mark.parametrize(
    "text",
    ["", "¹", "٣", "１", "३", "1\n", " 1", "1 ", "-1", "+1", "1.0", "0x1", "1_000", "1" * 21, "1" * 5_000, True, None],
)
def test_anything_else_names_no_user(text):
    assert user_number(text) is None


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "-1E+400"])
def test_numbers_without_a_json_value_are_invalid_syntax(number):
    for body in (f'{{"x": {number}}}', f'{{"x": [{number}], "long": 12345678901234567890}}'):  # orjson's path and the fallback's
        with pytest.raises(ScimError) as refused:
            parse_body(body.encode())
        assert (refused.value.status, refused.value.scim_type) == (400, "invalidSyntax")


def test_an_integer_too_long_to_convert_is_refused_in_plain_words():
    with pytest.raises(ScimError) as refused:
        parse_body(b'{"x": ' + b"9" * 5_000 + b"}")
    assert (refused.value.status, refused.value.scim_type) == (400, "invalidSyntax")
    assert refused.value.detail == "a number in the body is too long"


def test_long_integers_and_large_floats_within_range_are_still_read():
    assert parse_body(b'{"x": 123456789012345678901234567890, "y": 1.5e308, "z": -0.0}') == {
        "x": 123456789012345678901234567890,
        "y": 1.5e308,
        "z": -0.0,
    }


def test_stored_json_is_read_as_before():
    """Usermeta JSON wpscim wrote earlier is read as it always was (only request bodies are strict)."""
    assert loads('{"x": NaN}')["x"] != loads('{"x": NaN}')["x"]


@pytest.mark.parametrize("attribute", ["userName", "externalId"])
@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\x80", "\x85", "\x9f"])
def test_control_characters_in_identifiers_are_invalid_values(attribute, char):
    user = {"userName": "jane", attribute: f"a{char}b"}
    with pytest.raises(ScimError) as refused:
        validate_user(user)
    assert (refused.value.status, refused.value.scim_type) == (400, "invalidValue")
    assert f"'{attribute}'" in refused.value.detail


def test_identifiers_are_otherwise_taken_as_before():
    user = {"userName": " \tjane\n", "externalId": "ext ü 1"}
    validate_user(user)
    assert user == {"userName": "jane", "externalId": "ext ü 1"}


def test_log_messages_stay_one_bounded_line():
    formatter = OneLineFormatter("%(levelname)s %(message)s")

    def line(message: str) -> str:
        return formatter.format(logging.LogRecord("wpscim", logging.WARNING, __file__, 1, "ids: %s", (message,), None))

    assert line("7\r\nCRITICAL forged\u2028more\x00") == "WARNING ids: 7\\x0d\\x0aCRITICAL forged\\u2028more\\x00"
    assert line("tab\tstays") == "WARNING ids: tab\tstays"
    try:
        raise ValueError("Duplicate entry 'x\n2026-12-04 19:30:00,000 CRITICAL wpscim: forged'")
    except ValueError:
        record = logging.LogRecord("wpscim", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    lines = formatter.format(record).splitlines()
    assert lines[0] == "ERROR failed" and all(later.startswith("| ") for later in lines[1:]), lines
    long = line("9" * 10_000)
    assert len(long) < LOG_MESSAGE_MAX + 100 and long.endswith("(6005 characters cut)")


def test_no_password_anywhere_in_a_body_reaches_its_fingerprint():
    def body(secret: str, user_name: str = "fp1") -> dict:
        return {"userName": user_name, "x": {"Password": secret}, "urn:example:ext": [{"password": secret, "kept": 1}]}

    assert _fingerprint(body("Secret-One-1")) == _fingerprint(body("Secret-Two-2"))
    assert _fingerprint(body("Secret-One-1")) != _fingerprint(body("Secret-One-1", "fp2"))
    assert _fingerprint(body("s")) != _fingerprint({"userName": "fp1", "x": {}, "urn:example:ext": [{}]})  # only passwords go
