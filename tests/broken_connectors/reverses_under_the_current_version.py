"""Reverses under the current contract version: a reversal cites the version it was made under, not its charge's.

The real-world bug: the charge writer stamps every charge it posts with
the billing context's contract version, reversals included. When an
amendment re-prices work, the reversal of a charge priced by version N
claims version N+1, so an auditor walking from the reversal finds terms
that never priced what it takes back. Every amount is right; the guide
says a reversal carries the lineage of the charge it reverses.
"""

from __future__ import annotations

from typing import Any

from reference_impl.billing import ChargeWriter, ContractBilling, Planned
from reference_impl.connector import ReferenceConnector
from reference_impl.ledger import ItemRecord


class CurrentVersionWriter(ChargeWriter):
    @staticmethod
    def _reversals(contract: ContractBilling, record: ItemRecord, charge_date: str) -> list[Planned]:
        planned = ChargeWriter._reversals(contract, record, charge_date)
        for reversal in planned:  # DEFECT: the context's version, not the reversed charge's
            reversal.payload["lineage"] = {**reversal.payload["lineage"], "contract_version": contract.version}
        return planned


class ReversesUnderTheCurrentVersionConnector(ReferenceConnector):
    name = "broken: reversals cite the current contract version"

    def build_writer(self) -> ChargeWriter:
        return CurrentVersionWriter(self.clients["erp"], self.ledger)


def build(runtime: Any) -> ReversesUnderTheCurrentVersionConnector:
    return ReversesUnderTheCurrentVersionConnector(runtime)
