"""Cites the set-up contract version: every charge's lineage names the version the contract had when it was set up.

The real-world bug: the connector stamps a charge's lineage from the contract
mapping it saved at set-up (billing project, currency, *version*) and never
refreshes the version. After an amendment, re-priced charges carry the
amended rate or milestone amount but still cite version 1, so an invoice
line's audit trail points at terms that do not give its price: an auditor
tracing the line finds another rate, and a dispute over the amendment cannot
be settled from the ERP. Every amount is right; only the lineage is wrong,
and only on contracts that were amended.
"""

from __future__ import annotations

from typing import Any

from reference_impl.billing import ChargeWriter
from reference_impl.connector import ReferenceConnector
from tests.broken_connectors._hooks import require_hooks


class SetUpVersionWriter(ChargeWriter):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.set_up_version: dict[str, int] = {}  # contract -> the version it had when first charged

    def new_charge(self, contract, record, target, amount, hold):
        planned = super().new_charge(contract, record, target, amount, hold)
        lineage = planned.payload["lineage"]
        first = self.set_up_version.setdefault(contract.contract_id, lineage["contract_version"])
        planned.payload["lineage"] = {**lineage, "contract_version": first}  # DEFECT: never refreshed
        return planned


class CitesSetUpContractVersionConnector(ReferenceConnector):
    name = "broken: lineage cites the contract version of the set-up"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_writer")
        require_hooks(ChargeWriter, "new_charge")
        super().__init__(runtime)

    def build_writer(self) -> ChargeWriter:
        return SetUpVersionWriter(self.clients["erp"], self.ledger)


def build(runtime: Any) -> CitesSetUpContractVersionConnector:
    return CitesSetUpContractVersionConnector(runtime)
