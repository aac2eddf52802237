"""Stale approval: charges cite the first approval of a timesheet, even after it was adjusted and re-approved.

The real-world bug: the connector stores the PSA approval reference the first
time it syncs a timesheet ("approval_ref" on its mapping row) and reuses it for
every later charge of that sheet. When a manager adjusts an approved sheet and
approves the new version, the amounts are re-posted correctly, but every new
charge still names the first approval, which approved different hours. The
invoice totals are right; the audit trail is not: a customer or auditor who
follows an invoice line to its approval finds an approval of figures that
were never billed. Lineage that cites a superseded approval is a SOX finding,
not a rounding error.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from reference_impl.billing import Target
from reference_impl.connector import ReferenceConnector
from reference_impl.valuation import Valuation
from tests.broken_connectors._hooks import require_hooks


class FirstApprovalValuation(Valuation):
    def __init__(self) -> None:
        self.first_approval: dict[str, str] = {}  # DEFECT: a mapping row written once, never refreshed

    def line_target(self, contract: dict[str, Any], f: dict[str, Any]) -> Target:
        target = super().line_target(contract, f)
        if not f["approval_id"]:
            return target
        first = self.first_approval.setdefault(f["timesheet_id"], f["approval_id"])
        return dataclasses.replace(target, lineage={**target.lineage, "approval_id": first})


class StaleApprovalConnector(ReferenceConnector):
    name = "broken: cites a timesheet's first approval forever"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_valuation")
        require_hooks(Valuation, "line_target")
        super().__init__(runtime)

    def build_valuation(self) -> Valuation:
        return FirstApprovalValuation()


def build(runtime: Any) -> StaleApprovalConnector:
    return StaleApprovalConnector(runtime)
