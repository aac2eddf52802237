"""Double post: Monday lines are charged twice, under two idempotency keys.

The real-world bug: after charging an approved timesheet, the connector runs
a "straggler sweep" for lines dated in the *previous* week (consultants
sometimes log last Friday on this week's sheet, and finance wants those in
the earlier week's batch). The sweep's window is meant to be half-open,
``[week_start - 7 days, week_start)``, but is coded with ``<=`` on both
ends, so it also takes every line dated on ``week_start`` itself: each
Monday line is posted a second time. The sweep mints its keys in its own
namespace (``straggler:{line}:v{version}``) instead of reusing the key of
the charge it duplicates, so the ERP's ``Idempotency-Key`` check sees two
different requests and books both. A redelivered webhook still creates
nothing new (both keys are stable), which is why replay tests miss it.

The sweep talks to the systems only through their public APIs, so it stays
a faithful "second code path" however the reference connector evolves.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.rating import price, rate_for

APPROVED = "psa.timesheet.approved"
SWEEP_DAYS = 7


class DoublePostConnector(ReferenceConnector):
    name = "broken: straggler sweep re-posts Monday lines"

    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime)
        self._settle_approval = self.handlers[APPROVED]
        self.handlers[APPROVED] = self.on_approval

    def on_approval(self, timesheet_id: str) -> None:
        self._settle_approval(timesheet_id)
        self.sweep_stragglers(timesheet_id)

    def sweep_stragglers(self, timesheet_id: str) -> None:
        timesheet = self.clients["psa"].call("GET", f"/timesheets/{timesheet_id}")
        if timesheet["status"] != "approved":
            return
        week_start = dt.date.fromisoformat(timesheet["week_start"])
        window_start = week_start - dt.timedelta(days=SWEEP_DAYS)
        for line in timesheet["lines"]:
            work_date = dt.date.fromisoformat(line["date"])
            if line["billable"] and window_start <= work_date <= week_start:  # DEFECT: should be `< week_start`
                self._post_straggler(timesheet, line)

    def _post_straggler(self, timesheet: dict[str, Any], line: dict[str, Any]) -> None:
        contract_id = self.clients["psa"].call("GET", f"/projects/{line['project_id']}")["contract_ref"]
        contract = self.clients["clm"].call("GET", f"/contracts/{contract_id}")
        project = self.clients["erp"].call("GET", "/billing-projects", params={"contract_ref": contract_id})["data"][0]
        rate = rate_for(contract["rate_card"], line["role"], line["date"])
        self.clients["erp"].call(
            "POST", "/charges", headers={"idempotency-key": f"straggler:{line['id']}:v{timesheet['version']}"},
            json={
                "billing_project_id": project["id"], "charge_date": line["date"],
                "description": f"{line['role']} {line['hours']}h on {line['date']}",
                "quantity": line["hours"], "unit_price": rate, "amount": price(Decimal(line["hours"]), rate),
                "currency": contract["currency"],
                "lineage": {
                    "contract_id": contract_id, "contract_version": contract["version"],
                    "source_system": "psa", "source_type": "timesheet_line", "source_id": line["id"],
                    "source_version": timesheet["version"], "approval_id": timesheet["approval_id"],
                    "timesheet_id": timesheet["id"],
                },
            },
        )


def build(runtime: Any) -> DoublePostConnector:
    return DoublePostConnector(runtime)
