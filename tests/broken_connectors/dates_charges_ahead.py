"""Dates charges ahead: every new charge carries a far-future charge date, so no billing run ever picks it up.

The real-world bug: the ERP's ``charge_date`` is read as "bill no earlier
than", and a developer set it to the end of the contract's *maximum* term
(a placeholder of 2099-12-31 when the term is open-ended) so that nothing
would be invoiced "too early". Every charge lands on the ledger with the
right amount and lineage, so a check of the ledger alone sees a perfect
match; but billing runs gather only charges dated on or before the
period's end, so nothing the connector charges is ever invoiced. Only the
reversals it writes (dated with the work) reach invoices, as credits.
"""

from __future__ import annotations

from typing import Any

from reference_impl.billing import ChargeWriter
from reference_impl.connector import ReferenceConnector
from tests.broken_connectors._hooks import require_hooks

FAR_FUTURE = "2099-12-31"


class DatesAheadWriter(ChargeWriter):
    @staticmethod
    def new_charge(contract, record, target, amount, hold):
        planned = ChargeWriter.new_charge(contract, record, target, amount, hold)
        planned.payload["charge_date"] = FAR_FUTURE  # DEFECT: "not before" read into a field that means "when"
        return planned


class DatesChargesAheadConnector(ReferenceConnector):
    name = "broken: charges dated 2099-12-31"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_writer")
        require_hooks(ChargeWriter, "new_charge")
        super().__init__(runtime)

    def build_writer(self) -> ChargeWriter:
        return DatesAheadWriter(self.clients["erp"], self.ledger)


def build(runtime: Any) -> DatesChargesAheadConnector:
    return DatesChargesAheadConnector(runtime)
