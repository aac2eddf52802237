"""Drops orphans: work for a contract whose billing project is not set up yet is acknowledged and skipped.

The real-world bug: "a contract is always set up before anyone books time
on it", so when a timesheet, expense or milestone names a contract that
has no billing project yet, the connector logs a warning and moves on
instead of setting the contract up or retrying later. Usually the contract
is there. When its set-up is blocked (its customer has a tax jurisdiction
the ERP does not know yet, for days) every approval in the meantime is
dropped, and nothing brings it back once the parent exists.
"""

from __future__ import annotations

from typing import Any

from reference_impl.billing import ContractBilling
from reference_impl.connector import ReferenceConnector
from reference_impl.contracts import Contracts
from reference_impl.settlement import Settlement
from tests.broken_connectors._hooks import require_hooks


class ParentMissing(Exception):
    pass


class ParentFirstContracts(Contracts):
    """Billing a contract that has no billing project yet raises, instead of setting the contract up."""

    def billing(self, contract: dict[str, Any]) -> ContractBilling:
        if self.mappings.recall("billing_project", contract["id"]) is None:
            raise ParentMissing(contract["id"])
        return super().billing(contract)


class DropsOrphansConnector(ReferenceConnector):
    name = "broken: skips work whose contract is not set up yet"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "work", "build_contracts")
        require_hooks(Contracts, "billing")
        require_hooks(Settlement, "settle_timesheet", "settle_expense", "settle_milestone")
        super().__init__(runtime)
        settle = self.settlement
        for event_type, handler in list(self.handlers.items()):
            if handler in (settle.settle_timesheet, settle.settle_expense, settle.settle_milestone):
                self.handlers[event_type] = self._skipping_orphans(handler)

    def build_contracts(self) -> Contracts:
        return ParentFirstContracts(self.clients, self.mappings, self.customers)

    def _skipping_orphans(self, handler):
        def handle(entity_id: str) -> None:
            try:
                handler(entity_id)
            except ParentMissing as missing:  # DEFECT: acknowledged and forgotten, not retried
                self.runtime.log.warning("%s: %s not set up yet; skipped", entity_id, missing)
        return handle


def build(runtime: Any) -> DropsOrphansConnector:
    return DropsOrphansConnector(runtime)
