"""Dates a milestone's charge on the day the team marked it completed, not its plan or the client's acceptance.

The real-world bug: the PSA's ``completed_at`` is read as "the day the
deliverable was done", and the charge carries it. But a fixed fee is earned
when the client accepts the deliverable: the invoice line shows a date days
before the acceptance that made it billable (the delivery date of work the
client had not yet signed off), sometimes in the month before. The amount,
and the run it is billed on, are right.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.settlement import Settlement
from tests.broken_connectors._hooks import require_hooks


class CompletionDatedSettlement(Settlement):
    def settle_milestone(self, milestone_id: str) -> None:
        milestone = self.clients["psa"].call("GET", f"/milestones/{milestone_id}")
        contract = self.contracts.current(self.contracts.of_project(milestone["project_id"]))
        when = milestone["completed_at"] or milestone["approved_at"] or milestone["planned_date"]  # DEFECT: completion
        facts = {"kind": "milestone", "milestone_id": milestone_id, "ref": milestone["ref"],
                 "name": milestone["name"], "date": when[:10],
                 "approved": milestone["status"] == "approved", "version": milestone["version"],
                 "approval_id": milestone["approval_id"]}
        self.writer.settle(self.contracts.billing(contract), [self.valuation.milestone_target(contract, facts)])


class DatesMilestonesByCompletionConnector(ReferenceConnector):
    name = "broken: milestone charges dated by their completion"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_settlement")
        require_hooks(Settlement, "settle_milestone")
        super().__init__(runtime)

    def build_settlement(self) -> Settlement:
        return CompletionDatedSettlement(self.runtime, self.clients, self.ledger, self.writer, self.mappings,
                                         self.contracts, self.valuation, self.cadence)


def build(runtime: Any) -> DatesMilestonesByCompletionConnector:
    return DatesMilestonesByCompletionConnector(runtime)
