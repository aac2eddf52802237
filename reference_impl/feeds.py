"""The change feeds: the safety net under the webhooks.

Webhooks are fast but may be lost; every system's change feed
(``GET /events?after=CURSOR``) is complete. Every few hours the connector
reads each feed from the last cursor it saw, for the event types it
handles.

Guarantees:

- No event is taken in twice: a feed event lands in the same inbox, under
  the same event id, as its webhook, so an event that arrives both ways is
  accepted once.
- Nothing is skipped: the cursor (``feed_cursor:SYSTEM``) moves on only
  after the page it ends was accepted into the durable inbox; a failed
  read leaves it where it was, for the next poll.
- A gap is never papered over: a cursor the feed no longer retains (410)
  means events were missed for good, so the system is *resynced*: every
  entity it lists becomes its own inbox entry, handled from its current
  state with its own retries, and only then does reading go on from the
  feed's head. If listing fails, nothing changes and the next poll tries
  the resync again.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import httpx

from reference_impl.api import ApiError, SystemClient
from reference_impl.inbox import Inbox
from reference_impl.mappings import Mappings

FEED_PAGE = 500


class ChangeFeeds:
    def __init__(self, runtime: Any, clients: dict[str, SystemClient], mappings: Mappings, inbox: Inbox,
                 handled: Collection[str], work: Callable[[dict[str, Any]], bool], drain: Callable[[], None]) -> None:
        self.runtime = runtime
        self.clients = clients  # shared with the connector, read at each call: every system it has a client for
        self.mappings = mappings
        self.inbox = inbox
        self.handled = handled  # the event types the connector handles, read at each poll (a live view)
        self.work = work  # (inbox entry) -> whether a system throttled it: handle one accepted entry now
        self.drain = drain  # () -> None: work off every due inbox entry

    def poll(self) -> None:
        """Read every system's change feed from the last cursor; events already seen are skipped."""
        for system in self.clients:  # every system the runtime gave a URL for, in its order
            types = sorted(t for t in self.handled if t.startswith(system + "."))
            if types:
                self._poll(system, ",".join(types))

    def _poll(self, system: str, types: str) -> None:
        client = self.clients[system]
        cursor = self.mappings.recall("feed_cursor", system) or "0"
        throttled = False
        while True:
            try:
                page = client.call("GET", "/events", params={"after": cursor, "limit": str(FEED_PAGE), "types": types})
            except ApiError as exc:
                if exc.status == 410:
                    self.resync(system, exc.problem.get("head_cursor", "0"))
                return  # anything else: try again at the next poll
            except httpx.TransportError:
                return
            for event in page["data"]:
                entry = self.inbox.accept(event["id"], event["type"], event["entity_id"])
                if entry is not None and not throttled:
                    throttled = self.work(entry)  # once throttled, the rest wait in the inbox, due, for the drain
            cursor = page["next_cursor"]
            self.mappings.remember("feed_cursor", system, cursor)
            if len(page["data"]) < FEED_PAGE:
                return

    def resync(self, system: str, head: str) -> None:
        """Rebuild what one system's missed events would have told us, from its current state.

        Listing the system takes a few paged reads; if one fails, nothing
        changes and the next poll tries again. Then every listed entity
        becomes its own durable inbox entry, worked off with its own retries,
        so a resync of hundreds of entities survives faults that would sink
        one long all-or-nothing pass.
        """
        try:
            work = self._resync_work(system)
        except (ApiError, httpx.TransportError) as exc:
            self.runtime.log.warning("listing %s for a resync failed, will retry: %s", system, exc)
            return  # the cursor stays behind retention, so the next poll resyncs again
        for event_type, entity_id in work:
            self.inbox.accept(f"resync:{system}:{head}:{event_type}:{entity_id}", event_type, entity_id)
        self.mappings.remember("feed_cursor", system, head)
        self.runtime.log.info("resyncing %s: %d entities queued; reading on from cursor %s", system, len(work), head)
        self.runtime.scheduler.call_later(0, self.drain)

    def _resync_work(self, system: str) -> list[tuple[str, str]]:
        """(event type, entity id) for everything of ``system`` the connector may have missed."""
        if system == "crm":
            return [("crm.account.updated", a["id"]) for a in self.clients["crm"].list_all("/accounts")]
        if system == "clm":
            return [("clm.contract.amended", c["id"]) for c in self.clients["clm"].list_all("/contracts")
                    if c["status"] == "signed"]
        if system == "psa":
            psa = self.clients["psa"]
            return ([("psa.timesheet.approved", t["id"]) for t in psa.list_all("/timesheets")]
                    + [("psa.expense.approved", e["id"]) for e in psa.list_all("/expenses")]
                    + [("psa.milestone.approved", m["id"]) for m in psa.list_all("/milestones", {"status": "approved"})])
        erp = self.clients["erp"]
        return ([("erp.period.opened", p["period"]) for p in erp.list_all("/periods")]
                + [("erp.invoice.posted", i["id"]) for i in erp.list_all("/invoices", {"status": "posted"})])
