"""Charges an expense as the markup factor times its cost: quantity 1.125 at the raw cost, not 1 at its value.

The real-world bug: the markup is shown as a quantity ("1.125 × 80.00"),
which adds up to the right amount, so the ERP accepts it. But the invoice
then shows the customer a fractional quantity of the consultant's raw
cost, and the guide asks for an expense (and a milestone) as quantity 1
at its amount.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from reference_impl.billing import Target
from reference_impl.connector import ReferenceConnector
from reference_impl.valuation import Valuation


class MarkupFactorValuation(Valuation):
    def expense_target(self, contract: dict[str, Any], facts: dict[str, Any]) -> Target:
        target = super().expense_target(contract, facts)
        factor = 1 + Decimal(contract["expense_markup_pct"]) / 100
        if target.amount and factor != 1:  # DEFECT: the markup as a quantity of the raw cost
            return replace(target, quantity=format(factor.normalize(), "f"), unit_price=facts["cost"])
        return target


class ChargesExpensesByMarkupFactorConnector(ReferenceConnector):
    name = "broken: an expense's quantity is its markup factor"

    def build_valuation(self) -> Valuation:
        return MarkupFactorValuation()


def build(runtime: Any) -> ChargesExpensesByMarkupFactorConnector:
    return ChargesExpensesByMarkupFactorConnector(runtime)
