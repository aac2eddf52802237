"""Marks the whole timesheet billed: the write-back sends every line of each timesheet an invoice touches.

The real-world bug: the vendor's PSA model has one billing status per
timesheet, so after each invoice the write-back marks "the timesheet" billed
by sending every line of every sheet the invoice bills a line of. Lines the
invoice never carried are marked billed with its number too: non-billable
lines, lines of another contract on the same sheet, and work held over a cap
that was never invoiced. Delivery managers then stop chasing held or
unbilled work, because the PSA says it was invoiced. Every invoiced line is
written back, so a check that walks from invoices to the PSA sees nothing.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from tests.broken_connectors._hooks import require_hooks


class MarksWholeTimesheetBilledConnector(ReferenceConnector):
    name = "broken: write-back marks every line of a timesheet billed"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "mark_invoice_billed")
        super().__init__(runtime)

    def mark_invoice_billed(self, invoice_id: str) -> None:
        super().mark_invoice_billed(invoice_id)
        erp, psa = self.clients["erp"], self.clients["psa"]
        invoice = erp.call("GET", f"/invoices/{invoice_id}")
        sheets = sorted({line["lineage"]["timesheet_id"] for line in invoice["lines"]
                         if line["amount"] > 0 and line["lineage"].get("timesheet_id")})
        for sheet_id in sheets:
            sheet = psa.call("GET", f"/timesheets/{sheet_id}")
            items = [{"type": "timesheet_line", "id": line["id"]} for line in sheet["lines"]]  # DEFECT: every line
            psa.call("POST", "/billing-updates", json={"invoice_ref": invoice["number"], "items": items})


def build(runtime: Any) -> MarksWholeTimesheetBilledConnector:
    return MarksWholeTimesheetBilledConnector(runtime)
