"""Releases newest first: when a cap rises, the most recent held work is released, not the oldest.

The real-world bug: the held charges are kept in a stack ("last held,
first released", which made the undo of a cap cut easy), and the release
after a cap raise pops from the same stack. Per contract the totals are
right (billed = min(value, cap), billed + held = value), and every item
is within 0 <= billed <= value, so a check of the final split passes; but
the customer is billed for last month's work while older work waits, which
is not what the contract's cap clause says, and which items stay held at
the end differs.
"""

from __future__ import annotations

from typing import Any

from reference_impl.billing import ChargeWriter
from reference_impl.connector import ReferenceConnector
from tests.broken_connectors._hooks import require_hooks


class NewestFirstWriter(ChargeWriter):
    def rebalance(self, contract) -> None:
        billed, held = self.totals_of(contract.contract_id)
        cap = contract.cap if contract.cap is not None else billed + held
        if billed < cap and held > 0:
            # DEFECT: newest work date first
            for record in sorted(self.ledger.items_of(contract.contract_id), key=lambda r: (r.order, r.key),
                                 reverse=True):
                headroom = cap - self.totals_of(contract.contract_id)[0]
                if headroom <= 0:
                    break
                if record.held_amount > 0:
                    self.release(contract, record, min(headroom, record.held_amount))
            return
        super().rebalance(contract)


class ReleasesNewestFirstConnector(ReferenceConnector):
    name = "broken: held work released newest first"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_writer")
        require_hooks(ChargeWriter, "rebalance", "release", "totals_of")
        super().__init__(runtime)

    def build_writer(self) -> ChargeWriter:
        return NewestFirstWriter(self.clients["erp"], self.ledger)


def build(runtime: Any) -> ReleasesNewestFirstConnector:
    return ReleasesNewestFirstConnector(runtime)
