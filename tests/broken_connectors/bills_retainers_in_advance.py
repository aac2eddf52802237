"""Bills retainers in advance: charge dates are turned into "midnight at head office, in UTC", a day early.

The real-world bug: the connector's date helper reads a business date as
midnight at the firm's head office (Europe/Berlin, an hour or two ahead of
UTC) and sends the ERP the UTC date of that instant, which is the day
before. On labour it looks harmless (a line worked on the 14th is dated the
13th). But a retainer month is dated on its 1st, so February's fee is
dated 31 January: the connector charges it when the period opens, and the
January billing run at 06:00 on 1 February takes it. Every retainer month
is invoiced a month in advance, on the previous month's invoice: a customer
billed for a month not yet delivered, revenue recognised a month early.
The ERP ends up holding the right amount for every item, so a check of
amounts alone sees nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from reference_impl.billing import ChargeWriter
from reference_impl.connector import ReferenceConnector
from tests.broken_connectors._hooks import require_hooks

HEAD_OFFICE = ZoneInfo("Europe/Berlin")


def erp_date(day: str) -> str:
    """The connector's date helper."""
    midnight = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(0), HEAD_OFFICE)
    return midnight.astimezone(dt.UTC).date().isoformat()  # DEFECT: the UTC date of local midnight, a day early


class HeadOfficeDatedWriter(ChargeWriter):
    def new_charge(self, contract, record, target, amount, hold):
        planned = super().new_charge(contract, record, target, amount, hold)
        planned.payload["charge_date"] = erp_date(planned.payload["charge_date"])
        return planned


class BillsRetainersInAdvanceConnector(ReferenceConnector):
    name = "broken: charge dates a day early (head office midnight in UTC)"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_writer")
        require_hooks(ChargeWriter, "new_charge")
        super().__init__(runtime)

    def build_writer(self) -> ChargeWriter:
        return HeadOfficeDatedWriter(self.clients["erp"], self.ledger)


def build(runtime: Any) -> BillsRetainersInAdvanceConnector:
    return BillsRetainersInAdvanceConnector(runtime)
