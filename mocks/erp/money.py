"""How the ERP rounds: half-up to the currency's minor unit.

This is the ERP's own arithmetic (tax per line). The oracle and every
connector carry their own: sharing it would let one bug hide in all three.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

MINOR_UNITS = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "CHF": 2, "CAD": 2, "AUD": 2}


def tax_on(amount_minor: int, rate: Decimal) -> int:
    return int((Decimal(amount_minor) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
