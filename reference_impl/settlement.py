"""Settlement: bringing the ERP's charges for source items to what they are worth now.

Events are thin: whatever arrives for an item (approved, adjusted,
rejected, amended, repeated, late), the item is read as it is *now*,
valued (:mod:`reference_impl.valuation`) and handed to the charge writer
(:meth:`reference_impl.billing.ChargeWriter.settle`), which moves the
ERP there by reversal and re-charge. So a late or repeated event never
writes stale data, and settling an item twice changes nothing.

Guarantees:

- A timesheet settles every line it has now and every line it ever had
  (remembered in ``timesheet_lines:TIMESHEET``): a line an adjustment
  removed is worth 0, and its charges are reversed.
- An amendment re-values every item of the contract the ledger knows,
  from the facts stored with it, under the new version; on a capped
  contract the cap's split is restored (held work released oldest first,
  or billing put back on hold when the cap falls).
- Every retainer is charged once per period the ERP opens within its
  term: when the period opens (``erp.period.opened``), and by a sweep of
  the open periods every few hours that catches any period this
  connector did not hear of (``period_billed:PERIOD``). A sweep the ERP
  fails is tried again a few minutes later, never sooner than the
  ``Retry-After`` it was given; billing a retainer is idempotent, so a
  half-done sweep just resumes.
"""

from __future__ import annotations

from typing import Any

import httpx

from reference_impl.api import ApiError, SystemClient
from reference_impl.billing import ChargeWriter
from reference_impl.cadence import PRODUCTION, Cadence
from reference_impl.contracts import Contracts
from reference_impl.ledger import Ledger
from reference_impl.mappings import Mappings
from reference_impl.valuation import Valuation


class Settlement:
    def __init__(self, runtime: Any, clients: dict[str, SystemClient], ledger: Ledger, writer: ChargeWriter,
                 mappings: Mappings, contracts: Contracts, valuation: Valuation, cadence: Cadence = PRODUCTION) -> None:
        self.runtime = runtime
        self.cadence = cadence
        self.clients = clients  # shared with the connector, read at each call
        self.ledger = ledger
        self.writer = writer
        self.mappings = mappings
        self.contracts = contracts
        self.valuation = valuation
        self._sweep_retry_waiting = False  # at most one failed sweep waits to be tried again

    # -- PSA work -------------------------------------------------------------------------------
    def settle_timesheet(self, timesheet_id: str) -> None:
        timesheet = self.clients["psa"].call("GET", f"/timesheets/{timesheet_id}")
        approved = timesheet["status"] == "approved"
        facts_by_contract: dict[str, list[dict[str, Any]]] = {}
        current = set()
        for line in timesheet["lines"]:
            current.add(line["id"])
            facts_by_contract.setdefault(self.contracts.of_project(line["project_id"]), []).append({
                "kind": "timesheet_line", "line_id": line["id"], "timesheet_id": timesheet_id,
                "hours": line["hours"], "role": line["role"], "date": line["date"], "billable": line["billable"],
                "approved": approved, "version": timesheet["version"], "approval_id": timesheet["approval_id"],
            })
        for line_id in self.mappings.recall("timesheet_lines", timesheet_id) or []:
            if line_id not in current:  # a line the adjustment removed is worth nothing now
                record = self.ledger.get(f"psa:timesheet_line/{line_id}")
                if record is not None:
                    facts_by_contract.setdefault(record.contract_id, []).append({**record.facts, "approved": False})
        self.mappings.remember("timesheet_lines", timesheet_id,
                               sorted(current | set(self.mappings.recall("timesheet_lines", timesheet_id) or [])))
        for contract_id, facts in facts_by_contract.items():
            contract = self.contracts.current(contract_id)
            self.writer.settle(self.contracts.billing(contract), [self.valuation.line_target(contract, f) for f in facts])

    def settle_expense(self, expense_id: str) -> None:
        expense = self.clients["psa"].call("GET", f"/expenses/{expense_id}")
        contract = self.contracts.current(self.contracts.of_project(expense["project_id"]))
        facts = {"kind": "expense", "expense_id": expense_id, "cost": expense["cost"], "date": expense["date"],
                 "description": expense["description"], "billable": expense["billable"],
                 "approved": expense["status"] == "approved", "version": expense["version"],
                 "approval_id": expense["approval_id"]}
        self.writer.settle(self.contracts.billing(contract), [self.valuation.expense_target(contract, facts)])

    def settle_milestone(self, milestone_id: str) -> None:
        milestone = self.clients["psa"].call("GET", f"/milestones/{milestone_id}")
        contract = self.contracts.current(self.contracts.of_project(milestone["project_id"]))
        facts = {"kind": "milestone", "milestone_id": milestone_id, "ref": milestone["ref"],
                 "name": milestone["name"], "date": (milestone["approved_at"] or milestone["planned_date"])[:10],
                 "approved": milestone["status"] == "approved", "version": milestone["version"],
                 "approval_id": milestone["approval_id"]}
        self.writer.settle(self.contracts.billing(contract), [self.valuation.milestone_target(contract, facts)])

    # -- amendments -----------------------------------------------------------------------------
    def reprice_contract(self, contract_id: str) -> None:
        """An amendment: every item already charged is re-valued under the new version."""
        contract = self.contracts.current(contract_id, fresh=True)
        billing = self.contracts.billing(contract)
        targets = [self.valuation.retarget(contract, record.key, record.facts)
                   for record in self.ledger.items_of(contract_id)]
        self.writer.settle(billing, [t for t in targets if t is not None])
        if contract["billing_type"] == "capped_tm":
            self.writer.rebalance(billing)
        if contract["billing_type"] == "retainer":
            self.settle_retainer(contract)

    # -- retainers ------------------------------------------------------------------------------
    def bill_retainers(self, period: str) -> None:
        """Charge every retainer for a period the ERP opened."""
        for contract_id in self.mappings.sources("retainer"):
            contract = self.contracts.current(contract_id)
            self.writer.settle(self.contracts.billing(contract), [self.valuation.retainer_target(contract, period)])
        self.mappings.remember("period_billed", period, True)

    def sweep_periods(self) -> None:
        """Catch up on periods opened while this connector was not listening (one call when nothing is new).

        A sweep that fails is tried again ``sweep_retry_s`` later (or when the ERP's ``Retry-After`` has passed,
        if that is later), once: sweeps that fail while a retry waits add none, so a throttled ERP never sees
        the retries pile up into a stream of their own.
        """
        try:
            for period in self.open_periods():
                if not self.mappings.recall("period_billed", period):
                    self.bill_retainers(period)
        except (ApiError, httpx.TransportError) as exc:
            if not self._sweep_retry_waiting:
                self._sweep_retry_waiting = True
                wait = max(self.cadence.sweep_retry_s, getattr(exc, "retry_after", None) or 0.0)
                self.runtime.scheduler.call_later(wait, self._retry_sweep)

    def _retry_sweep(self) -> None:
        self._sweep_retry_waiting = False
        self.sweep_periods()

    def settle_retainer(self, contract: dict[str, Any]) -> None:
        """Every open period of one retainer, e.g. when it is signed late or its term is amended."""
        self.writer.settle(self.contracts.billing(contract),
                           [self.valuation.retainer_target(contract, p) for p in self.open_periods()])

    def open_periods(self) -> list[str]:
        return [p["period"] for p in self.clients["erp"].list_all("/periods")]
