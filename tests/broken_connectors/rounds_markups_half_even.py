"""Rounds markups half-even: a marked-up expense is rounded with banker's rounding instead of half-up.

The real-world bug: labour is priced by the ERP-facing helper, which rounds
half-up, but expenses go through a second helper that applies the markup
with ``Decimal.quantize`` and the default context's ``ROUND_HALF_EVEN``. The
two agree except on exact ties, half a minor unit, which only a markup like
12.5 % on the right cost produces: the expense is then billed a minor unit
short whenever the whole part is even.
"""

from __future__ import annotations

import dataclasses
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from reference_impl.billing import Target
from reference_impl.connector import ReferenceConnector
from reference_impl.valuation import Valuation
from tests.broken_connectors._hooks import require_hooks


class HalfEvenMarkupValuation(Valuation):
    def expense_target(self, contract: dict[str, Any], f: dict[str, Any]) -> Target:
        target = super().expense_target(contract, f)
        if target.amount == 0:
            return target
        exact = Decimal(f["cost"]) * (1 + Decimal(contract["expense_markup_pct"]) / 100)
        amount = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))  # DEFECT: ties to even
        return dataclasses.replace(target, amount=amount, unit_price=amount)


class RoundsMarkupsHalfEvenConnector(ReferenceConnector):
    name = "broken: banker's rounding on marked-up expenses"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_valuation")
        require_hooks(Valuation, "expense_target")
        super().__init__(runtime)

    def build_valuation(self) -> Valuation:
        return HalfEvenMarkupValuation()


def build(runtime: Any) -> RoundsMarkupsHalfEvenConnector:
    return RoundsMarkupsHalfEvenConnector(runtime)
