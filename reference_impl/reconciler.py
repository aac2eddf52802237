"""The reconciler: the ERP's charges compared with the ledger, and the drift repaired.

The comparison itself is pure (:mod:`reference_impl.reconciliation`); this
is the job around it. Once a month (on the 2nd, after the 1st's billing
runs, so repairs land on the next invoice) and on demand, every contract
the connector bills is queued in the durable inbox, one entry per
contract, and worked off with the inbox's retries, backoff and
``Retry-After``: a pass over hundreds of contracts survives faults and
rate limits, and a crash midway loses nothing.

Guarantees:

- Where the ERP and the ledger drifted apart (a finance user reversed a
  charge by hand; a retry under an expired idempotency key booked a batch
  twice), the ledger adopts the ERP's truth and the drifted items are
  re-settled to their targets, so the ERP converges again.
- A repair is finished even across failures: which items still need
  re-settling is stored (``reconcile_pending:CONTRACT``) *before* anything
  is adopted, and cleared only once they are settled.
- Charges someone else wrote for a source item are reported once each
  (``foreign_charge:ID``), never reversed: a robot cannot tell a mistaken
  duplicate from a deliberate adjustment.
- Every repair is counted per month (``repairs:YYYY-MM``) and kept with its
  detail (``repair:YYYY-MM:ITEM:N``).
- A contract is read in full only if something changed since it was last
  found in step: the ERP's listing of its charges is a conditional read
  (``If-None-Match`` with the ``ETag`` of that read, kept as
  ``reconciled_view:CONTRACT`` with the ledger's revision of the contract
  then). A 304 while the ledger's revision is the same means neither side
  moved, so they still agree; anything else, or a restart, reads it all.
  A contract finished months ago costs one small answer a month.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from reference_impl import reconciliation
from reference_impl.api import SystemClient
from reference_impl.billing import ChargeWriter
from reference_impl.contracts import Contracts
from reference_impl.inbox import Inbox
from reference_impl.ledger import Ledger
from reference_impl.mappings import Mappings
from reference_impl.settlement import Settlement
from reference_impl.valuation import Valuation

RECONCILE = "c2c.reconcile.contract"  # internal work the reconciliation queues per contract; never a webhook
RECONCILE_DAY = 2  # of each month: after the 1st's billing runs, so repairs land on the next invoice
CHARGE_PAGE = 500  # the most the ERP pages: a contract's charges in as few reads as possible


class Reconciler:
    def __init__(self, runtime: Any, clients: dict[str, SystemClient], ledger: Ledger, writer: ChargeWriter,
                 mappings: Mappings, contracts: Contracts, valuation: Valuation, settlement: Settlement,
                 inbox: Inbox, drain: Callable[[], None]) -> None:
        self.runtime = runtime
        self.storage = runtime.storage
        self.clients = clients  # shared with the connector, read at each call
        self.ledger = ledger
        self.writer = writer
        self.mappings = mappings
        self.contracts = contracts
        self.valuation = valuation
        self.settlement = settlement
        self.inbox = inbox
        self.drain = drain  # () -> None: work off every due inbox entry

    def _month(self) -> str:
        return dt.datetime.fromtimestamp(self.runtime.clock.now(), dt.UTC).strftime("%Y-%m")

    def reconcile_if_due(self) -> None:
        """The monthly reconciliation: once per month, from the 2nd on (a restarted instance catches up)."""
        now = dt.datetime.fromtimestamp(self.runtime.clock.now(), dt.UTC)
        month = now.strftime("%Y-%m")
        if now.day >= RECONCILE_DAY and not self.mappings.recall("reconciled", month):
            self.reconcile(f"monthly:{month}")
            self.mappings.remember("reconciled", month, True)

    def reconcile(self, run: str | None = None) -> int:
        """Reconcile every contract the connector bills, monthly or on demand; returns how many were queued.

        The same ``run`` queued twice is queued once.
        """
        run = run or f"on-demand:{self.runtime.clock.now():.0f}"
        contracts = self.mappings.sources("billing_project")
        for contract_id in contracts:
            self.inbox.accept(f"reconcile:{run}:{contract_id}", RECONCILE, contract_id)
        self.runtime.log.info("reconciliation %s: %d contracts queued", run, len(contracts))
        self.runtime.scheduler.call_later(0, self.drain)
        return len(contracts)

    def reconcile_contract(self, contract_id: str) -> int:
        """Compare one contract's charges in the ERP with the ledger, adopt the ERP's truth, re-settle; returns
        the number of items that had drifted.

        The charges are read and the ledger adopts them at one instant, with
        no write of the connector in between, so the comparison never sees
        its own writes half done. Which items still need re-settling is
        stored *before* anything is adopted (and cleared only once they are
        settled), so a failure or a crash anywhere after the read leaves the
        inbox entry to run again and finish the repair.
        """
        project_id = self.mappings.recall("billing_project", contract_id)
        if project_id is None:
            return 0
        pending = set(self.mappings.recall("reconcile_pending", contract_id) or [])
        ledger_revision = self.ledger.revision(contract_id)  # taken before the read: a save after it reads all again
        charges, etag = self.read_charges(project_id, None if pending else self.agreed_tag(contract_id, ledger_revision))
        if charges is None:
            return 0  # 304, and the ledger as it was: neither side moved since they last agreed
        erp_items, foreign = reconciliation.open_charges(charges)
        self._report_foreign(contract_id, foreign)
        if not pending and reconciliation.charge_map(erp_items) == self.writer.open_charges(contract_id):
            # the usual case, told without reading the ledger: the writer keeps its open charges in step
            if etag is not None:
                self.mappings.remember("reconciled_view", contract_id, {"etag": etag, "ledger": ledger_revision})
            return 0
        self.storage.pop(f"reconciled_view:{contract_id}", None)
        drifts = reconciliation.compare(self.ledger.items_of(contract_id), erp_items)
        if drifts:
            pending |= {drift.key for drift in drifts}
            self.mappings.remember("reconcile_pending", contract_id, sorted(pending))
            month = self._month()
            for drift in drifts:
                record = self.ledger.get(drift.key)
                self.storage[f"repair:{month}:{drift.key}:{record.writes if record else 0}"] = {
                    **drift.to_json(), "contract_id": contract_id, "at": self.runtime.clock.now()}
                self.ledger.save(reconciliation.adopt(record, drift, contract_id, erp_items.get(drift.key)))
                self.runtime.log.warning("reconciliation: %s on contract %s drifted (%s); adopting the ERP's charges "
                                         "and re-settling", drift.key, contract_id, drift.describe())
            self.storage[f"repairs:{month}"] = sum(1 for _ in self.storage.scan(f"repair:{month}:"))
            self.writer.invalidate(contract_id)
        if pending:
            self._resettle(contract_id, sorted(pending))
            self.storage.pop(f"reconcile_pending:{contract_id}", None)
        return len(drifts)

    def agreed_tag(self, contract_id: str, ledger_revision: str) -> str | None:
        """The ``ETag`` of the contract's last read that found the ERP and the ledger in step, if the ledger's
        revision of the contract is still what it was then; else None (a hook for variants: read, never change)."""
        agreed = self.mappings.recall("reconciled_view", contract_id)
        return agreed["etag"] if agreed and agreed["ledger"] == ledger_revision else None

    def read_charges(self, project_id: str, etag: str | None) -> tuple[list[dict[str, Any]] | None, str | None]:
        """Every charge of the billing project and its listing's ``ETag``; ``(None, etag)`` when the ERP answers
        that nothing changed since ``etag`` (a hook for variants)."""
        return self.clients["erp"].list_all_if_changed("/charges", {"billing_project_id": project_id},
                                                       page_size=CHARGE_PAGE, etag=etag)

    def _resettle(self, contract_id: str, keys: list[str]) -> None:
        """Bring the given items of one contract back to their targets, from their stored facts (or their source)."""
        contract = self.contracts.current(contract_id)
        targets = []
        for key in keys:
            record = self.ledger.get(key)
            if record is None:
                continue
            target = self.valuation.retarget(contract, key, record.facts)
            if target is not None:
                targets.append(target)
                continue
            # Adopted from the ERP, never settled by this ledger: what it is worth is read from its source.
            lineage = record.lineage
            kind = lineage.get("source_type")
            if kind == "timesheet_line":
                self.settlement.settle_timesheet(lineage["timesheet_id"])
            elif kind == "expense":
                self.settlement.settle_expense(lineage["source_id"])
            elif kind == "milestone":
                self.settlement.settle_milestone(lineage["source_id"])
            elif kind == "retainer_period":
                targets.append(self.valuation.retainer_target(contract, lineage["period"]))
        self.writer.settle(self.contracts.billing(contract), targets)

    def _report_foreign(self, contract_id: str, charges: list[dict[str, Any]]) -> None:
        """Open charges someone else wrote for a source item: reported once each (``foreign_charge:ID``), not
        reversed, since a robot cannot tell a mistaken duplicate from a deliberate adjustment."""
        for charge in charges:
            if f"foreign_charge:{charge['id']}" in self.storage:
                continue
            item = reconciliation.item_key(charge["lineage"])
            self.storage[f"foreign_charge:{charge['id']}"] = {"item": item, "contract_id": contract_id,
                                                             "amount": charge["amount"], "status": charge["status"],
                                                             "seen_at": self.runtime.clock.now()}
            self.runtime.log.warning("reconciliation: charge %s (%s %s) on %s was not written by this connector; "
                                     "left for finance to review", charge["id"], charge["amount"], charge["currency"],
                                     item)

    def repairs(self) -> dict[str, int]:
        """Items the reconciliation repaired, per month (``YYYY-MM``), as kept in durable storage."""
        return {key.split(":", 1)[1]: count for key, count in self.storage.scan("repairs:")}
