"""How role names are compared: characters drawn as nothing are no part of a name, look-alike letters
are one letter, and a name may not mix Latin letters with letters drawn like them."""

from __future__ import annotations

import unicodedata

import pytest

from wpscim.wordpress.roles import _LOOKALIKE, mixed_scripts, name_key, name_skeleton, visible

# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt), bidi controls among them.
DEFAULT_IGNORABLE = [
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
]


def test_every_default_ignorable_is_no_part_of_a_name():
    for low, high in DEFAULT_IGNORABLE:
        for code in range(low, high + 1):
            c = chr(code)
            assert visible(f"Edi{c}tor{c}") == "Editor", hex(code)
            assert name_key(f"Editor{c}") == name_key("Editor") == name_skeleton(f"{c}Editor"), hex(code)


@pytest.mark.parametrize(
    ("lookalike", "name"),
    [
        ("Adrninistrator", "Administrator"),
        ("\u0391dministrator", "Administrator"),  # Greek capital alpha
        ("\uff21dministrator", "Administrator"),  # fullwidth
        ("\U0001d400dministrator", "Administrator"),  # mathematical bold
        ("Administrator\u2800", "Administrator"),  # Braille blank
        ("\u0405\u04bb\u043e\u0440 manager", "Shop manager"),  # Cyrillic copies of S, h, o, p
        ("\u03a4\u0391\u03a7", "TAX"),
        ("lT", "IT"),
        ("\u0456nterns", "interns"),
        ("Administrat0r", "Administrator"),  # digits drawn as letters
        ("Administrat\u1d0fr", "Administrator"),  # Latin small capital O
        ("\ua731\u1d1c\u0299\ua731\u1d04\u0280\u026a\u0299\u1d07\u0280", "Subscriber"),  # small capitals throughout
        ("\u13aa\u13a0\u13b7 \u13a2\u13ac\u13b7", "ADM TEM"),  # Cherokee letters drawn as Latin ones
        ("Level 1", "Level I"),
    ],
)
def test_look_alike_names_have_one_skeleton(lookalike, name):
    assert name_skeleton(lookalike) == name_skeleton(name)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Editor", "Editors"),
        ("Mail", "Mali"),
        ("Level 1", "Level 2"),
        ("Team A", "Team B"),
        ("\u0420\u0435\u0434\u0430\u043a\u0442\u043e\u0440", "Editor"),
    ],
)
def test_different_names_stay_different(one, other):
    assert name_skeleton(one) != name_skeleton(other)
    assert name_key(one) != name_key(other)


@pytest.mark.parametrize(
    ("name", "scripts"),
    [
        ("\u0410dministrator", ["CYRILLIC"]),
        ("Edit\u03bfr", ["GREEK"]),
        ("Admin\u0561", ["ARMENIAN"]),
        ("Sales \u0420\u043e\u0441\u0441\u0438\u044f", []),  # two words, each in one script: two things named
        ("Sales-\u0410dmin", ["CYRILLIC"]),
        ("\u13aadmin", ["CHEROKEE"]),  # Cherokee A
        ("Team \u6771\u4eac", []),  # Latin with Han is how many names are written
        ("\u0420\u0435\u0434\u0430\u043a\u0442\u043e\u0440\u044b", []),
        ("Caf\u00e9 staff", []),
    ],
)
def test_mixed_scripts(name, scripts):
    assert mixed_scripts(name) == scripts


def test_each_look_alike_copies_a_latin_letter():
    """A slip in the table (a letter of the wrong script, or one mapped to a letter it does not copy)
    would merge names that read differently."""
    for code, value in _LOOKALIKE.items():
        latin = chr(value)
        assert latin.isascii() and latin.isalpha(), hex(code)
        script = unicodedata.name(chr(code)).split(" ", 1)[0]
        assert script in ("CYRILLIC", "GREEK", "LATIN", "CHEROKEE", "DIGIT"), hex(code)
        # 'I' and its copies are drawn as 'l'; digits have no case, and Cherokee capitals copy some
        # small Latin letters (Unicode's confusables: Ꭵ as i, Ꮒ as h).
        if latin != "l" and script not in ("DIGIT", "CHEROKEE"):
            assert latin.isupper() == chr(code).isupper(), hex(code)
