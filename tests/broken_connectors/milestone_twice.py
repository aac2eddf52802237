"""Milestone twice: a milestone is charged when completed and again when approved.

The real-world bug: the first version of the integration billed fixed-fee
milestones "on completion", posting a charge straight to the ERP when the
PSA marked the deliverable completed. Clients then demanded that nothing be
invoiced before their sign-off, so billing was added on
``psa.milestone.approved`` through the connector's normal settle path, with
its ledger and idempotency keys. Nobody removed the old completion hook. The
two paths share neither a ledger entry nor an ``Idempotency-Key`` (the old
one uses ``milestone-completed:{id}``), so the ERP books both: every
completed milestone is charged once at completion (without an approval id
in its lineage, since there was none yet, and at the amount in force then)
and once more at approval. Retries of either webhook replay their own key,
so duplicate-delivery tests do not catch it.

The completion hook talks to the systems only through their public APIs,
as the legacy code did, so it stays a separate code path however the
reference connector evolves.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from tests.broken_connectors._hooks import require_handlers

APPROVED = "psa.milestone.approved"
COMPLETED = "psa.milestone.completed"


class MilestoneTwiceConnector(ReferenceConnector):
    name = "broken: legacy bill-on-completion hook left in place"

    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime)
        require_handlers(self.handlers, APPROVED)  # the approval path stays the reference one
        if COMPLETED in self.handlers:
            raise RuntimeError(f"the reference connector now handles {COMPLETED}: re-plant this mutant's defect")
        self.handlers[COMPLETED] = self.bill_on_completion  # DEFECT: the legacy hook, never removed
        self.subscriptions = frozenset(self.handlers)

    def bill_on_completion(self, milestone_id: str) -> None:
        psa, clm, erp = self.clients["psa"], self.clients["clm"], self.clients["erp"]
        milestone = psa.call("GET", f"/milestones/{milestone_id}")
        if milestone["status"] == "planned":
            return
        contract_id = psa.call("GET", f"/projects/{milestone['project_id']}")["contract_ref"]
        contract = clm.call("GET", f"/contracts/{contract_id}")
        amount = next(m["amount"] for m in contract["milestones"] if m["ref"] == milestone["ref"])
        project = erp.call("GET", "/billing-projects", params={"contract_ref": contract_id})["data"][0]
        erp.call(
            "POST", "/charges", headers={"idempotency-key": f"milestone-completed:{milestone_id}"},
            json={
                "billing_project_id": project["id"], "charge_date": milestone["completed_at"][:10],
                "description": f"Milestone: {milestone['name']} (completed)", "quantity": "1",
                "unit_price": amount, "amount": amount, "currency": contract["currency"],
                "lineage": {
                    "contract_id": contract_id, "contract_version": contract["version"], "source_system": "psa",
                    "source_type": "milestone", "source_id": milestone_id, "source_version": milestone["version"],
                    "approval_id": milestone["approval_id"],
                },
            },
        )


def build(runtime: Any) -> MilestoneTwiceConnector:
    return MilestoneTwiceConnector(runtime)
