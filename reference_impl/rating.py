"""How the reference connector prices work: rate by work date, half-up rounding."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any


class Unrateable(Exception):
    """No rate card entry covers the role on the work date (a poison record)."""


def rate_for(rate_card: list[dict[str, Any]], role: str, work_date: str) -> int:
    """The rate of the entry with the latest ``effective_from`` on or before ``work_date``."""
    candidates = [e for e in rate_card if e["role"] == role and e["effective_from"] <= work_date]
    if not candidates:
        raise Unrateable(f"no rate for role {role!r} on {work_date}")
    return max(candidates, key=lambda e: e["effective_from"])["rate"]


def price(hours: Decimal, rate_minor: int) -> int:
    """``hours × rate`` rounded half-up to the minor unit."""
    return int((hours * rate_minor).quantize(Decimal(1), rounding=ROUND_HALF_UP))
