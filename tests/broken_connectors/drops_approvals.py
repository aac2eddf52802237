"""Dropped approvals: approvals that arrive during the month-end close are acknowledged and lost.

The real-world bug: to keep new charges out of a period that finance is
closing, the connector freezes billing from 18:00 UTC on the last day of a
month until the ERP's billing run at 06:00 on the 1st. An approval webhook
that arrives during the freeze is skipped, yet the endpoint still answers
200, so the PSA considers it delivered and never sends it again; the author
assumed "the next sync" would pick it up, but the connector has no such
sync. Those timesheets are never charged: pure revenue leakage, with no
error anywhere. The fix is to answer 503 (the sender retries after the
freeze) or to park the approval in durable storage and drain it after the run.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from reference_impl.connector import ReferenceConnector

APPROVED = "psa.timesheet.approved"
FREEZE_FROM_HOUR = 18  # on the last day of a month
BILLING_RUN_HOUR = 6  # on the 1st


def in_close_freeze(timestamp: float) -> bool:
    """Is this moment (Unix seconds) inside the month-end billing freeze?"""
    now = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    last_day_of_month = (now + dt.timedelta(days=1)).day == 1
    return (last_day_of_month and now.hour >= FREEZE_FROM_HOUR) or (now.day == 1 and now.hour < BILLING_RUN_HOUR)


class DropsApprovalsConnector(ReferenceConnector):
    name = "broken: acknowledges and skips approvals during the month-end freeze"

    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime)
        self._settle_approval = self.handlers[APPROVED]
        self.handlers[APPROVED] = self.on_approval

    def on_approval(self, timesheet_id: str) -> None:
        if in_close_freeze(self.runtime.clock.now()):
            self.runtime.log.info("billing freeze: approval of %s skipped", timesheet_id)
            return  # DEFECT: the webhook is still answered 200, so it is never redelivered
        self._settle_approval(timesheet_id)


def build(runtime: Any) -> DropsApprovalsConnector:
    return DropsApprovalsConnector(runtime)
