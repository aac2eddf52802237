"""A per-system change feed: every state change, in commit order.

Guarantees: cursors are monotonic integers (as strings) and an event's
cursor never changes; a reader that resumes from the last cursor it saw
misses nothing that is still retained. When retention has dropped events
after a reader's cursor, reading answers 410 so the reader knows to resync
instead of silently skipping changes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mocks.core.problems import BadRequest, Gone


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    cursor: int
    id: str  # globally unique event id, stable across redeliveries
    system: str
    type: str  # e.g. "psa.timesheet.approved"
    entity_id: str
    version: int
    time: str  # ISO 8601, simulated time

    def to_json(self) -> dict[str, Any]:
        return {
            "cursor": str(self.cursor),
            "id": self.id,
            "type": self.type,
            "entity_id": self.entity_id,
            "version": self.version,
            "time": self.time,
        }


Subscriber = Callable[[ChangeEvent], None]


class ChangeFeed:
    """Append-only log of a system's changes with bounded retention."""

    def __init__(self, system: str, retention: int | None = None) -> None:
        self.system = system
        self.retention = retention
        self._events: deque[ChangeEvent] = deque()
        self._next = 1
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        """Call ``subscriber`` synchronously after every append (webhooks, traces, simulated people)."""
        self._subscribers.append(subscriber)

    def append(self, type_: str, entity_id: str, version: int, time: str) -> ChangeEvent:
        event = ChangeEvent(self._next, f"evt_{self.system}_{self._next:08d}", self.system, type_, entity_id, version, time)
        self._next += 1
        self._events.append(event)
        if self.retention is not None:
            while len(self._events) > self.retention:
                self._events.popleft()
        for subscriber in self._subscribers:
            subscriber(event)
        return event

    @property
    def head(self) -> int:
        """Cursor of the newest event (0 when empty)."""
        return self._next - 1

    def read(self, after: str | None, limit: int) -> tuple[list[ChangeEvent], int]:
        """Events strictly after cursor ``after``; returns them and the cursor to resume from."""
        if after is None or after == "":
            position = 0
        else:
            try:
                position = int(after)
            except ValueError:
                raise BadRequest(f"cursor {after!r} is not a cursor this feed issued") from None
            if position < 0 or position > self.head:
                raise BadRequest(f"cursor {after!r} is outside this feed (head is {self.head})")
        oldest = self._events[0].cursor if self._events else self._next
        if position < oldest - 1:
            raise Gone(
                f"cursor {position} is older than retention (oldest retained event is {oldest}); resync from a snapshot",
                oldest_cursor=str(oldest),
            )
        start = position - (oldest - 1)
        page = [self._events[i] for i in range(start, min(start + limit, len(self._events)))]
        next_cursor = page[-1].cursor if page else position
        return page, next_cursor
