"""Ignores its own ledger's changes: a 304 from the ERP is taken as "in step" even when the ledger moved since.

The real-world bug: the reconciliation's cache key was the ERP's tag alone. When the connector's own record of a
contract changed with nothing written to the ERP (a bad migration, a restore from an older backup, a bug that
dropped a charge from its books), the ERP still answered "unchanged", and the disagreement was never looked at.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.reconciler import Reconciler
from tests.broken_connectors._hooks import require_hooks


class ErpOnlyReconciler(Reconciler):
    def agreed_tag(self, contract_id: str, ledger_revision: str) -> str | None:
        agreed = self.mappings.recall("reconciled_view", contract_id)
        return agreed["etag"] if agreed else None  # DEFECT: the ledger's revision is not compared


class IgnoresOwnLedgerChangesConnector(ReferenceConnector):
    name = "broken: ignores its own ledger's changes"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_reconciler")
        require_hooks(Reconciler, "agreed_tag", "reconcile_contract")
        super().__init__(runtime)

    def build_reconciler(self) -> Reconciler:
        return ErpOnlyReconciler(self.runtime, self.clients, self.ledger, self.writer, self.mappings,
                                 self.contracts, self.valuation, self.settlement, self.inbox, self.drain)


def build(runtime: Any) -> IgnoresOwnLedgerChangesConnector:
    return IgnoresOwnLedgerChangesConnector(runtime)
