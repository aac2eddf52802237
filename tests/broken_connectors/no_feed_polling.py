"""No feed polling: the connector trusts webhooks alone, so a webhook that never arrives is work never done.

The real-world bug: the integration was built webhook-first, and the
"safety net" poller was switched off in production after it was blamed for
rate-limit trouble ("webhooks are guaranteed at-least-once anyway"). They
are, as long as the sender knows it failed; when an event is lost upstream
(a subscription glitch, a proxy that answered 200), nothing ever delivers
it again. The approval it carried is never charged.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.feeds import ChangeFeeds
from tests.broken_connectors._hooks import require_hooks


class SwitchedOffFeeds(ChangeFeeds):
    def poll(self) -> None:
        return None  # DEFECT: the poller is switched off


class NoFeedPollingConnector(ReferenceConnector):
    name = "broken: webhooks only, no change-feed safety net"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_feeds")
        require_hooks(ChangeFeeds, "poll")
        super().__init__(runtime)

    def build_feeds(self) -> ChangeFeeds:
        return SwitchedOffFeeds(self.runtime, self.clients, self.mappings, self.inbox, self.handlers, self.work,
                                self.drain)


def build(runtime: Any) -> NoFeedPollingConnector:
    return NoFeedPollingConnector(runtime)
