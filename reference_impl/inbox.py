"""The connector's durable inbox and dead-letter queue.

Every event the connector accepts (from a webhook, or later from the change
feed) becomes one inbox entry, keyed by its event id, in durable storage:

- an event id seen before is dropped on arrival, so duplicates and
  redeliveries do nothing;
- an entry that fails is retried on its own schedule (exponential backoff
  with jitter, never sooner than the ``Retry-After`` a system asked for),
  so one failing item never blocks the others;
- after ``MAX_ATTEMPTS`` an entry moves to the dead-letter queue, where it
  can be listed and replayed (the source may have been fixed since);
- a crash loses nothing: a new connector instance finds the entries that
  were still pending and works them off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reference_impl.cadence import PRODUCTION, Cadence

MAX_ATTEMPTS = 8


class Inbox:
    def __init__(self, storage: Any, now: Callable[[], float], jitter: Callable[[], float],
                 cadence: Cadence = PRODUCTION) -> None:
        self.storage = storage
        self.cadence = cadence
        self.now = now
        self._jitter = jitter  # () -> a factor in [0.5, 1.5)
        # The pending entries, mirrored in memory (storage stays the truth; a new instance reloads it once).
        self._pending: dict[str, dict[str, Any]] = {entry["id"]: entry for _, entry in storage.scan("inbox:")}

    def accept(self, event_id: str, event_type: str, entity_id: str) -> dict[str, Any] | None:
        """The new entry, or None when this event id was seen before."""
        if f"seen:{event_id}" in self.storage:
            return None
        entry = {"id": event_id, "type": event_type, "entity": entity_id, "attempts": 0, "due": self.now(),
                 "error": None}
        self.storage[f"seen:{event_id}"] = True
        self.put(entry)
        return entry

    def put(self, entry: dict[str, Any]) -> None:
        """Store ``entry`` as pending, durably first (a hook for variants that queue differently)."""
        self.storage[f"inbox:{entry['id']}"] = entry
        self._pending[entry["id"]] = entry

    def _drop(self, event_id: str) -> None:
        self.storage.pop(f"inbox:{event_id}", None)
        self._pending.pop(event_id, None)

    def pending(self) -> list[dict[str, Any]]:
        return sorted(self._pending.values(), key=lambda e: (e["due"], e["id"]))

    def due(self) -> list[dict[str, Any]]:
        now = self.now()
        return [e for e in self.pending() if e["due"] <= now]

    def next_due(self) -> float | None:
        """When the earliest waiting entry is due (None: the inbox is empty)."""
        return min((e["due"] for e in self._pending.values()), default=None)

    def done(self, entry: dict[str, Any]) -> None:
        self._drop(entry["id"])

    def failed(self, entry: dict[str, Any], error: str, retry_after: float | None) -> float | None:
        """Reschedule (returns the delay) or dead-letter (returns None) a failed entry."""
        entry = {**entry, "attempts": entry["attempts"] + 1, "error": error}
        if entry["attempts"] >= MAX_ATTEMPTS:
            self._drop(entry["id"])
            self.storage[f"dlq:{entry['id']}"] = entry
            self.storage["stats:dead_lettered"] = self.storage.get("stats:dead_lettered", 0) + 1
            return None
        delay = min(self.cadence.max_backoff_s, self.cadence.base_backoff_s * 2 ** (entry["attempts"] - 1)) \
            * self._jitter()
        delay = max(delay, retry_after or 0.0)
        entry["due"] = self.now() + delay
        self.put(entry)
        return delay

    def deferred(self, entry: dict[str, Any], wait: float) -> float:
        """Put a throttled entry back, due once ``wait`` (and at least the base backoff) has passed, with the
        same attempts: a system that says "not now" has not failed it. Returns the delay."""
        delay = max(wait, self.cadence.base_backoff_s * self._jitter())
        self.put({**entry, "due": self.now() + delay})
        return delay

    # -- the dead-letter queue ------------------------------------------------------
    def dead_letters(self) -> list[dict[str, Any]]:
        return [entry for _, entry in self.storage.scan("dlq:")]

    def replay(self, event_id: str) -> None:
        """Put a dead letter back in the inbox with a fresh attempt budget."""
        entry = self.storage.pop(f"dlq:{event_id}")
        self.put({**entry, "attempts": 0, "due": self.now()})
        self.storage["stats:replayed"] = self.storage.get("stats:replayed", 0) + 1
