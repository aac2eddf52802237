"""No timestamp tolerance: signatures are checked, timestamps are not, so a captured webhook replays forever.

The real-world bug: the connector verifies the HMAC over
``id.timestamp.body`` correctly, but drops the tolerance check because
"the clocks of the sender and our pods disagree and messages were being
rejected". A message captured once (from a log, a proxy, a laptop on the
same network) can then be replayed at any later time with a valid
signature; the connector answers 200 to every replay.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.signatures import verify
from tests.broken_connectors._hooks import require_hooks


class NoTimestampToleranceConnector(ReferenceConnector):
    name = "broken: accepts webhook timestamps of any age"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "verify_signature")
        super().__init__(runtime)

    def verify_signature(self, delivery: Any) -> None:
        sent_at = delivery.headers.get("webhook-timestamp", "")
        now = float(sent_at) if sent_at.isdigit() else self.runtime.clock.now()  # DEFECT: "now" is the sender's
        verify(self.runtime.webhook_secret, delivery.headers, delivery.body, now)


def build(runtime: Any) -> NoTimestampToleranceConnector:
    return NoTimestampToleranceConnector(runtime)
