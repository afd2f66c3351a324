"""Password hashes in the format the installed WordPress writes (wp-includes/pluggable.php).

6.8+ : '$wp' + bcrypt($2y$) of base64(HMAC-SHA384(key='wp-sha384', trim(password)))
≤ 6.7: phpass portable '$P$B…' (2^13 MD5 rounds) — 6.7 and older cannot verify '$wp$'.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import bcrypt
from passlib.hash import phpass
from passlib.utils.binary import h64

from wpscim.wordpress.errors import Invalid

# wp_db_version of WordPress 6.8, the first release writing '$wp$' bcrypt hashes.
WP_68_DB_VERSION = 60421
BCRYPT_COST = 10  # what PHP < 8.4's password_hash(PASSWORD_BCRYPT) uses
_PHPASS = phpass.using(rounds=13, ident="$P$")
# libpass builds phpass's base64 tables on first use, and not thread-safely: the first hashes of 32
# parallel creates in a fresh server process failed with AttributeError. Build them at import instead.
h64.encode_bytes(b"")
_ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BCRYPT64 = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def uses_wp_bcrypt(db_version: int) -> bool:
    return db_version >= WP_68_DB_VERSION


def _prehash(password: str) -> bytes:
    digest = hmac.new(b"wp-sha384", password.strip().encode("utf-8"), hashlib.sha384).digest()
    return base64.b64encode(digest)


MAX_PASSWORD_BYTES = 4096  # phpass (class-phpass.php) refuses longer passwords, in bytes: no login could follow


def hash_password(password: str, db_version: int) -> str:
    if len(password.encode("utf-8", "surrogatepass")) > MAX_PASSWORD_BYTES:
        raise Invalid(f"'password' is longer than the {MAX_PASSWORD_BYTES} bytes WordPress accepts")
    if uses_wp_bcrypt(db_version):
        hashed = bcrypt.hashpw(_prehash(password), bcrypt.gensalt(BCRYPT_COST)).decode("ascii")
        return "$wp$2y$" + hashed[4:]  # Python writes $2b$; PHP would flag it for rehash
    return _PHPASS.hash(password.strip())


def check_password(password: str, stored_hash: str) -> bool:
    """Whether `stored_hash` is a hash of `password` as hash_password() makes them (trimmed, as
    wp_hash_password() does), in either format it writes; False for any other format."""
    try:
        if stored_hash.startswith("$wp$2y$"):
            return bcrypt.checkpw(_prehash(password), ("$2b$" + stored_hash[len("$wp$2y$") :]).encode("ascii"))
        if stored_hash.startswith("$P$"):
            return bool(_PHPASS.verify(password.strip(), stored_hash))
    except (ValueError, TypeError, UnicodeError):  # a damaged hash verifies nothing
        return False
    return False


_LETTERS: dict[str, bytes] = {}


def _random_text(alphabet: str, length: int) -> str:
    # Both alphabets have 64 letters: random byte b becomes letter b % 64.
    table = _LETTERS.get(alphabet) or _LETTERS.setdefault(alphabet, bytes.maketrans(bytes(range(256)), alphabet.encode("ascii") * 4))
    return secrets.token_bytes(length).translate(table).decode("ascii")


def unusable_hash(db_version: int) -> str:
    """A hash in the site's format whose password nobody knows: random salt and digest, no hashing cost."""
    if uses_wp_bcrypt(db_version):
        return f"$wp$2y${BCRYPT_COST:02d}$" + _random_text(_BCRYPT64, 53)
    return "$P$B" + _random_text(_ITOA64, 30)
