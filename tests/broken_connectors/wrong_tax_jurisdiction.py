"""Wrong tax jurisdiction: customers are created with the legal entity's home jurisdiction, not their own.

The real-world bug: the customer mapping fills the ERP's tax jurisdiction
from the *selling* entity's address ("where we are") instead of the
account's billing jurisdiction ("where they are"), because the field was
optional when the mapping was written. Every amount before tax is right;
every invoice to an out-of-state customer carries the wrong tax, which the
firm owes the tax authority regardless of what it collected.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.master_data import Customers
from tests.broken_connectors._hooks import require_hooks, rewrite_bodies


class WrongTaxConnector(ReferenceConnector):
    name = "broken: customer tax jurisdiction from the selling entity"

    def __init__(self, runtime: Any) -> None:
        require_hooks(Customers, "sync")
        super().__init__(runtime)
        rewrite_bodies(self, "erp", "POST", "/customers",
                       lambda body: {**body, "tax_jurisdiction": "US-OR"})  # DEFECT: the firm's home, 0 % sales tax


def build(runtime: Any) -> WrongTaxConnector:
    return WrongTaxConnector(runtime)
