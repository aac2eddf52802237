"""The reference connector: CRM, CLM and PSA into the ERP.

:class:`ReferenceConnector` is the webhook endpoint, the durable inbox and
the dispatch of each event to the collaborator whose job it is:

- :mod:`reference_impl.master_data` (``Customers``): one ERP customer per
  CRM account, kept up to date with ``If-Match``;
- :mod:`reference_impl.contracts` (``Contracts``): each signed contract's
  ERP billing project and PSA project, and its current version;
- :mod:`reference_impl.valuation` (``Valuation``): what a source item is
  worth under a contract version (:mod:`reference_impl.rating`);
- :mod:`reference_impl.settlement` (``Settlement``): timesheets, expenses,
  milestones, amendments and retainer periods brought to their value in
  the ERP by :mod:`reference_impl.billing` (reversal and re-charge, holds
  and releases on capped contracts);
- :mod:`reference_impl.feeds` (``ChangeFeeds``): the change feeds, polled
  as a safety net under the webhooks, with a resync after a gap;
- :mod:`reference_impl.reconciler` (``Reconciler``): the monthly comparison
  of the ERP's charges with the ledger, which repairs drift;
- :mod:`reference_impl.mappings` (``Mappings``): the durable id mappings
  they share.

What it guarantees here (each collaborator's module states its own):

- Webhooks are verified (Standard Webhooks, runtime clock) before anything
  else; a forged one, or one whose timestamp is more than 5 minutes off,
  gets 401 and changes nothing.
- An accepted event is never lost, and a second copy of it does nothing:
  it goes into a durable inbox deduplicated by event id
  (:mod:`reference_impl.inbox`) before the 200, and from then on retries
  (backoff, jitter, ``Retry-After``, a dead-letter queue replayed every
  12 h) are the inbox's job, not the sender's; one failing entry never
  blocks another, and an entry a crash interrupted is worked again by the
  next instance.
- Events are thin: every handler reads the current entity, so a late or
  repeated event never writes stale data, and handling one again changes
  nothing.

A variant of the connector (the broken connectors in ``tests/`` are
variants) changes a collaborator's behaviour by overriding the ``build_*``
method that makes it, returning a subclass; each ``build_*`` may use what
was built before it, in the order of :meth:`ReferenceConnector.__init__`.
The ``clients`` (one :class:`~reference_impl.api.SystemClient` per system)
are shared by every collaborator and looked up at each call, so a variant
may also wrap one.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from reference_impl.api import ApiError, SystemClient
from reference_impl.billing import ChargeWriter, OutcomeUnknown
from reference_impl.cadence import PRODUCTION, Cadence
from reference_impl.contracts import Contracts
from reference_impl.feeds import ChangeFeeds
from reference_impl.inbox import Inbox
from reference_impl.ledger import Ledger
from reference_impl.mappings import Mappings
from reference_impl.master_data import Customers
from reference_impl.rating import Unrateable
from reference_impl.reconciler import RECONCILE, Reconciler
from reference_impl.settlement import Settlement
from reference_impl.signatures import InvalidSignature, verify
from reference_impl.valuation import Valuation
from reference_impl.writeback import write_back_invoice

THROTTLED = 429  # a system's "not now" (answered, or remembered by the client until its Retry-After passes)


class ReferenceConnector:
    name = "c2c reference connector"
    cadence: Cadence = PRODUCTION  # how often it does its periodic work (reference_impl.cadence)

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.storage = runtime.storage
        self._drain_due: float | None = None  # when the drain drain_soon scheduled runs (None: none is scheduled)
        self.clients = {
            system: SystemClient(runtime.http, system, url, *runtime.credentials[system], runtime.clock.now)
            for system, url in runtime.urls.items()
        }
        self.mappings = Mappings(self.storage)
        self.ledger = Ledger(self.storage)
        self.writer = self.build_writer()
        self.inbox = self.build_inbox()
        self.customers = self.build_customers()
        self.contracts = self.build_contracts()
        self.valuation = self.build_valuation()
        self.settlement = self.build_settlement()
        self.contracts.charge_retainer = self.settlement.settle_retainer  # a retainer is charged once set up
        self.reconciler = self.build_reconciler()
        self.handlers = {
            "crm.account.created": self.customers.sync,
            "crm.account.updated": self.customers.update,
            "clm.contract.signed": self.contracts.set_up,
            "clm.contract.amended": self.settlement.reprice_contract,
            "psa.timesheet.approved": self.settlement.settle_timesheet,
            "psa.timesheet.adjusted": self.settlement.settle_timesheet,
            "psa.timesheet.rejected": self.settlement.settle_timesheet,
            "psa.expense.approved": self.settlement.settle_expense,
            "psa.expense.rejected": self.settlement.settle_expense,
            "psa.milestone.approved": self.settlement.settle_milestone,
            "erp.period.opened": self.settlement.bill_retainers,
            "erp.invoice.posted": self.mark_invoice_billed,
            "erp.credit_note.posted": self.mark_invoice_billed,  # its positive lines bill work too
            RECONCILE: self.reconciler.reconcile_contract,
        }
        self.subscriptions = frozenset(t for t in self.handlers if t != RECONCILE)
        self.feeds = self.build_feeds()
        cadence = self.cadence
        runtime.scheduler.every(cadence.period_sweep_s, self.settlement.sweep_periods)
        runtime.scheduler.every(cadence.drain_s, self.drain)
        runtime.scheduler.every(cadence.feed_poll_s, self.feeds.poll)
        runtime.scheduler.every(cadence.dead_letter_replay_s, self.replay_dead_letters)
        runtime.scheduler.every(cadence.reconcile_check_s, self.reconciler.reconcile_if_due)
        runtime.scheduler.call_later(0, self.drain)  # a restarted instance picks up where the last one stopped

    # -- the collaborators, one build method each: a variant overrides one to return a subclass ------------
    def build_writer(self) -> ChargeWriter:
        return ChargeWriter(self.clients["erp"], self.ledger)

    def build_inbox(self) -> Inbox:
        return Inbox(self.storage, self.runtime.clock.now, lambda: 0.5 + self.runtime.rng.random(), self.cadence)

    def build_customers(self) -> Customers:
        return Customers(self.clients, self.mappings)

    def build_contracts(self) -> Contracts:
        return Contracts(self.clients, self.mappings, self.customers)

    def build_valuation(self) -> Valuation:
        return Valuation()

    def build_settlement(self) -> Settlement:
        return Settlement(self.runtime, self.clients, self.ledger, self.writer, self.mappings, self.contracts,
                          self.valuation, self.cadence)

    def build_reconciler(self) -> Reconciler:
        return Reconciler(self.runtime, self.clients, self.ledger, self.writer, self.mappings, self.contracts,
                          self.valuation, self.settlement, self.inbox, self.drain)

    def build_feeds(self) -> ChangeFeeds:
        return ChangeFeeds(self.runtime, self.clients, self.mappings, self.inbox, self.handlers, self.work, self.drain)

    # -- the webhook endpoint -------------------------------------------------
    def receive(self, delivery: Any) -> int:
        try:
            self.verify_signature(delivery)
        except InvalidSignature as exc:
            self.runtime.log.warning("rejected webhook: %s", exc)
            return 401
        event = json.loads(delivery.body)
        if event["type"] not in self.subscriptions or event["type"] not in self.handlers:
            return 204
        entry = self.inbox.accept(event["id"], event["type"], event["data"]["id"])
        if entry is not None:  # a duplicate was handled (or is pending) already
            self.work(entry)
        return 200  # accepted: from here on, retries are the inbox's job, not the sender's

    def verify_signature(self, delivery: Any) -> None:
        """Standard Webhooks: the shared secret's HMAC, and a timestamp within 5 minutes of now (no replays)."""
        verify(self.runtime.webhook_secret, delivery.headers, delivery.body, self.runtime.clock.now())

    # -- the inbox and the dispatch -------------------------------------------------------------
    def work(self, entry: dict[str, Any]) -> bool:
        """Handle one inbox entry; on failure, reschedule it (or dead-letter it) without blocking others.

        Returns True when a system throttled it (429): the entry waits, and so should the caller's other work,
        rather than meet one 429 per entry (a drain over a backlog would otherwise hammer the throttled
        system, and hold the connector's lock, for as long as the backlog is long)."""
        try:
            self.handlers[entry["type"]](entry["entity"])
        except (ApiError, Unrateable, httpx.TransportError) as exc:
            if isinstance(exc, OutcomeUnknown):  # adopt what a lost answer wrote before writing again
                self.inbox.accept(f"reconcile:outcome-unknown:{entry['id']}:{entry['attempts']}", RECONCILE,
                                  exc.contract_id)
                self.runtime.scheduler.call_later(0, self.drain)
            retry_after = exc.retry_after if isinstance(exc, ApiError) else None
            if isinstance(exc, ApiError) and exc.status == THROTTLED:  # not a failure: it waits, attempts untouched
                self.drain_soon(self.inbox.deferred(entry, retry_after or 0.0))
                return True
            delay = self.inbox.failed(entry, f"{type(exc).__name__}: {exc}", retry_after)
            self.runtime.log.warning("%s %s failed (attempt %d): %s", entry["type"], entry["entity"],
                                     entry["attempts"] + 1, exc)
            if delay is not None:
                self.runtime.scheduler.call_later(delay, self.drain)
            return False
        self.inbox.done(entry)
        return False

    def drain_soon(self, delay: float) -> None:
        """One drain ``delay`` from now, unless one is already due by then: a backlog of entries a system
        throttled asks for one drain, not one each (which would each meet the system and take the lock). A
        drain it runs that finishes schedules the next for the earliest entry due later, so a deferred entry
        does not wait for the hourly drain."""
        due = self.runtime.clock.now() + delay
        if self._drain_due is not None and self._drain_due <= due:
            return
        self._drain_due = due
        self.runtime.scheduler.call_later(delay, lambda: self._scheduled_drain(due))

    def _scheduled_drain(self, due: float) -> None:
        if due != self._drain_due:
            return  # superseded by an earlier drain, which ran (or will): it schedules what is left
        self._drain_due = None
        if self.drain():
            return  # throttled again: that entry asked for the next drain
        waiting, now = self.inbox.next_due(), self.runtime.clock.now()
        if waiting is not None and waiting > now:  # one still due now was left by design: the hourly drain takes it
            self.drain_soon(waiting - now)

    def drain(self) -> bool:
        """Work off every entry that is due (after a backoff, or left behind by a crashed instance), until a
        system throttles one (returns True): the rest stay due, for the drain the throttled entry asked for."""
        return any(self.work(entry) for entry in self.inbox.due())  # any() stops at the first throttled

    def replay_dead_letters(self) -> None:
        """Sources get fixed: every dead letter gets a fresh set of attempts."""
        for entry in self.inbox.dead_letters():
            self.inbox.replay(entry["id"])
        self.drain()

    # -- billing status write-back -------------------------------------------------------------
    def mark_invoice_billed(self, invoice_id: str) -> None:
        """Write the invoice number back to every PSA item it billed."""
        write_back_invoice(self.clients["erp"], self.clients["psa"], invoice_id)

    def close(self) -> None:
        return None


def build(runtime: Any) -> ReferenceConnector:
    return ReferenceConnector(runtime)
