"""How the reference connector prices source items.

Labour is rated by *work date* from the contract's current rate card;
expenses are marked up; milestones and retainer periods take their amount
from the current contract version. Rounding is half-up to the minor unit.
"""

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


def round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def price(hours: Decimal, rate_minor: int) -> int:
    """``hours × rate`` rounded half-up to the minor unit."""
    return round_half_up(hours * rate_minor)


def marked_up(cost_minor: int, markup_pct: str) -> int:
    """``cost × (1 + markup%)`` rounded half-up to the minor unit."""
    return round_half_up(Decimal(cost_minor) * (1 + Decimal(markup_pct) / 100))


def milestone_amount(contract: dict[str, Any], ref: str) -> int:
    for milestone in contract["milestones"]:
        if milestone["ref"] == ref:
            return milestone["amount"]
    raise Unrateable(f"contract {contract['id']} has no milestone {ref!r}")


def period_in_term(contract: dict[str, Any], period: str) -> bool:
    """A period is within the term when the month overlaps [start_date, end_date]."""
    return contract["start_date"][:7] <= period <= contract["end_date"][:7]
