"""A per-system change feed: every state change, in commit order.

Guarantees: cursors are monotonic integers (as strings) and an event's
cursor never changes; a reader that resumes from the last cursor it saw
misses nothing that is still retained. When retention has dropped events
after a reader's cursor, reading answers 410 so the reader knows to resync
instead of silently skipping changes.
"""

from __future__ import annotations

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


# What ChangeEvent.to_json renders; the OpenAPI documents narrow `type` to the system's event types.
CHANGE_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "One change, as `GET /events` lists it.",
    "properties": {
        "cursor": {"type": "string", "pattern": "^[0-9]+$", "description": "this event's position in the feed"},
        "id": {"type": "string", "description": "the event id, the same as the webhook's `webhook-id`"},
        "type": {"type": "string"},
        "entity_id": {"type": "string"},
        "version": {"type": "integer"},
        "time": {"type": "string", "format": "date-time"},
    },
}

Subscriber = Callable[[ChangeEvent], None]


class ChangeFeed:
    """Append-only log of a system's changes with bounded retention.

    Events live in a list with a moving start (not a deque): reading from
    any cursor is an index computation, however long the feed. Each is
    kept as a compact record (type, entity, version, time) and made a
    :class:`ChangeEvent` again when it is read (its cursor is its place in
    the list, its id a function of the cursor): a year-long run appends
    close to a million events, and the feed keeps every one.
    """

    def __init__(self, system: str, retention: int | None = None) -> None:
        self.system = system
        self.retention = retention
        self._events: list[tuple[str, str, int, str]] = []  # (type, entity id, version, time), in cursor order
        self._first = 1  # cursor of _events[0]
        self._start = 0  # index of the oldest retained event in _events
        self._next = 1
        self._subscribers: list[Subscriber] = []
        self._types: dict[str, str] = {}  # one string per event type, shared by every event of it

    def subscribe(self, subscriber: Subscriber) -> None:
        """Call ``subscriber`` synchronously after every append (webhooks, traces, simulated people)."""
        self._subscribers.append(subscriber)

    def append(self, type_: str, entity_id: str, version: int, time: str) -> ChangeEvent:
        type_ = self._types.setdefault(type_, type_)
        event = self._event(self._next, (type_, entity_id, version, time))
        self._next += 1
        self._events.append((type_, entity_id, version, time))
        if self.retention is not None and len(self._events) - self._start > self.retention:
            self._start = len(self._events) - self.retention
            if self._start > 4096 and self._start > len(self._events) // 2:  # compact now and then
                del self._events[: self._start]
                self._first += self._start
                self._start = 0
        for subscriber in self._subscribers:
            subscriber(event)
        return event

    @property
    def head(self) -> int:
        """Cursor of the newest event (0 when empty)."""
        return self._next - 1

    @property
    def oldest(self) -> int:
        """Cursor of the oldest retained event (``head + 1`` when none is retained)."""
        return self._first + self._start if self._start < len(self._events) else self._next

    def _event(self, cursor: int, record: tuple[str, str, int, str]) -> ChangeEvent:
        type_, entity_id, version, time = record
        return ChangeEvent(cursor, f"evt_{self.system}_{cursor:08d}", self.system, type_, entity_id, version, time)

    def read(self, after: str | None, limit: int, types: frozenset[str] | None = None) -> tuple[list[ChangeEvent], int]:
        """Up to ``limit`` events strictly after cursor ``after`` (of the given types, if any).

        Returns them and the cursor to resume from, which passes over the
        events the type filter skipped, so a filtered reader still advances.
        """
        if after is None or after == "":
            position = 0
        else:
            try:
                position = int(after)
            except ValueError:
                raise BadRequest(f"cursor {after!r} is not a cursor this feed issued") from None
            if position < 0 or position > self.head:
                raise BadRequest(f"cursor {after!r} is outside this feed (head is {self.head})")
        oldest = self.oldest
        if position < oldest - 1:
            raise Gone(
                f"cursor {position} is older than retention (oldest retained event is {oldest}); "
                f"resync from a snapshot, then read on from cursor {self.head}",
                oldest_cursor=str(oldest), head_cursor=str(self.head),
            )
        index = self._start + (position - (oldest - 1))
        page: list[ChangeEvent] = []
        next_cursor = position
        events, first = self._events, self._first
        while index < len(events) and len(page) < limit:
            record = events[index]
            next_cursor = first + index
            if types is None or record[0] in types:
                page.append(self._event(next_cursor, record))
            index += 1
        return page, next_cursor
