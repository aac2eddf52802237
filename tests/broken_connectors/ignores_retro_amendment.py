"""Ignores retroactive amendments: charged work dated before the amendment is never re-priced.

The real-world bug: when a contract is amended, the connector re-prices
the labour it has already charged, but only lines worked on or after the
amendment's ``effective_date`` (the header field the CLM shows on the
amendment, the day it was drafted). The developer assumed amendments only
ever look forward and wanted to "keep closed weeks closed". A rate card
entry, however, carries its own ``effective_from``, and a retroactive rate
change reaches back before the header date: hours worked in between and
already charged keep the old rate. Hours approved after the amendment is
signed are priced from the current card and come out right, so the defect
shows only on work charged before signing, a few lines per amendment.
Expenses, milestones and retainer periods are still re-priced as before.
"""

from __future__ import annotations

from typing import Any

from reference_impl.billing import Target
from reference_impl.connector import ReferenceConnector
from reference_impl.settlement import Settlement
from reference_impl.valuation import Valuation
from tests.broken_connectors._hooks import require_hooks


class ForwardOnlyValuation(Valuation):
    """Re-valuing stored items under a new contract version skips labour dated before its header date."""

    def retarget(self, contract: dict[str, Any], key: str, facts: dict[str, Any]) -> Target | None:
        effective = contract.get("effective_date") or ""
        if facts.get("kind") == "timesheet_line" and facts["date"] < effective:
            return None  # DEFECT: "closed" work before the amendment's header date keeps its old rate
        return super().retarget(contract, key, facts)


class IgnoresRetroAmendmentConnector(ReferenceConnector):
    name = "broken: amendments re-price only work on/after their effective date"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_valuation")
        require_hooks(Valuation, "retarget")
        require_hooks(Settlement, "reprice_contract")
        super().__init__(runtime)

    def build_valuation(self) -> Valuation:
        return ForwardOnlyValuation()


def build(runtime: Any) -> IgnoresRetroAmendmentConnector:
    return IgnoresRetroAmendmentConnector(runtime)
