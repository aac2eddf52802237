"""A time-and-materials-only connector, and it says so: every contract it reads is billed as plain T&M.

It is the reference connector with the billing types it does not handle
flattened away (no cap, no milestones, no retainer), the way a connector
written for a firm that sells only T&M behaves when another type shows
up. It declares exactly that in ``C2C_CAPABILITIES``, so the suite must
waive the caps, milestones and retainers requirements and meet it with
T&M contracts only: no requirement may fail it for a contract type it
declared it does not handle.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.contracts import Contracts
from tests.broken_connectors._hooks import require_hooks

C2C_NAME = "T&M-only connector"
C2C_CAPABILITIES = frozenset({"webhooks", "durable_state"})


class TimeAndMaterialsContracts(Contracts):
    def current(self, contract_id: str, fresh: bool = False) -> dict[str, Any]:
        contract = super().current(contract_id, fresh)
        if contract["billing_type"] == "time_and_materials":
            return contract
        return {**contract, "billing_type": "time_and_materials", "cap": None, "milestones": []}


class TimeAndMaterialsOnly(ReferenceConnector):
    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_contracts")
        require_hooks(Contracts, "current")
        super().__init__(runtime)

    def build_contracts(self) -> Contracts:
        return TimeAndMaterialsContracts(self.clients, self.mappings, self.customers)


def build(runtime: Any) -> TimeAndMaterialsOnly:
    return TimeAndMaterialsOnly(runtime)
