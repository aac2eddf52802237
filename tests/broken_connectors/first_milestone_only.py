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
from reference_impl.contracts import Contracts
from tests.broken_connectors._hooks import require_hooks


class FirstMilestoneContracts(Contracts):
    """The contract set-up as the field mapping does it: ``milestones[0]`` only."""

    def set_up(self, contract_id: str, contract: dict[str, Any] | None = None) -> None:
        contract = contract or self.current(contract_id, fresh=True)
        super().set_up(contract_id, {**contract, "milestones": contract["milestones"][:1]})  # DEFECT


class FirstMilestoneOnlyConnector(ReferenceConnector):
    name = "broken: only the first milestone reaches the PSA"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_contracts")
        require_hooks(Contracts, "set_up", "current")
        super().__init__(runtime)

    def build_contracts(self) -> Contracts:
        return FirstMilestoneContracts(self.clients, self.mappings, self.customers)


def build(runtime: Any) -> FirstMilestoneOnlyConnector:
    return FirstMilestoneOnlyConnector(runtime)
