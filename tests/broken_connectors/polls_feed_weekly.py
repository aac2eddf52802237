"""Polls the change feed weekly: lost webhooks are recovered, but days after the work was approved.

The real-world bug: the change-feed sweep was moved into the weekly batch
window to save API quota ("webhooks arrive almost always, the sweep is
only a safety net"). Nothing is ever lost for good: every approval whose
webhook was dropped reaches the ERP at the next Sunday sweep. But an
approval lost on a Monday waits six days, and one lost in the last week
of a month misses that month's billing run.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.feeds import ChangeFeeds
from tests.broken_connectors._hooks import require_hooks

WEEK_S = 7 * 86400


class WeeklyFeeds(ChangeFeeds):
    def poll(self) -> None:
        now = self.runtime.clock.now()
        storage = self.runtime.storage
        if now - storage.get("weekly_sweep_at", float("-inf")) < WEEK_S:
            return  # DEFECT: the safety net runs in the weekly batch window only
        storage["weekly_sweep_at"] = now
        super().poll()


class PollsFeedWeeklyConnector(ReferenceConnector):
    name = "broken: sweeps the change feeds once a week"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_feeds")
        require_hooks(ChangeFeeds, "poll")
        super().__init__(runtime)

    def build_feeds(self) -> ChangeFeeds:
        return WeeklyFeeds(self.runtime, self.clients, self.mappings, self.inbox, self.handlers, self.work, self.drain)


def build(runtime: Any) -> PollsFeedWeeklyConnector:
    return PollsFeedWeeklyConnector(runtime)
