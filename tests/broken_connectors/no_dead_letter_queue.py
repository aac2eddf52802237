"""No dead-letter queue: a message that keeps failing is retried a few times, then thrown away.

The real-world bug: the integration platform's retry policy is "retry 8
times with backoff, then discard", and nobody configured the dead-letter
destination, so the discarded messages go nowhere. A timesheet that cannot
be rated because its role is missing from the rate card, or a contract
whose customer has no tax profile yet, fails for days until someone fixes
the source; by then its message is long gone, and the work it described is
never billed.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.inbox import Inbox
from tests.broken_connectors._hooks import require_hooks


class DiscardingInbox(Inbox):
    def failed(self, entry: dict[str, Any], error: str, retry_after: float | None) -> float | None:
        delay = super().failed(entry, error, retry_after)
        if delay is None:
            self.storage.pop(f"dlq:{entry['id']}", None)  # DEFECT: no dead-letter destination configured
        return delay


class NoDeadLetterQueueConnector(ReferenceConnector):
    name = "broken: discards messages after the last retry"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_inbox")
        require_hooks(Inbox, "failed")
        super().__init__(runtime)

    def build_inbox(self) -> Inbox:
        return DiscardingInbox(self.storage, self.runtime.clock.now, lambda: 0.5 + self.runtime.rng.random())


def build(runtime: Any) -> NoDeadLetterQueueConnector:
    return NoDeadLetterQueueConnector(runtime)
