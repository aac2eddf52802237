"""Ten-minute timestamp tolerance: a captured webhook replays for ten minutes instead of five.

The real-world bug: webhooks were being rejected during a sender's
incident (its queue held messages for a few minutes before signing), so
someone doubled the tolerance "to be safe". Signatures and timestamps are
still checked, and a message replayed 15 minutes or a day later is
refused; a message replayed 5½ or 7 minutes after it was sent is taken in
with a valid signature, which is exactly the window an attacker who
captured it needs.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.signatures import InvalidSignature, verify
from tests.broken_connectors._hooks import require_hooks

TOLERANCE_S = 600  # DEFECT: Standard Webhooks says 5 minutes


class TenMinuteToleranceConnector(ReferenceConnector):
    name = "broken: accepts webhook timestamps up to ten minutes old"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "verify_signature")
        super().__init__(runtime)

    def verify_signature(self, delivery: Any) -> None:
        verify_within(TOLERANCE_S, self.runtime.webhook_secret, delivery, self.runtime.clock.now())


def verify_within(tolerance_s: float, secret: str, delivery: Any, now: float) -> None:
    """The Standard Webhooks check with a tolerance of ``tolerance_s`` instead of the standard 300 s."""
    sent_at = delivery.headers.get("webhook-timestamp", "")
    if sent_at.isdigit() and abs(now - int(sent_at)) > tolerance_s:
        raise InvalidSignature(f"webhook-timestamp {sent_at} is more than {tolerance_s}s from now ({int(now)})")
    # the signature itself, as of the message's own timestamp (the tolerance was checked above)
    verify(secret, delivery.headers, delivery.body, float(sent_at) if sent_at.isdigit() else now)


def build(runtime: Any) -> TenMinuteToleranceConnector:
    return TenMinuteToleranceConnector(runtime)
