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

from reference_impl.connector import ReferenceConnector
from tests.broken_connectors._hooks import require_hooks


class ParentMissing(Exception):
    pass


class DropsOrphansConnector(ReferenceConnector):
    name = "broken: skips work whose contract is not set up yet"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "work", "_billing", "settle_timesheet", "settle_expense", "settle_milestone")
        super().__init__(runtime)
        for event_type, handler in list(self.handlers.items()):
            if handler in (self.settle_timesheet, self.settle_expense, self.settle_milestone):
                self.handlers[event_type] = self._skipping_orphans(handler)

    def _skipping_orphans(self, handler):
        def handle(entity_id: str) -> None:
            try:
                handler(entity_id)
            except ParentMissing as missing:  # DEFECT: acknowledged and forgotten, not retried
                self.runtime.log.warning("%s: %s not set up yet; skipped", entity_id, missing)
        return handle

    def _billing(self, contract: dict[str, Any]):
        if self._recall("billing_project", contract["id"]) is None:
            raise ParentMissing(contract["id"])
        return super()._billing(contract)


def build(runtime: Any) -> DropsOrphansConnector:
    return DropsOrphansConnector(runtime)
