"""Rounds half-even: labour amounts are rounded with banker's rounding instead of half-up.

The real-world bug: the connector's pricing helper computes ``hours × rate``
in ``Decimal`` and rounds it with Python's built-in ``round()``, which for a
``Decimal`` (as for a float) rounds ties to the nearest *even* integer. The
contract and the README's billing rules say half-up. The two agree except on exact ties, so
the defect hides in tests with round numbers: it bites only on a tie, such
as a half hour at a rate with an odd number of minor units. Half
an hour at 120.05/h is 6002.5 cents: half-up bills 60.03, half-even 60.02.
On a tie whose whole part is even the line is billed one minor unit short.
Tiny per line, but it is leakage nobody can explain at reconciliation.

The ERP checks that a charge's amount is its quantity times its unit price
(rounded half-up), so this connector, like many that price work
themselves, posts each line as one unit at its own rounded amount: the
ERP has nothing to check the rounding against and accepts it.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from reference_impl.billing import Target
from reference_impl.connector import ReferenceConnector
from reference_impl.valuation import Valuation
from tests.broken_connectors._hooks import require_hooks


def price(hours: Decimal, rate_minor: int) -> int:
    """The connector's own pricing helper."""
    return round(hours * rate_minor)  # DEFECT: round() on a Decimal is ROUND_HALF_EVEN


class HalfEvenValuation(Valuation):
    def line_target(self, contract: dict[str, Any], f: dict[str, Any]) -> Target:
        target = super().line_target(contract, f)
        if target.amount == 0:
            return target
        amount = price(Decimal(f["hours"]), target.unit_price)
        return dataclasses.replace(target, amount=amount, quantity="1", unit_price=amount)  # one unit, its own price


class RoundsHalfEvenConnector(ReferenceConnector):
    name = "broken: banker's rounding on labour"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_valuation")
        require_hooks(Valuation, "line_target")
        super().__init__(runtime)

    def build_valuation(self) -> Valuation:
        return HalfEvenValuation()


def build(runtime: Any) -> RoundsHalfEvenConnector:
    return RoundsHalfEvenConnector(runtime)
