"""What every system backend shares: a clock, a change feed, id counters and reads by id."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from mocks.core.clock import Clock, iso
from mocks.core.feed import ChangeFeed
from mocks.core.problems import EntityNotFound


class Backend:
    """State and rules of one system. Subclasses add the domain.

    Every mutation goes through :meth:`publish` exactly once, after the
    state is committed, so the feed (and hence webhooks, traces and the
    simulated people watching) sees changes in commit order. A backend
    publishes only the event types it declares in :attr:`events` (which
    its OpenAPI document lists as webhooks); any other is a bug in the mock
    and raises where it is published.
    """

    system = "base"
    events: dict[str, str] = {}  # event type without the system prefix -> what happened and what the subject is
    singular: dict[str, str] = {}  # collection attribute -> its entity's name in messages, for :meth:`get`
    not_found: type[EntityNotFound] = EntityNotFound

    def __init__(self, clock: Clock, feed_retention: int | None = None) -> None:
        self.clock = clock
        self.feed = ChangeFeed(self.system, feed_retention)
        self._counters: dict[str, int] = defaultdict(int)
        self._last_iso: tuple[float | None, str] = (None, "")  # the last time :meth:`now_iso` rendered, and how

    def next_id(self, prefix: str) -> str:
        self._counters[prefix] += 1
        return f"{prefix}_{self._counters[prefix]:06d}"

    def now_iso(self) -> str:
        """The clock's time as :func:`~mocks.core.clock.iso` renders it, rendered once per distinct time (a write
        stamps its entity and its event at the same instant; rendering is most of a stamp's cost)."""
        now = self.clock.now()
        last = self._last_iso
        if last[0] != now:
            last = (now, iso(now))
            self._last_iso = last  # one tuple, swapped whole: a reader on another thread never sees half of it
        return last[1]

    def publish(self, type_: str, entity_id: str, version: int) -> None:
        if type_ not in self.events:
            raise ValueError(f"{self.system} publishes {type_!r}, which is not one of its declared events")
        self.feed.append(f"{self.system}.{type_}", entity_id, version, self.now_iso())

    def get(self, collection: str, entity_id: str) -> Any:
        """The entity ``entity_id`` of ``collection`` (an attribute named in :attr:`singular`), else a 404."""
        try:
            return getattr(self, collection)[entity_id]
        except KeyError:
            raise self.not_found(self.singular[collection], entity_id) from None
