"""Five-hour timestamp tolerance: a captured webhook replays for five hours.

The real-world bug: the team read the sender's retry schedule (5 s, 5 min,
30 min, 2 h, 5 h...) and, believing a retry carries the timestamp of the
first attempt, set the tolerance to five hours "so that no retry is ever
refused". A retry is re-signed with a fresh timestamp, so the only
messages the wider window lets in are old ones: a message captured once
can be replayed with a valid signature for five hours. Replays six hours
or two days late are still refused, so a single late replay does not
show the bug.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from tests.broken_connectors._hooks import require_hooks
from tests.broken_connectors.ten_minute_tolerance import verify_within

TOLERANCE_S = 5 * 3600  # DEFECT: Standard Webhooks says 5 minutes


class FiveHourToleranceConnector(ReferenceConnector):
    name = "broken: accepts webhook timestamps up to five hours old"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "verify_signature")
        super().__init__(runtime)

    def verify_signature(self, delivery: Any) -> None:
        verify_within(TOLERANCE_S, self.runtime.webhook_secret, delivery, self.runtime.clock.now())


def build(runtime: Any) -> FiveHourToleranceConnector:
    return FiveHourToleranceConnector(runtime)
