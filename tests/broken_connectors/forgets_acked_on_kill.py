"""Forgets acknowledged work on a kill: the inbox entry is deleted before the event is handled.

The real-world bug: the worker takes a message off its durable queue the
moment it picks it up ("delete on receive", an auto-ack), then handles it.
A handler that fails in an ordinary way (a 5xx, a timeout) puts the entry
back for a retry, so on any day without crashes nothing is lost. But a
process killed mid-handler (an OOM kill, a deploy) takes the entry with it:
the event id is marked seen, so the sender's redelivery and the change feed
are both skipped as duplicates, and the customer, the project or the
charge waits for whatever repairs it later (a resync, the monthly
reconciliation, the next event for the same record), days later if ever.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.inbox import Inbox
from tests.broken_connectors._hooks import require_hooks


class ForgetsAckedOnKillConnector(ReferenceConnector):
    name = "broken: deletes an inbox entry before handling it"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "work")
        require_hooks(Inbox, "done")
        super().__init__(runtime)

    def work(self, entry: dict[str, Any]) -> None:
        self.inbox.done(entry)  # DEFECT: gone from durable storage before the work is done
        super().work(entry)  # a failure the handler catches puts it back; a kill does not


def build(runtime: Any) -> ForgetsAckedOnKillConnector:
    return ForgetsAckedOnKillConnector(runtime)
