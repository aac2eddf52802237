"""Writes each item back once: work billed again on a later invoice keeps citing the first in the PSA.

The real-world bug: to keep ``POST /billing-updates`` traffic down, the
write-back remembers (durably) every item it has marked and skips it next
time. But an item can be billed again: a retroactive amendment or an
adjustment reverses its charge on the next invoice and charges it anew
there. The PSA keeps citing the first invoice, whose line for the item was
taken back, instead of the one that now bills it, so delivery and
collections chase the wrong document. Every item the PSA shows billed was
billed by the invoice it cites, once.
"""

from __future__ import annotations

from typing import Any

from reference_impl import writeback
from reference_impl.connector import ReferenceConnector
from tests.broken_connectors._hooks import require_hooks


class WritesBackEachItemOnceConnector(ReferenceConnector):
    name = "broken: the write-back marks each item once, never again"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "mark_invoice_billed")
        super().__init__(runtime)

    def mark_invoice_billed(self, invoice_id: str) -> None:
        erp, psa = self.clients["erp"], self.clients["psa"]
        invoice = erp.call("GET", f"/invoices/{invoice_id}")
        items = {line["lineage"]["source_id"]: {"type": line["lineage"]["source_type"], "id": line["lineage"]["source_id"]}
                 for line in invoice["lines"]
                 if line["amount"] > 0 and line["lineage"].get("source_type") in writeback.PSA_ITEMS}
        fresh = [item for source_id, item in items.items()
                 if self.storage.get(f"written_back:{source_id}") in (None, invoice["number"])]  # DEFECT: once only
        for start in range(0, len(fresh), writeback.BATCH):
            psa.call("POST", "/billing-updates",
                     json={"invoice_ref": invoice["number"], "items": fresh[start:start + writeback.BATCH]})
        for item in fresh:
            self.storage[f"written_back:{item['id']}"] = invoice["number"]


def build(runtime: Any) -> WritesBackEachItemOnceConnector:
    return WritesBackEachItemOnceConnector(runtime)
