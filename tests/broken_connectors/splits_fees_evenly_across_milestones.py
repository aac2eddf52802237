"""Splits fees evenly across milestones: a milestone is charged the contract's fixed fee over its milestone count.

The real-world bug: the pricing helper was written against contracts whose
milestones were all the same size, so "the fee divided by the number of
milestones" stood in for looking the milestone up by its ``ref``. On a
contract whose deliverables are weighted, the small ones are over-billed and
the large ones under-billed; the total comes out right only when every
milestone is accepted.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from reference_impl.billing import Target
from reference_impl.connector import ReferenceConnector
from reference_impl.valuation import Valuation
from tests.broken_connectors._hooks import require_hooks


class EvenSplitValuation(Valuation):
    def milestone_target(self, contract: dict[str, Any], f: dict[str, Any]) -> Target:
        target = super().milestone_target(contract, f)
        if target.amount == 0:
            return target
        milestones = contract["milestones"]
        amount = sum(m["amount"] for m in milestones) // len(milestones)  # DEFECT: not this milestone's own amount
        return dataclasses.replace(target, amount=amount, unit_price=amount)


class SplitsFeesEvenlyConnector(ReferenceConnector):
    name = "broken: each milestone charged the fee over the milestone count"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_valuation")
        require_hooks(Valuation, "milestone_target")
        super().__init__(runtime)

    def build_valuation(self) -> Valuation:
        return EvenSplitValuation()


def build(runtime: Any) -> SplitsFeesEvenlyConnector:
    return SplitsFeesEvenlyConnector(runtime)
