"""Blocks on poison: the queue is worked strictly in order, so one bad message holds up everything behind it.

The real-world bug: "events must be applied in order", so the connector
uses a FIFO queue with a single consumer, and a message that fails is
retried, with backoff, before anything behind it may run. There is no
dead-letter queue: in a FIFO queue that would break the order. A
timesheet whose role is missing from the rate card fails until someone
fixes the rate card, days later; until then every other customer's
approvals wait behind it, and miss the billing run.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.inbox import Inbox
from tests.broken_connectors._hooks import require_hooks

RETRY_S = 3600


class FifoInbox(Inbox):
    def accept(self, event_id: str, event_type: str, entity_id: str) -> dict[str, Any] | None:
        entry = super().accept(event_id, event_type, entity_id)
        if entry is not None:
            self.storage["fifo:next"] = entry["seq"] = self.storage.get("fifo:next", 0) + 1
            self.put(entry)
        return entry

    def failed(self, entry: dict[str, Any], error: str, retry_after: float | None) -> float | None:
        delay = retry_after or RETRY_S
        entry.update(attempts=entry["attempts"] + 1, error=error, due=self.now() + delay)
        self.put(entry)
        return delay  # never dead-lettered: a FIFO queue must not skip a message

    def in_order(self) -> list[dict[str, Any]]:
        return sorted(self.pending(), key=lambda e: e.get("seq", 0))


class BlocksOnPoisonConnector(ReferenceConnector):
    name = "broken: works its queue strictly in order, retrying the head forever"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "work", "drain", "build_inbox")
        require_hooks(Inbox, "failed", "accept", "put")
        super().__init__(runtime)

    def build_inbox(self) -> Inbox:
        return FifoInbox(self.storage, self.runtime.clock.now, lambda: 0.5 + self.runtime.rng.random())

    def work(self, entry: dict[str, Any]) -> None:
        self.drain()  # a new message joins the back of the line

    def drain(self) -> None:
        now = self.runtime.clock.now()
        for entry in self.inbox.in_order():
            if entry["due"] > now:
                return  # DEFECT: the head waits for its retry, and everything behind it waits too
            attempts = entry["attempts"]
            ReferenceConnector.work(self, entry)
            if entry["attempts"] > attempts:
                return  # it failed again: the line stays blocked behind it


def build(runtime: Any) -> BlocksOnPoisonConnector:
    return BlocksOnPoisonConnector(runtime)
