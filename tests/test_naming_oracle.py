"""wpscim.wordpress.naming judged by a real WordPress 6.1, on adversarial input.

* logins:     naming.sanitize_user(x)  ==  sanitize_user(x, true)
* titles:     naming.sanitize_title(x) ==  sanitize_title(x)  (raw input, not just logins)
* nicenames:  what wp_insert_user() stores as user_nicename for a (sanitized) login, collisions
              included, == naming.nicename_candidates(naming.nicename_base(login)) allocation
* names:      what wp_insert_user() stores for first_name / last_name / nickname / display_name
              == naming.store_name(x); and display_name built from first/last names

Every comparison is one batched php call (WordPress loaded once), so the module stays fast.
Mismatches are collected and reported together, one line each.
"""

from __future__ import annotations

import html

import pytest

from wpscim.wordpress import naming

ADVERSARIAL = [
    # accents, ligatures, transliterations (remove_accents() table, en_US rules)
    "Zoë", "Ångström", "ß", "Straße", "Æther", "æon", "Łódź", "Œuvre", "Þór", "İstanbul", "Dvořák",
    "Søren Ærø", "José María", "Nguyễn Văn Ệ", "Lǚ Dòngbīn", "ǅemal", "ﬁnance", "Ａｂｃ", "x²", "\u212a",
    "ſ", "e\u0301te", "A\u030angstrom", "€uro £ound", "×times×", "Ⅻ",
    # other scripts, emoji
    "山田太郎", "김민준", "Иван Петров", "Σωκράτης", "محمد", "שלום", "😀 smile", "👩\u200d💻", "🇩🇪",
    "(╯°□°)╯︵ ┻━┻",
    # punctuation that e-mail-like userNames carry
    "john+tag@example.com", "a+b", "O'Brien", 'say "hi"', "`tick`", "back\\slash", "a\\'b", "a\\\"b",
    "\\0", "x\\", "john..doe", ".hidden.", "a_b__c", "a--b---c", "-lead-trail-", "@@@", "@user",
    "user@", "...", "___", "---", "a/b", "a.b@c.d", "Jean-Luc Picard", "van der Berg", "!!!",
    # markup
    "<script>x</script>", "<script>alert(1)</script>Bob", "<SCRIPT>x</script >y", "<style>p{}</style>z",
    "<b>Bold</b>", "a < b", "a > b", "a<b", "a <b", "a <b c", "< b >", "a < b > c", "a <\nb",
    "x < a href='javascript:alert(1)' title=\"t\" > y", "< a href=\"http://x.test/?q=1\" >link< /a >",
    "< a href=java&#115;cript:x title=t >", "< a href=\"feed:feed:feed:javascript:x\" >",
    "< b onclick=x >", "< i / >", "< q cite='\"' >", "< abbr title=\"a>b\">", "<!-- c -->Bob",
    "<?php echo 1; ?>Bob", "<?xml x ?>y", "<!DOCTYPE html>Bob", "<a title='x>y'>t</a>",
    "<a title=\\'x>y\\'>t</a>", "<!a'b>c", "<<b>>c>d", "a<!-->b", "a <!- b -> c",
    "<?php if (a) { echo \"?>\"; } ?>Bob", "<? (x ?> y) ?>z", "<!-- a -- b -->c", '<a title="x>y">t</a>',
    "< a href = 'http://x.test' title >", '< a title="x"/ >', '< a title="a"title="b" >',
    '< a HREF="mailto:x@y.test" TITLE=t >', '< a href="&#106;avascript:x" >', '< a href="javascript&colon;x" >',
    '< a href="java\\"script:x" >', "< a href=' feed:http://x' >", "< del datetime=2020 >x< /del >",
    "< blockquote cite=\"/?a:b\" >", "< /script >", "< x-y >", "a >> b << c",
    # entities
    "Tom & Jerry", "AT&T", "&", "&&", "& ;", "&amp;", "&amp;amp;", "&#39;", "&#039;", "&#0000039;",
    "&#x27;", "&#X27;", "&#0;", "&#x0;", "&#00;", "&#65;", "&#1114111;", "&#1114112;", "&#xD800;",
    "&bogus;", "&apos;", "&AMP;", "&nbsp;", "&copy;2023", "&copy", "&lt;script&gt;", "&#60;b&#62;",
    "&ndash;x&#8212;", "&amp;lt;", "&#x3C;b&#x3E;", "&#x0041;", "&eacute;t&eacute;", "&Eacute;", "&hellip;",
    # percent signs and octets
    "100%ab", "100%", "%zz", "%41%42", "%%41", "50% off", "%e2%80%93", "%c3%97", "%4", "%4%41",
    "a%20b", "%2541", "Caf%C3%A9", "%4A%4b", "%%4141", "%a",
    # whitespace and controls
    "\tTab\tbed\t", "line1\nline2", "cr\r\nlf", "a\x0bb", "a\x0cb", "nul\x00byte", "bell\x07",
    "multiple    spaces", "  leading and trailing  ", "\u00a0nbsp\u00a0", "\u2003em space",
    "zero\u200bwidth", "soft\u00adhyphen", "en\u2013dash \u2014 em", "\u3000ideo\u3000",
    # empty results, numbers, lengths
    "", " ", "0", " 0", "00", "0.0", "12345",
    "a" * 70, "Ü" * 70, "ab " * 30, "x" * 49 + "ö" + "y" * 20, "long name " * 30, "é" * 250,
    "-".join(["word"] * 30), "A" * 59 + " B", "x" * 45 + "." * 10 + "y" * 5,
]

# Logins that collide once sanitized, to exercise the -2, -3 suffixes (also on 50-char nicenames).
COLLIDING_LOGINS = ["john.doe", "John Doe", "john-doe", "JOHN--DOE", "x" * 55, "x" * 56, "x" * 57,
                    "y" * 49 + ".z", "y" * 49 + "-z"]


def _batch(wp, calls):
    return wp.oracle.batch(calls)


def _report(mismatches: list[str]) -> str:
    return f"{len(mismatches)} mismatch(es) with WordPress:\n" + "\n".join(mismatches)


def test_sanitize_user_strict_matches_wordpress(wp):
    answers = _batch(wp, [("wp_function", {"fn": "sanitize_user", "input": x, "extra": [True]})
                          for x in ADVERSARIAL])
    bad = [f"  {x!r}: wordpress {a['value']!r}, wpscim {naming.sanitize_user(x)!r}"
           for x, a in zip(ADVERSARIAL, answers) if naming.sanitize_user(x) != a["value"]]
    assert not bad, _report(bad)


def test_sanitize_title_matches_wordpress(wp):
    inputs = ADVERSARIAL + [naming.sanitize_user(x) for x in ADVERSARIAL]
    answers = _batch(wp, [("wp_function", {"fn": "sanitize_title", "input": x}) for x in inputs])
    bad = [f"  {x!r}: wordpress {a['value']!r}, wpscim {naming.sanitize_title(x)!r}"
           for x, a in zip(inputs, answers) if naming.sanitize_title(x) != a["value"]]
    assert not bad, _report(bad)


def _logins() -> list[str]:
    """The logins wpscim would store for ADVERSARIAL userNames (one each, distinct for MySQL's
    case-insensitive, PAD SPACE collation), then COLLIDING_LOGINS.  wp_insert_user() trims the
    login and refuses one PHP calls empty() ("" and "0": empty_user_login)."""
    logins, seen = [], {"admin"}
    for x in ADVERSARIAL + COLLIDING_LOGINS:
        login = naming.sanitize_user(x)[: naming.LOGIN_MAX].rstrip(" ")
        if login not in ("", "0") and login.lower() not in seen:
            seen.add(login.lower())
            logins.append(login)
    return logins


def test_user_nicename_matches_wp_insert_user(wp):
    logins = _logins()
    assert len(logins) > 60
    calls = []
    for i, login in enumerate(logins):
        calls.append(("insert_user", {"userdata": {"user_login": login, "user_email": f"n{i}@example.com"}}))
    inserted = _batch(wp, calls)
    assert all("id" in r for r in inserted), [(l, r) for l, r in zip(logins, inserted) if "id" not in r]
    rows = _batch(wp, [("user_meta_rows", {"id": r["id"]}) for r in inserted])

    taken = {row[0] for row in wp.sql("SELECT user_nicename FROM wp_users WHERE user_login = 'admin'")}
    bad = []
    for login, row in zip(logins, rows):
        user = row["user"]
        if user["user_login"] != login:
            bad.append(f"  login {login!r}: wordpress stored user_login {user['user_login']!r}")
        expected = next(c for c in naming.nicename_candidates(naming.nicename_base(login)) if c not in taken)
        taken.add(user["user_nicename"])
        if user["user_nicename"] != expected:
            bad.append(f"  login {login!r}: wordpress {user['user_nicename']!r}, wpscim {expected!r}")
    assert not bad, _report(bad)


def _meta(row: dict) -> dict:
    return dict(row["meta"])


# wp_insert_user() tests the raw value with PHP's empty(): "" and "0" mean "not given" (first_name
# stays "", nickname becomes the login, display_name is derived), before any filter runs.
NAMES = [x for x in ADVERSARIAL if x not in ("", "0")]


def _name_userdata(i: int, x: str) -> dict:
    userdata = {"user_login": f"name{i}", "user_email": f"m{i}@example.com",
                "first_name": x, "last_name": x, "nickname": x}
    # wp_users.display_name is varchar(250): wpdb refuses the whole row beyond that.
    userdata["display_name"] = x if len(x) <= 250 else "long"
    return userdata


def test_stored_names_match_store_name(wp):
    calls = [("insert_user", {"userdata": _name_userdata(i, x)}) for i, x in enumerate(NAMES)]
    inserted = _batch(wp, calls)
    assert all("id" in r for r in inserted), [(x, r) for x, r in zip(NAMES, inserted) if "id" not in r]
    rows = _batch(wp, [("user_meta_rows", {"id": r["id"]}) for r in inserted])
    bad = []
    for x, row in zip(NAMES, rows):
        ours = naming.store_name(x)
        meta = _meta(row)
        stored = {"first_name": meta["first_name"], "last_name": meta["last_name"], "nickname": meta["nickname"]}
        if len(x) <= 250:
            stored["display_name"] = row["user"]["display_name"]
        for field, value in stored.items():
            if value != ours:
                bad.append(f"  {x!r} {field}: wordpress {value!r}, wpscim {ours!r}")
    assert not bad, _report(bad)


def test_sanitize_text_field_matches_wordpress(wp):
    answers = _batch(wp, [("wp_function", {"fn": "sanitize_text_field", "input": x}) for x in ADVERSARIAL])
    bad = [f"  {x!r}: wordpress {a['value']!r}, wpscim {naming._sanitize_text_field(x)!r}"
           for x, a in zip(ADVERSARIAL, answers) if naming._sanitize_text_field(x) != a["value"]]
    assert not bad, _report(bad)


DISPLAY_PAIRS = [
    ("Zoë", "Ångström"), ("Tom & Jerry", "<b>x</b>"), (" 0", "Smith"), ("Ann", " 0"), ("", "Solo"),
    ("Solo", ""), ("<script>x</script>", ""), ("", "<script>x</script>"), ("O'Brien", 'a "b"'),
    ("&amp;", "&bogus;"), ("a < b", "c > d"), ("&apos;", "100%41"), ("", ""), ("  ", "\t"),
]


def test_derived_display_name_matches_wp_insert_user(wp):
    calls = [("insert_user", {"userdata": {"user_login": f"dn{i}", "user_email": f"d{i}@example.com",
                                           "first_name": first, "last_name": last}})
             for i, (first, last) in enumerate(DISPLAY_PAIRS)]
    inserted = _batch(wp, calls)
    rows = _batch(wp, [("user_meta_rows", {"id": r["id"]}) for r in inserted])
    bad = []
    for i, ((first, last), row) in enumerate(zip(DISPLAY_PAIRS, rows)):
        stored_first, stored_last = naming.store_name(first), naming.store_name(last)
        meta = _meta(row)
        ours = naming.store_name(naming.default_display_name(f"dn{i}", stored_first, stored_last))
        if (meta["first_name"], meta["last_name"]) != (stored_first, stored_last):
            bad.append(f"  {(first, last)!r}: wordpress names {(meta['first_name'], meta['last_name'])!r}, "
                       f"wpscim {(stored_first, stored_last)!r}")
        if row["user"]["display_name"] != ours:
            bad.append(f"  {(first, last)!r}: wordpress display_name {row['user']['display_name']!r}, wpscim {ours!r}")
    assert not bad, _report(bad)


def test_read_name_is_what_a_browser_shows_for_esc_html(wp):
    """read_name(stored) == the text of WordPress's esc_html(stored) (entities decoded by html.unescape)."""
    stored = [naming.store_name(x) for x in NAMES] + [
        "a<b", "a & b", "&copy2023", "&bogus;", "&amp;apos;", "&apos;", "O'Brien", 'say "hi"', "&#065;", "&lt;b&gt;",
    ]
    answers = _batch(wp, [("wp_function", {"fn": "esc_html", "input": x}) for x in stored])
    bad = [f"  {x!r}: wordpress shows {html.unescape(a['value'])!r}, wpscim {naming.read_name(x)!r}"
           for x, a in zip(stored, answers) if naming.read_name(x) != html.unescape(a["value"])]
    assert not bad, _report(bad)


@pytest.mark.parametrize("name", ["Tom & Jerry", "a < b", "a<b", "c > d", "O'Brien", 'say "hi"', "Zoë Ångström",
                                  "AT&T", "100% sure", "<3 you", "x -> y", "back\\slash"])
def test_read_name_inverts_store_name_for_plain_names(name):
    assert naming.read_name(naming.store_name(name)) == name


def test_lone_surrogates_do_not_crash():
    """JSON may carry an unpaired surrogate (php cannot even decode it, so no oracle here)."""
    text = "a\ud800b <i>x</i>"
    assert naming.sanitize_user(text) == "ab x"
    assert naming.sanitize_title(text) == "a%ed%a0%80b-x"
    assert naming.store_name(text) == ""  # wp_check_invalid_utf8()
