"""Starts each PSA project on the day its contract was signed, not on the start of the contract's term.

The real-world bug: the set-up maps the CLM's ``signed_at`` (the event that
triggered it) to the PSA project's ``start_date``. Resource managers then
see the engagement open, and plan people onto it, up to weeks before the
client's term begins, and the PSA's project calendar disagrees with the
contract. Every charge is right: billing reads the contract, not the
project's dates.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.contracts import Contracts
from tests.broken_connectors._hooks import require_hooks


class SignatureDatedPsa:
    """The PSA client as the set-up uses it: the project it creates starts on ``signed``."""

    def __init__(self, psa: Any, signed: str) -> None:
        self._psa, self._signed = psa, signed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._psa, name)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        if method == "POST" and path == "/projects":
            kwargs["json"] = {**kwargs["json"], "start_date": self._signed}  # DEFECT: the signature, not the term
        return self._psa.call(method, path, **kwargs)


class SignatureDatedContracts(Contracts):
    def set_up(self, contract_id: str, contract: dict[str, Any] | None = None) -> None:
        if self.mappings.recall("billing_project", contract_id) and self.mappings.recall("psa_project", contract_id):
            return
        contract = contract or self.current(contract_id, fresh=True)
        shared = self.clients
        signed = (contract.get("signed_at") or contract["start_date"])[:10]
        self.clients = {**shared, "psa": SignatureDatedPsa(shared["psa"], signed)}
        try:
            super().set_up(contract_id, contract)
        finally:
            self.clients = shared


class StartsProjectsAtSignatureConnector(ReferenceConnector):
    name = "broken: PSA projects start on the contract's signature"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_contracts")
        require_hooks(Contracts, "set_up", "current")
        super().__init__(runtime)

    def build_contracts(self) -> Contracts:
        return SignatureDatedContracts(self.clients, self.mappings, self.customers)


def build(runtime: Any) -> StartsProjectsAtSignatureConnector:
    return StartsProjectsAtSignatureConnector(runtime)
