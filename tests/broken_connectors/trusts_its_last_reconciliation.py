"""Trusts its last reconciliation: a contract once found in step is not read again while its own ledger is unchanged.

The real-world bug: to make the monthly reconciliation cheaper, someone cached "this contract was fine" and
skipped it while the connector itself wrote nothing for it, without asking the ERP whether anything changed
there. A finished contract is exactly where a finance user's reversal by hand lands months later, and nothing
else will ever look at it again: the reversed money is lost.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.reconciler import Reconciler
from tests.broken_connectors._hooks import require_hooks


class TrustingReconciler(Reconciler):
    def read_charges(self, project_id: str, etag: str | None) -> tuple[list[dict[str, Any]] | None, str | None]:
        if etag is not None:
            return None, etag  # DEFECT: "unchanged" taken for granted; the ERP is never asked
        return super().read_charges(project_id, etag)


class TrustsItsLastReconciliationConnector(ReferenceConnector):
    name = "broken: trusts its last reconciliation"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_reconciler")
        require_hooks(Reconciler, "read_charges", "reconcile_contract")
        super().__init__(runtime)

    def build_reconciler(self) -> Reconciler:
        return TrustingReconciler(self.runtime, self.clients, self.ledger, self.writer, self.mappings,
                                  self.contracts, self.valuation, self.settlement, self.inbox, self.drain)


def build(runtime: Any) -> TrustsItsLastReconciliationConnector:
    return TrustsItsLastReconciliationConnector(runtime)
