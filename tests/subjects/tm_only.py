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
from tests.broken_connectors._hooks import require_hooks

C2C_NAME = "T&M-only connector"
C2C_CAPABILITIES = frozenset({"webhooks", "durable_state"})


class TimeAndMaterialsOnly(ReferenceConnector):
    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "_contract")
        super().__init__(runtime)

    def _contract(self, contract_id: str, fresh: bool = False) -> dict[str, Any]:
        contract = super()._contract(contract_id, fresh)
        if contract["billing_type"] == "time_and_materials":
            return contract
        return {**contract, "billing_type": "time_and_materials", "cap": None, "milestones": []}


def build(runtime: Any) -> TimeAndMaterialsOnly:
    return TimeAndMaterialsOnly(runtime)
