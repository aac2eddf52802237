"""Contracts: reading them from the CLM, and setting each one up in the ERP and the PSA.

Guarantees:

- One ERP billing project and one PSA project (with the contract's
  milestones) per signed contract. The billing project is created under
  the ``Idempotency-Key`` ``billing-project:CONTRACT``; the PSA project is
  looked up by ``contract_ref`` before it is created. Each id is
  remembered only once it exists, so a retry or a restarted instance
  finishes a half-done set-up without duplicating anything.
- Work is never billed to a contract that is not set up: :meth:`Contracts.billing`,
  the only way to a :class:`~reference_impl.billing.ContractBilling`, sets
  the contract up first (its customer too).
- A retainer is charged for every period the ERP has open as soon as it is
  set up (:attr:`Contracts.charge_retainer`, which the connector wires to
  the settlement), so a contract signed late misses nothing.
- :meth:`Contracts.current` is the contract's current version. It is cached:
  a signed contract changes only by amendment, and the amendment's event
  re-reads it (``fresh``) and re-prices every item, so work priced from a
  cache that was one event behind is corrected by that same event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reference_impl.api import SystemClient
from reference_impl.billing import ContractBilling
from reference_impl.mappings import Mappings
from reference_impl.master_data import Customers


def _not_wired(contract: dict[str, Any]) -> None:
    raise RuntimeError(f"retainer {contract['id']} was set up, but nothing charges retainers: wire charge_retainer")


class Contracts:
    def __init__(self, clients: dict[str, SystemClient], mappings: Mappings, customers: Customers) -> None:
        self.clients = clients  # shared with the connector, read at each call
        self.mappings = mappings
        self.customers = customers
        # (contract) -> None: charge a retainer just set up for every open period. The settlement does that, and
        # it needs the contracts first, so whoever builds both wires it (ReferenceConnector.__init__).
        self.charge_retainer: Callable[[dict[str, Any]], None] = _not_wired
        self._cache: dict[str, dict[str, Any]] = {}

    def current(self, contract_id: str, fresh: bool = False) -> dict[str, Any]:
        """The contract's current version (see the module docstring for the cache)."""
        if fresh or contract_id not in self._cache:
            self._cache[contract_id] = self.clients["clm"].call("GET", f"/contracts/{contract_id}")
        return self._cache[contract_id]

    def of_project(self, project_id: str) -> str:
        """The id of the contract a PSA project delivers."""
        contract_id = self.mappings.recall("contract_of_project", project_id)
        if contract_id is None:
            contract_id = self.clients["psa"].call("GET", f"/projects/{project_id}")["contract_ref"]
            self.current(contract_id)  # a reference that names no contract (poison) is never remembered
            self.mappings.remember("contract_of_project", project_id, contract_id)
        return contract_id

    def set_up(self, contract_id: str, contract: dict[str, Any] | None = None) -> None:
        """The contract's customer, ERP billing project and PSA project (with milestones); a no-op once done."""
        if self.mappings.recall("billing_project", contract_id) and self.mappings.recall("psa_project", contract_id):
            return
        contract = contract or self.current(contract_id, fresh=True)
        customer_id = self.customers.sync(contract["account_id"])
        if self.mappings.recall("billing_project", contract_id) is None:
            project = self.clients["erp"].call(
                "POST", "/billing-projects", headers={"idempotency-key": f"billing-project:{contract_id}"},
                json={"customer_id": customer_id, "legal_entity": contract["legal_entity"],
                      "contract_ref": contract_id, "currency": contract["currency"], "name": contract["title"],
                      "payment_terms_days": contract["payment_terms_days"]},
            )
            self.mappings.remember("billing_project", contract_id, project["id"])
        if self.mappings.recall("psa_project", contract_id) is None:
            psa = self.clients["psa"]
            existing = psa.call("GET", "/projects", params={"contract_ref": contract_id})["data"]
            project = existing[0] if existing else psa.call(
                "POST", "/projects",
                json={"contract_ref": contract_id, "name": contract["title"], "start_date": contract["start_date"],
                      "end_date": contract["end_date"], "tasks": [{"name": "Delivery"}, {"name": "Project management"}]},
            )
            if contract["milestones"]:
                psa.call("POST", f"/projects/{project['id']}/milestones", json={"milestones": [
                    {"ref": m["ref"], "name": m["name"], "planned_date": m["planned_date"]}
                    for m in contract["milestones"]]})
            self.mappings.remember("psa_project", contract_id, project["id"])
            self.mappings.remember("contract_of_project", project["id"], contract_id)
        if contract["billing_type"] == "retainer":
            self.mappings.remember("retainer", contract_id, True)
            self.charge_retainer(contract)

    def billing(self, contract: dict[str, Any]) -> ContractBilling:
        """The contract as the charge writer bills it, set up first."""
        self.set_up(contract["id"], contract)
        return ContractBilling(contract["id"], contract["version"], self.mappings.recall("billing_project", contract["id"]),
                               contract["currency"], contract["billing_type"], contract["cap"])
