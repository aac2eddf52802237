"""Wrong customer: every billing project hangs off the first ERP customer the connector ever created.

The real-world bug: the contract sync looks the customer up with a cached
"default customer for this legal entity" instead of the contract's own
account, a shortcut left over from a single-client pilot. Charges land on
the right contract's billing project and every amount is right, so
revenue reports look fine; but the invoices go to another company, which
is a data breach as much as a billing error.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.master_data import Customers
from tests.broken_connectors._hooks import require_hooks


class PilotCustomers(Customers):
    def __init__(self, clients: Any, mappings: Any) -> None:
        super().__init__(clients, mappings)
        self.first_customer: str | None = None

    def sync(self, account_id: str) -> str:
        customer_id = super().sync(account_id)
        self.first_customer = self.first_customer or customer_id
        return self.first_customer  # DEFECT: the pilot's default customer


class WrongCustomerConnector(ReferenceConnector):
    name = "broken: bills every contract to the first customer"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_customers")
        require_hooks(Customers, "sync")
        super().__init__(runtime)

    def build_customers(self) -> Customers:
        return PilotCustomers(self.clients, self.mappings)


def build(runtime: Any) -> WrongCustomerConnector:
    return WrongCustomerConnector(runtime)
