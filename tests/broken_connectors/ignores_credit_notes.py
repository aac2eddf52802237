"""Ignores credit notes: work a credit note bills again is never written back to the PSA.

The real-world bug: the write-back subscribes to ``erp.invoice.posted``
only, because "a credit note only takes money back". But when hours are
cut on an invoiced line, the correction reverses the line's charge and
charges the line afresh for the hours that remain; if nothing else is
billed that month, the run nets negative and both lines sit on a credit
note. The PSA keeps citing the first invoice, whose charge for the line
was reversed, instead of the credit note that now bills it.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector


class IgnoresCreditNotesConnector(ReferenceConnector):
    name = "broken: the write-back ignores credit notes"

    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime)
        del self.handlers["erp.credit_note.posted"]  # DEFECT: "a credit note only takes money back"
        self.subscriptions = frozenset(t for t in self.subscriptions if t != "erp.credit_note.posted")


def build(runtime: Any) -> IgnoresCreditNotesConnector:
    return IgnoresCreditNotesConnector(runtime)
