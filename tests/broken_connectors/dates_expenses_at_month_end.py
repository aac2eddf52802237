"""Dates every expense charge on the last day of its month, as the expense report it came on, not the day it was spent.

The real-world bug: the vendor's ERP mapping takes the expense report's
period end as the service date of every receipt on it. A taxi on 3 March
shows on the invoice as spent on 31 March; the customer matching receipts
against its own travel records finds none for that day, and disputes the
line. The month, hence the invoice run and every amount, is right.
"""

from __future__ import annotations

import calendar
import dataclasses
from typing import Any

from reference_impl.billing import Target
from reference_impl.connector import ReferenceConnector
from reference_impl.valuation import Valuation
from tests.broken_connectors._hooks import require_hooks


def month_end(date: str) -> str:
    year, month = int(date[:4]), int(date[5:7])
    return f"{date[:7]}-{calendar.monthrange(year, month)[1]:02d}"


class MonthEndExpenses(Valuation):
    def expense_target(self, contract: dict[str, Any], f: dict[str, Any]) -> Target:
        target = super().expense_target(contract, f)
        return dataclasses.replace(target, charge_date=month_end(target.charge_date))  # DEFECT: the report's date


class DatesExpensesAtMonthEndConnector(ReferenceConnector):
    name = "broken: expense charges dated at the end of their month"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_valuation")
        require_hooks(Valuation, "expense_target")
        super().__init__(runtime)

    def build_valuation(self) -> Valuation:
        return MonthEndExpenses()


def build(runtime: Any) -> DatesExpensesAtMonthEndConnector:
    return DatesExpensesAtMonthEndConnector(runtime)
