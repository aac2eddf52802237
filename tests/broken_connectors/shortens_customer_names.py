"""Shortens every customer name to 30 characters, an older ERP's limit, though this ERP takes 40.

The real-world bug: the vendor hard-coded the display-name limit of the ERP
it was first built for. "Acme International Professional Services" (39
characters) becomes "Acme International Professiona" on every invoice
header and dunning letter, and collections cannot match the customer to
its contracts. The full name still travels in ``legal_name``, so a check
of the legal name sees nothing.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.master_data import Customers
from tests.broken_connectors._hooks import require_hooks

LEGACY_NAME_MAX = 30


class ShortNamedCustomers(Customers):
    @staticmethod
    def erp_fields(account: dict[str, Any]) -> dict[str, Any]:
        return {**Customers.erp_fields(account), "name": account["legal_name"][:LEGACY_NAME_MAX]}  # DEFECT: not 40


class ShortensCustomerNamesConnector(ReferenceConnector):
    name = "broken: customer names cut to 30 characters"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_customers")
        require_hooks(Customers, "erp_fields")
        super().__init__(runtime)

    def build_customers(self) -> Customers:
        return ShortNamedCustomers(self.clients, self.mappings)


def build(runtime: Any) -> ShortensCustomerNamesConnector:
    return ShortensCustomerNamesConnector(runtime)
