"""Drops adjustments: the re-approval of an adjusted timesheet is discarded as a duplicate.

The real-world bug: to survive at-least-once webhook delivery, the connector
remembers which timesheets it has already billed and drops any later
``psa.timesheet.approved`` webhook for the same timesheet as a redelivery.
The dedupe key is the timesheet id, where it should be the approval id (or
the id and version). When an approved sheet is adjusted, the PSA sends
``psa.timesheet.adjusted`` (the sheet is back to submitted, so its charges
are reversed), and later the approval of the corrected version, a new
version with a new approval id: the connector answers 200 and ignores it.
The corrected hours are never billed, and nothing is logged as an error.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from tests.broken_connectors._hooks import require_handlers

APPROVED = "psa.timesheet.approved"
SEEN = "approval_seen:"


class DropsAdjustmentConnector(ReferenceConnector):
    name = "broken: approvals deduplicated by timesheet id"

    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime)
        require_handlers(self.handlers, APPROVED)
        self._settle_approval = self.handlers[APPROVED]
        self.handlers[APPROVED] = self.on_approval

    def on_approval(self, timesheet_id: str) -> None:
        if self.storage.get(SEEN + timesheet_id):  # DEFECT: keyed by timesheet, not by approval or version
            self.runtime.log.info("duplicate approval of %s ignored", timesheet_id)
            return
        self._settle_approval(timesheet_id)
        self.storage[SEEN + timesheet_id] = True


def build(runtime: Any) -> DropsAdjustmentConnector:
    return DropsAdjustmentConnector(runtime)
