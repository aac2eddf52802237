"""Billing status write-back: tell the PSA which invoice billed each of its items."""

from __future__ import annotations

from typing import Any

from reference_impl.api import SystemClient

PSA_ITEMS = ("timesheet_line", "expense", "milestone")
BATCH = 500  # items per POST /billing-updates


def write_back_invoice(erp: SystemClient, psa: SystemClient, invoice_id: str) -> None:
    """Mark every PSA item a posted invoice billed (positive lines only), in batches; repeating it changes nothing."""
    invoice = erp.call("GET", f"/invoices/{invoice_id}")
    items: dict[str, dict[str, Any]] = {}
    for line in invoice["lines"]:
        lineage = line["lineage"]
        if lineage.get("source_type") in PSA_ITEMS and line["amount"] > 0:
            items[lineage["source_id"]] = {"type": lineage["source_type"], "id": lineage["source_id"]}
    batch = list(items.values())
    for start in range(0, len(batch), BATCH):
        psa.call("POST", "/billing-updates", json={"invoice_ref": invoice["number"], "items": batch[start:start + BATCH]})
