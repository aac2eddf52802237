"""Ignores caps: capped T&M contracts are billed as plain time and materials.

The real-world bug: the connector maps the CLM's billing type onto the ERP
project's billing method through a lookup table written when the firm sold
only time and materials, fixed fees and retainers. ``capped_tm`` was added to
the CLM later and is missing from the table, and the mapper falls back to
time and materials for any type it does not know, "the safe default". The
contract's cap travels nowhere after that: every approved hour and expense
is charged in full, nothing is ever held, and a cap raise changes nothing.
Each item is individually priced right, so per-line checks pass; only the
contract-level identity (billed = min(approved value, cap)) shows the
over-billing, and the customer disputes the invoice that crosses the cap.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from reference_impl.billing import ContractBilling
from reference_impl.connector import ReferenceConnector
from reference_impl.contracts import Contracts
from tests.broken_connectors._hooks import require_hooks

FALLBACK = "time_and_materials"
ERP_BILLING_METHOD = {  # DEFECT: no entry for "capped_tm", so it falls back to plain T&M
    "time_and_materials": "time_and_materials",
    "fixed_fee_milestones": "fixed_fee_milestones",
    "retainer": "retainer",
}


def erp_billing(billing: ContractBilling) -> ContractBilling:
    """The contract as the ERP billing project sees it: a billing method, and a cap only if the method has one."""
    method = ERP_BILLING_METHOD.get(billing.billing_type, FALLBACK)
    return dataclasses.replace(billing, billing_type=method, cap=billing.cap if method == "capped_tm" else None)


class ErpMethodContracts(Contracts):
    """Contracts billed as the ERP billing project's method says."""

    def billing(self, contract: dict[str, Any]) -> ContractBilling:
        return erp_billing(super().billing(contract))


class IgnoresCapConnector(ReferenceConnector):
    name = "broken: capped T&M mapped to plain T&M"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_contracts")
        require_hooks(Contracts, "billing")
        super().__init__(runtime)

    def build_contracts(self) -> Contracts:
        return ErpMethodContracts(self.clients, self.mappings, self.customers)


def build(runtime: Any) -> IgnoresCapConnector:
    return IgnoresCapConnector(runtime)
