"""No billing write-back: invoices post, but the PSA never learns which work they billed.

The real-world bug: the write-back job subscribes to the ERP's
``invoice.created`` event, which fires for drafts, and looks the invoice up
before it has a number; it finds nothing to write and moves on. Billing is
right to the cent, but project managers see every approved hour as
unbilled, chase finance for invoices that were sent weeks ago, and revenue
recognition double-counts WIP.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from tests.broken_connectors._hooks import require_handlers

POSTED = "erp.invoice.posted"


class NoWritebackConnector(ReferenceConnector):
    name = "broken: never writes billing status back to the PSA"

    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime)
        require_handlers(self.handlers, POSTED)
        self.handlers[POSTED] = lambda invoice_id: None  # DEFECT: listens to the wrong event


def build(runtime: Any) -> NoWritebackConnector:
    return NoWritebackConnector(runtime)
