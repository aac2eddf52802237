"""Charges labour as lump sums: one unit at the line's amount, so invoices show no hours and no rate.

The real-world bug: the connector posts every charge as ``quantity: 1,
unit_price: amount``, the shape its expense and milestone code uses and the
one that can never trip the ERP's quantity × unit price check. Every amount
is right, but each time-and-materials invoice line reads "1 × 1,293.00"
instead of "7.5 h × 172.40": the customer cannot check the hours or the rate
against the timesheet and the contract, disputes the invoice, and the ERP's
hours billed and realised rate are nonsense.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from reference_impl.billing import Target
from reference_impl.connector import ReferenceConnector
from reference_impl.valuation import Valuation
from tests.broken_connectors._hooks import require_hooks


class LumpSumValuation(Valuation):
    def line_target(self, contract: dict[str, Any], f: dict[str, Any]) -> Target:
        target = super().line_target(contract, f)
        if target.amount == 0:
            return target
        return dataclasses.replace(target, quantity="1", unit_price=target.amount)  # DEFECT: no hours, no rate


class ChargesLabourAsLumpSumsConnector(ReferenceConnector):
    name = "broken: labour charged as one unit at the line's amount"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_valuation")
        require_hooks(Valuation, "line_target")
        super().__init__(runtime)

    def build_valuation(self) -> Valuation:
        return LumpSumValuation()


def build(runtime: Any) -> ChargesLabourAsLumpSumsConnector:
    return ChargesLabourAsLumpSumsConnector(runtime)
