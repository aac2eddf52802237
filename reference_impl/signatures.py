"""Standard Webhooks signature verification against an injected clock.

The ``standardwebhooks`` package checks the timestamp against the wall
clock, which is wrong in simulated time; this is the same check with the
runtime's clock. Comparison is constant-time; a message is accepted if any
``v1`` signature in the header matches.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

TOLERANCE_S = 300


class InvalidSignature(Exception):
    pass


def verify(secret: str, headers: dict[str, str], body: bytes, now: float) -> None:
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (msg_id and timestamp and signatures):
        raise InvalidSignature("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise InvalidSignature("webhook-timestamp is not an integer") from None
    if abs(now - sent_at) > TOLERANCE_S:
        raise InvalidSignature(f"webhook-timestamp {sent_at} is more than {TOLERANCE_S}s from now ({int(now)})")
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = hmac.new(key, f"{msg_id}.{sent_at}.".encode() + body, hashlib.sha256).digest()
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1":
            try:
                given = base64.b64decode(value)
            except ValueError:
                continue
            if hmac.compare_digest(given, expected):
                return
    raise InvalidSignature("no webhook-signature matches the payload")
