"""Dates recovered work next month: what the change-feed poller recovers is charged on the 1st of next month.

The real-world bug: work the connector learns of from the change feed
(its webhook was lost, or the endpoint was down) is treated as a
"catch-up posting" and, so as not to post into a period finance may be
closing, dated on the first day of the *next* month. The intent was "the
next open period, if the work's own period is already closed"; what
shipped is "always the month after today". Every approval recovered from
the feed, however early in the month, is invoiced a run late, and what is
recovered in the horizon's last month reaches no invoice at all. On a day
without lost webhooks it behaves exactly as the reference does, and the
amounts in the ERP are right: only the dates are wrong.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from reference_impl.billing import ChargeWriter
from reference_impl.connector import ReferenceConnector
from reference_impl.reconciler import RECONCILE
from tests.broken_connectors._hooks import require_hooks


def first_of_next_month(day: dt.date) -> str:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1).isoformat()


class CatchUpWriter(ChargeWriter):
    catching_up = False  # set while the connector works an entry the feed recovered
    today: Any = None

    def new_charge(self, contract, record, target, amount, hold):
        planned = super().new_charge(contract, record, target, amount, hold)
        if self.catching_up:  # DEFECT: "the next open period" shipped as "always next month"
            planned.payload["charge_date"] = max(planned.payload["charge_date"], first_of_next_month(self.today()))
        return planned


class DatesRecoveredWorkNextMonthConnector(ReferenceConnector):
    name = "broken: work recovered from the change feed dated the 1st of next month"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_writer", "receive", "work")
        require_hooks(ChargeWriter, "new_charge")
        self.delivered: set[str] = set()  # event ids that came by webhook
        super().__init__(runtime)

    def build_writer(self) -> ChargeWriter:
        writer = CatchUpWriter(self.clients["erp"], self.ledger)
        writer.today = lambda: dt.datetime.fromtimestamp(self.runtime.clock.now(), dt.UTC).date()
        return writer

    def receive(self, delivery: Any) -> int:
        event_id = delivery.headers.get("webhook-id")
        if event_id:
            self.delivered.add(event_id)
        return super().receive(delivery)

    def work(self, entry: dict[str, Any]) -> bool:
        self.writer.catching_up = entry["id"] not in self.delivered and entry["type"] != RECONCILE
        try:
            return super().work(entry)
        finally:
            self.writer.catching_up = False


def build(runtime: Any) -> DatesRecoveredWorkNextMonthConnector:
    return DatesRecoveredWorkNextMonthConnector(runtime)
