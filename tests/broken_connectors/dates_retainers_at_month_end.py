"""Dates a retainer month's fee on the month's last day, not its first.

The real-world bug: "the service month is earned at its end", so the fee
is dated on the period's last day. The same month-end run still takes it,
so nothing is late; but the guide dates a retainer month on its
``YYYY-MM-01``, and a charge dated by anything but its item's own day
reads wrong to anyone matching invoices to the contract's schedule.
"""

from __future__ import annotations

import calendar
from dataclasses import replace
from typing import Any

from reference_impl.billing import Target
from reference_impl.connector import ReferenceConnector
from reference_impl.valuation import Valuation


class MonthEndValuation(Valuation):
    def retainer_target(self, contract: dict[str, Any], period: str) -> Target:
        target = super().retainer_target(contract, period)
        year, month = (int(x) for x in period.split("-"))
        return replace(target, charge_date=f"{period}-{calendar.monthrange(year, month)[1]:02d}")  # DEFECT


class DatesRetainersAtMonthEndConnector(ReferenceConnector):
    name = "broken: retainer months dated on their last day"

    def build_valuation(self) -> Valuation:
        return MonthEndValuation()


def build(runtime: Any) -> DatesRetainersAtMonthEndConnector:
    return DatesRetainersAtMonthEndConnector(runtime)
