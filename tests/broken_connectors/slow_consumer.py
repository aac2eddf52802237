"""Slow consumer: webhooks are queued at once, then worked ten at a time, every five minutes.

The real-world bug: the integration was built on a cloud queue and a
scheduled function. The webhook endpoint only enqueues (fast, always 200);
a cron timer wakes the worker every five minutes; it receives one batch of ten
messages (the queue's maximum per receive call) and goes back to sleep.
On a quiet day nobody notices. On Friday evening, when a large firm's
managers approve the week, events come faster than 120 an hour, the queue
grows for hours, and on a month's last Friday the approvals miss the
billing run: a month of lag on work that was approved on time.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from tests.broken_connectors._hooks import require_hooks

POLL_S = 300
BATCH = 10  # DEFECT: one receive call per timer tick, and the queue hands out at most ten messages


class SlowConsumerConnector(ReferenceConnector):
    name = "broken: works its queue ten messages every five minutes"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "work", "drain")
        super().__init__(runtime)
        self._on_timer = False
        runtime.scheduler.every(POLL_S, self.receive_batch)

    def work(self, entry: dict[str, Any]) -> None:
        if self._on_timer:
            super().work(entry)
        # otherwise the message stays queued until a timer tick reaches it

    def drain(self) -> None:
        pass  # only the timer works the queue

    def receive_batch(self) -> None:
        self._on_timer = True
        try:
            for entry in self.inbox.due()[:BATCH]:
                super().work(entry)
        finally:
            self._on_timer = False


def build(runtime: Any) -> SlowConsumerConnector:
    return SlowConsumerConnector(runtime)
