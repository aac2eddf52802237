"""First milestone only: the PSA project gets the contract's first milestone and no other.

The real-world bug: the connector maps the CLM's milestone schedule onto
the PSA with a field mapping that takes ``milestones[0]`` (the mapping tool
showed one sample contract, which had one milestone). The PSA then holds
one milestone per fixed-fee project; the others are delivered and accepted
by the client, but there is nothing in the PSA to approve, so they are
never billed. Everything the PSA does hold is billed right, so a check that
lists milestones from the PSA sees nothing wrong.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from tests.broken_connectors._hooks import require_hooks


class FirstMilestoneOnlyConnector(ReferenceConnector):
    name = "broken: only the first milestone reaches the PSA"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "set_up_contract", "_contract")
        super().__init__(runtime)

    def set_up_contract(self, contract_id: str, contract: dict[str, Any] | None = None) -> None:
        contract = contract or self._contract(contract_id, fresh=True)
        super().set_up_contract(contract_id, {**contract, "milestones": contract["milestones"][:1]})  # DEFECT


def build(runtime: Any) -> FirstMilestoneOnlyConnector:
    return FirstMilestoneOnlyConnector(runtime)
