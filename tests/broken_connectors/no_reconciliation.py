"""No reconciliation: the connector never compares the ERP with what it wrote, so drift stays.

The real-world bug: the monthly reconciliation job timed out on the
largest billing projects during its first month-end in production, paged
the on-call engineer at 2 a.m., and was switched off "until the ERP team
adds an index". Everything event-driven keeps working, and every test
that feeds the connector events still passes. But when a finance user
reverses a charge by hand in the ERP (it looked wrong to them; the source
says it was right), nothing tells the connector: its ledger still counts
the charge as open, it never re-charges the item, and the money is lost
on exactly the items someone touched by hand.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.reconciler import Reconciler
from tests.broken_connectors._hooks import require_hooks


class SwitchedOffReconciler(Reconciler):
    def reconcile(self, run: str | None = None) -> int:
        return 0  # DEFECT: the job is switched off; nothing is ever compared


class NoReconciliationConnector(ReferenceConnector):
    name = "broken: reconciliation switched off"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_reconciler")
        require_hooks(Reconciler, "reconcile", "reconcile_if_due")
        super().__init__(runtime)

    def build_reconciler(self) -> Reconciler:
        return SwitchedOffReconciler(self.runtime, self.clients, self.ledger, self.writer, self.mappings,
                                     self.contracts, self.valuation, self.settlement, self.inbox, self.drain)


def build(runtime: Any) -> NoReconciliationConnector:
    return NoReconciliationConnector(runtime)
