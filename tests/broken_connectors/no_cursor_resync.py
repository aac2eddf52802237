"""No cursor resync: on 410 the poller jumps to the feed's head and carries on, skipping what it missed.

The real-world bug: the poller treats "410 Gone: cursor older than
retention" as a nuisance error and "recovers" by asking for the newest
cursor, which makes the error go away. Every event between its old cursor
and the head, which retention has already discarded, is silently skipped:
the approvals in that gap are never charged, and nothing ever says so.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.feeds import ChangeFeeds
from tests.broken_connectors._hooks import require_hooks


class HeadJumpingFeeds(ChangeFeeds):
    def resync(self, system: str, head: str) -> None:
        self.mappings.remember("feed_cursor", system, head)  # DEFECT: no rebuild from current state


class NoCursorResyncConnector(ReferenceConnector):
    name = "broken: skips to the head on 410"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_feeds")
        require_hooks(ChangeFeeds, "resync")
        super().__init__(runtime)

    def build_feeds(self) -> ChangeFeeds:
        return HeadJumpingFeeds(self.runtime, self.clients, self.mappings, self.inbox, self.handlers, self.work,
                                self.drain)


def build(runtime: Any) -> NoCursorResyncConnector:
    return NoCursorResyncConnector(runtime)
