"""One webhook a second: deliveries are acknowledged at once, then worked one a second.

The real-world bug: the webhook endpoint only queues (fast, always 202),
and a single worker takes one message a second off the queue (a scheduled
function on a one-second timer, one message per run). Against a simulated
firm nothing shows: a few hundred webhooks a simulated month are handled
long before they matter. Over real HTTP at twenty approvals a second the
queue grows by nineteen a second, the lag climbs through the load, and
approvals are still queued when the connector is judged. Only a load in real
time (C2C-LOAD-002) catches it. Run it as a process (its timer is in wall
seconds): ``python -m reference_impl tests.broken_connectors.one_webhook_a_second:build``.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from reference_impl.connector import ReferenceConnector
from tests.broken_connectors._hooks import require_hooks

SECONDS_PER_WEBHOOK = 1.0
ACCEPTED = 202


class OneWebhookASecond(ReferenceConnector):
    name = "broken: works one webhook a second"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "receive")
        super().__init__(runtime)
        self._queued: deque[Any] = deque()
        runtime.scheduler.every(SECONDS_PER_WEBHOOK, self.work_one)

    def receive(self, delivery: Any) -> int:
        self._queued.append(delivery)  # DEFECT: acknowledged now, worked at one a second whatever comes in
        return ACCEPTED

    def work_one(self) -> None:
        if self._queued:
            super().receive(self._queued.popleft())


def build(runtime: Any) -> OneWebhookASecond:
    return OneWebhookASecond(runtime)
