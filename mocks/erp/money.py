"""How the ERP rounds: half-up to the currency's minor unit.

This is the ERP's own arithmetic (tax per line). The oracle and every
connector carry their own: sharing it would let one bug hide in all three.
"""

from __future__ import annotations

from decimal import MAX_EMAX, MIN_EMIN, ROUND_HALF_UP, Context, Decimal

MINOR_UNITS = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "CHF": 2, "CAD": 2, "AUD": 2}


def tax_on(amount_minor: int, rate: Decimal) -> int:
    """``amount_minor * rate`` rounded half-up to a whole minor unit, computed exactly for any amount and finite rate.

    The working precision is sized to the operands, so neither the product nor the rounding can be cut short
    (the default 28 digits would round a large product before the half-up step, or refuse to quantize it).
    """
    _, digits, exponent = rate.as_tuple()
    amount_digits = amount_minor.bit_length() * 31 // 100 + 2  # 0.31 > log10(2): never fewer than the real count
    context = Context(prec=amount_digits + len(digits) + max(int(exponent), 0) + 2, Emax=MAX_EMAX, Emin=MIN_EMIN)
    return int(context.multiply(Decimal(amount_minor), rate).quantize(Decimal(1), rounding=ROUND_HALF_UP, context=context))
