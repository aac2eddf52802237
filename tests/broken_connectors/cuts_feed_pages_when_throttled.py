"""Cuts feed pages when throttled: a change-feed page stops being taken in at the first throttle, yet the cursor
moves past the whole page.

The real-world bug: an optimisation in the feed poller ("once a system
throttles us, leave the rest of the page for the next poll") that forgot the
cursor: it is saved at the page's end as before, so the next poll starts
after the events it left. Those events came only through the feed (their
webhooks were lost), so the work they announce is never charged, adjusted
or written back. Without throttling, or without lost webhooks, nothing shows.
"""

from __future__ import annotations

from typing import Any

import httpx

from reference_impl.api import ApiError
from reference_impl.connector import ReferenceConnector
from reference_impl.feeds import FEED_PAGE, ChangeFeeds
from tests.broken_connectors._hooks import require_hooks


class PageCuttingFeeds(ChangeFeeds):
    def _poll(self, system: str, types: str) -> None:
        client = self.clients[system]
        cursor = self.mappings.recall("feed_cursor", system) or "0"
        while True:
            try:
                page = client.call("GET", "/events", params={"after": cursor, "limit": str(FEED_PAGE), "types": types})
            except ApiError as exc:
                if exc.status == 410:
                    self.resync(system, exc.problem.get("head_cursor", "0"))
                return
            except httpx.TransportError:
                return
            for event in page["data"]:
                entry = self.inbox.accept(event["id"], event["type"], event["entity_id"])
                if entry is not None and self.work(entry):
                    break  # DEFECT: the rest of the page is left out, but the cursor still moves past it
            cursor = page["next_cursor"]
            self.mappings.remember("feed_cursor", system, cursor)
            if len(page["data"]) < FEED_PAGE:
                return


class CutsFeedPagesWhenThrottledConnector(ReferenceConnector):
    name = "broken: a feed page cut at the first throttle, its cursor moved past it"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_feeds")
        require_hooks(ChangeFeeds, "_poll")
        super().__init__(runtime)

    def build_feeds(self) -> ChangeFeeds:
        return PageCuttingFeeds(self.runtime, self.clients, self.mappings, self.inbox, self.handlers, self.work,
                                self.drain)


def build(runtime: Any) -> CutsFeedPagesWhenThrottledConnector:
    return CutsFeedPagesWhenThrottledConnector(runtime)
