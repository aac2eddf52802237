"""Valuation: what each source item is worth under a contract version, as a charge :class:`~reference_impl.billing.Target`.

Pure: a target is a function of the contract version and the item's
*facts* (what the source system said about it when it was last read),
with no I/O. So the same facts under an amended contract give the item's
new worth, which is how an amendment re-prices work already charged.

Guarantees (the rules are :mod:`reference_impl.rating`'s):

- A timesheet line is worth its hours at the rate card entry for its role
  in force on its *work date*; an expense its cost plus the contract's
  markup (both rounded half-up to the minor unit); a milestone its amount
  in the contract version; a retainer period the fee, if the period is in
  the contract's term. Work that is not approved (or not billable) is
  worth 0, so a rejection or an adjustment reverses what was charged.
  What cannot be valued (no rate for the role on that date, a milestone
  the contract does not name) raises :class:`~reference_impl.rating.Unrateable`:
  the inbox retries the event until the source is fixed.
- Every target carries its lineage: contract id and version, source
  system, type, id and version, and the approval that made it billable.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from reference_impl.billing import Target
from reference_impl.rating import marked_up, milestone_amount, period_in_term, price, rate_for


class Valuation:
    def retarget(self, contract: dict[str, Any], key: str, facts: dict[str, Any]) -> Target | None:
        """An item's target from its stored facts, or None for facts of a kind this does not value."""
        kind = facts.get("kind")
        if kind == "timesheet_line":
            return self.line_target(contract, facts)
        if kind == "expense":
            return self.expense_target(contract, facts)
        if kind == "milestone":
            return self.milestone_target(contract, facts)
        if kind == "retainer_period":
            return self.retainer_target(contract, facts["period"])
        return None

    @staticmethod
    def lineage(contract: dict[str, Any], source_type: str, source_id: str, version: int,
                approval_id: str | None, **extra: Any) -> dict[str, Any]:
        return {"contract_id": contract["id"], "contract_version": contract["version"],
                "source_system": "clm" if source_type == "retainer_period" else "psa", "source_type": source_type,
                "source_id": source_id, "source_version": version, "approval_id": approval_id, **extra}

    def line_target(self, contract: dict[str, Any], f: dict[str, Any]) -> Target:
        amount, rate = 0, 0
        if f["approved"] and f["billable"]:
            rate = rate_for(contract["rate_card"], f["role"], f["date"])
            amount = price(Decimal(f["hours"]), rate)
        return Target(f"psa:timesheet_line/{f['line_id']}", f["date"], amount, f["date"],
                      f"{f['role']} {f['hours']}h on {f['date']}", f["hours"], rate,
                      self.lineage(contract, "timesheet_line", f["line_id"], f["version"], f["approval_id"],
                                   timesheet_id=f["timesheet_id"]), f)

    def expense_target(self, contract: dict[str, Any], f: dict[str, Any]) -> Target:
        amount = marked_up(f["cost"], contract["expense_markup_pct"]) if f["approved"] and f["billable"] else 0
        return Target(f"psa:expense/{f['expense_id']}", f["date"], amount, f["date"],
                      f"Expense: {f['description']}", "1", amount,
                      self.lineage(contract, "expense", f["expense_id"], f["version"], f["approval_id"]), f)

    def milestone_target(self, contract: dict[str, Any], f: dict[str, Any]) -> Target:
        amount = milestone_amount(contract, f["ref"]) if f["approved"] else 0
        return Target(f"psa:milestone/{f['milestone_id']}", f["date"], amount, f["date"],
                      f"Milestone: {f['name']}", "1", amount,
                      self.lineage(contract, "milestone", f["milestone_id"], f["version"], f["approval_id"]), f)

    def retainer_target(self, contract: dict[str, Any], period: str) -> Target:
        amount = contract["retainer_fee"] if period_in_term(contract, period) else 0
        first_day = f"{period}-01"
        return Target(f"clm:retainer_period/{contract['id']}/{period}", first_day, amount, first_day,
                      f"Retainer {period}", "1", amount,
                      self.lineage(contract, "retainer_period", f"{contract['id']}/{period}", contract["version"],
                                   None, period=period), {"kind": "retainer_period", "period": period})
