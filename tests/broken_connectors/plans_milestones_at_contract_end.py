"""Plans every PSA milestone on the contract's end date instead of its own planned date.

The real-world bug: the connector's CLM-to-PSA mapping reads the contract's
schedule as deliverables "due by the end of the engagement" and sends
``planned_date = end_date`` for each milestone (the per-milestone date sits
one level deeper in the CLM payload and was missed). Billing still follows
the client's acceptance, so every amount is right; but the PSA's delivery
plan shows each milestone due on the last day, its forecasts and "due this
month" reports are empty until then, and an oracle that dated a milestone by
the PSA record would move its due invoice run with the defect.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.contracts import Contracts
from tests.broken_connectors._hooks import require_hooks


class EndDatedPsa:
    """The PSA client as the set-up uses it: the milestones it creates are planned on ``end_date``."""

    def __init__(self, psa: Any, end_date: str) -> None:
        self._psa, self._end_date = psa, end_date

    def __getattr__(self, name: str) -> Any:
        return getattr(self._psa, name)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        if method == "POST" and path.endswith("/milestones"):
            kwargs["json"] = {"milestones": [{**m, "planned_date": self._end_date}  # DEFECT
                                             for m in kwargs["json"]["milestones"]]}
        return self._psa.call(method, path, **kwargs)


class EndDatedContracts(Contracts):
    def set_up(self, contract_id: str, contract: dict[str, Any] | None = None) -> None:
        if self.mappings.recall("billing_project", contract_id) and self.mappings.recall("psa_project", contract_id):
            return
        contract = contract or self.current(contract_id, fresh=True)
        shared = self.clients
        self.clients = {**shared, "psa": EndDatedPsa(shared["psa"], contract["end_date"])}
        try:
            super().set_up(contract_id, contract)
        finally:
            self.clients = shared


class PlansMilestonesAtContractEndConnector(ReferenceConnector):
    name = "broken: PSA milestones planned on the contract's end date"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_contracts")
        require_hooks(Contracts, "set_up", "current")
        super().__init__(runtime)

    def build_contracts(self) -> Contracts:
        return EndDatedContracts(self.clients, self.mappings, self.customers)


def build(runtime: Any) -> PlansMilestonesAtContractEndConnector:
    return PlansMilestonesAtContractEndConnector(runtime)
