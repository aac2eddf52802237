"""Trusts event order: a timesheet is charged on ``approved`` only if its ``submitted`` event came first.

The real-world bug: the connector mirrors each timesheet's life cycle as
a state machine driven by events (draft -> submitted -> approved), to
"refuse impossible transitions". An ``approved`` event for a sheet it has
not seen submitted is logged as out of order and acknowledged; when the
late ``submitted`` event arrives it moves the sheet to submitted and
waits for an approval that already came. Webhooks are not ordered: a
delayed ``submitted`` overtaken by its ``approved`` leaves an approved
sheet that is never billed.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from tests.broken_connectors._hooks import require_handlers

SUBMITTED, APPROVED = "psa.timesheet.submitted", "psa.timesheet.approved"


class TrustsEventOrderConnector(ReferenceConnector):
    name = "broken: drops approvals that arrive before their submission"

    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime)
        require_handlers(self.handlers, APPROVED)
        self._settle = self.handlers[APPROVED]
        self.handlers[SUBMITTED] = self.on_submitted
        self.handlers[APPROVED] = self.on_approved
        self.subscriptions = self.subscriptions | {SUBMITTED}

    def on_submitted(self, timesheet_id: str) -> None:
        version = self.clients["psa"].call("GET", f"/timesheets/{timesheet_id}")["version"]
        self.storage[f"lifecycle:{timesheet_id}"] = f"submitted v{version}"

    def on_approved(self, timesheet_id: str) -> None:
        timesheet = self.clients["psa"].call("GET", f"/timesheets/{timesheet_id}")
        if self.storage.get(f"lifecycle:{timesheet_id}") != f"submitted v{timesheet['version']}":
            self.runtime.log.warning("timesheet %s approved before submitted: ignored", timesheet_id)
            return  # DEFECT: an out-of-order event is treated as an impossible one
        self.storage[f"lifecycle:{timesheet_id}"] = f"approved v{timesheet['version']}"
        self._settle(timesheet_id)


def build(runtime: Any) -> TrustsEventOrderConnector:
    return TrustsEventOrderConnector(runtime)
