"""Misses a retainer period: the last month of every retainer's term is never billed.

The real-world bug: the connector builds each retainer's billing schedule
the way a subscription is set up, as "N monthly periods from the start
month", and computes N as the number of whole months between the start and
end dates. CLM terms are inclusive of their end date (1 February to 31 March
is two months of service), but the month difference between those dates is
one: a fence-post error, so the schedule is one period short. Each
retainer's final month opens in the ERP, the connector looks it up in the
schedule, does not find it and charges nothing, without any error. If an
amendment extends the term, the old last month is billed at last and the
new last month is the one missed. Only a per-period reconciliation notices.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from reference_impl.billing import Target
from reference_impl.connector import ReferenceConnector
from reference_impl.valuation import Valuation
from tests.broken_connectors._hooks import require_hooks


def _month(day: str) -> tuple[int, int]:
    date = dt.date.fromisoformat(day)
    return date.year, date.month


def billing_schedule(start_date: str, end_date: str) -> list[str]:
    """The retainer's monthly periods, as the connector's schedule builder computes them."""
    (y0, m0), (y1, m1) = _month(start_date), _month(end_date)
    months = (y1 - y0) * 12 + (m1 - m0)  # DEFECT: the term includes its end month; this should be + 1
    return [f"{y0 + (m0 - 1 + i) // 12:04d}-{(m0 - 1 + i) % 12 + 1:02d}" for i in range(months)]


class ScheduledRetainerValuation(Valuation):
    """A retainer period is worth its fee only if the billing schedule lists it."""

    def retainer_target(self, contract: dict[str, Any], period: str) -> Target:
        target = super().retainer_target(contract, period)
        if target.amount and period not in billing_schedule(contract["start_date"], contract["end_date"]):
            return dataclasses.replace(target, amount=0, unit_price=0)
        return target


class MissesRetainerPeriodConnector(ReferenceConnector):
    name = "broken: retainer schedule one period short"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_valuation")
        require_hooks(Valuation, "retainer_target")
        super().__init__(runtime)

    def build_valuation(self) -> Valuation:
        return ScheduledRetainerValuation()


def build(runtime: Any) -> MissesRetainerPeriodConnector:
    return MissesRetainerPeriodConnector(runtime)
