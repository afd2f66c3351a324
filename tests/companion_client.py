"""Calling the wpscim companion (companion/wpscim-companion.php) the way wpscim does; stdlib only, so the
service can copy it.

The scheme, exactly as the companion checks it:

    POST {home_url}/?wpscim-companion=deliver        (or ?wpscim-companion=status)
    X-Wpscim-Timestamp: 1764668400                    Unix time in seconds, decimal digits only
    X-Wpscim-Signature: 3f1c…                         64 lowercase hex digits:
        HMAC-SHA256(key, timestamp + "\\n" + raw_body), key = the option wpscim_companion_key (UTF-8)
    body: any bytes (the companion reads none of it; b"" is fine), signed exactly as sent

The companion refuses with HTTP 403 {"ok": false, "error": "..."} when the key option is empty or missing,
either header is missing, the signature does not match, or the timestamp is more than 300 s from its clock.
Answers (JSON, Content-Type application/json):
    status  200 {"ok": true, "companion": "0.1.0", "wp_version": "6.1.9", "object_cache": bool,
                 "pending": <events not delivered, null if the outbox table is missing>, "outbox": bool}
    deliver 200 {"ok": true, "delivered": N, "last_id": <highest id delivered, 0 if none>,
                 "pending": <left>, "object_cache": bool}
            503 {"ok": false, "error": "another delivery is running", "pending": N}   (lock wait > 10 s)
            500 {"ok": false, "error": "..."}   (the outbox table is missing; or marking an event failed)
A deliver call can take about 20 s when many events are pending (it stops starting new events after 20 s
and reports what is left in "pending"); call again while "pending" > 0.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

TIMESTAMP_HEADER = "X-Wpscim-Timestamp"
SIGNATURE_HEADER = "X-Wpscim-Signature"
KEY_OPTION = "wpscim_companion_key"


def sign(key: str | bytes, timestamp: int | str, body: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of ``f"{timestamp}\\n".encode() + body`` under ``key``."""
    if isinstance(key, str):
        key = key.encode("utf-8")
    return hmac.new(key, str(timestamp).encode("ascii") + b"\n" + body, hashlib.sha256).hexdigest()


def signed_headers(key: str | bytes, body: bytes = b"", *, timestamp: int | None = None) -> dict[str, str]:
    """The two headers for a request with this body (timestamp: now, unless given)."""
    stamp = int(time.time()) if timestamp is None else int(timestamp)
    return {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(key, stamp, body)}


@dataclass
class CompanionAnswer:
    status: int
    body: dict
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.body.get("ok") is True


def call(
    home_url: str, action: str, key: str | bytes | None, body: bytes = b"", *, timeout: float = 60.0, headers: dict[str, str] | None = None
) -> CompanionAnswer:
    """POSTs one signed call (``key=None`` sends no signature headers; ``headers`` replace or add some)."""
    url = home_url.rstrip("/") + "/?wpscim-companion=" + action
    sent = {"Content-Type": "application/json"}
    if key is not None:
        sent.update(signed_headers(key, body))
    sent.update(headers or {})
    request = urllib.request.Request(url, data=body, method="POST", headers=sent)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as answer:
        status, raw = answer.code, answer.read()
    seconds = time.monotonic() - started
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = {"ok": False, "error": "not JSON", "raw": raw[:2000].decode("utf-8", "replace")}
    return CompanionAnswer(status, parsed if isinstance(parsed, dict) else {"ok": False, "raw": parsed}, seconds)
