"""Patches address and tax id only: a CRM account's update reaches its ERP customer without its name.

The real-world bug: the update mapping was written from the changes the
sandbox's accounts went through (offices moved, tax ids corrected), so its
PATCH carries ``billing_address`` and ``tax_id`` and nothing else. Creating a
customer copies everything; an account that rebrands keeps its old legal and
display name in the ERP, and every later invoice goes out to a company that
no longer exists under that name.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.master_data import Customers
from tests.broken_connectors._hooks import require_hooks, rewrite_bodies


class PatchesAddressAndTaxIdOnlyConnector(ReferenceConnector):
    name = "broken: account updates carry the address and tax id, never the name"

    def __init__(self, runtime: Any) -> None:
        require_hooks(Customers, "update")
        super().__init__(runtime)
        rewrite_bodies(self, "erp", "PATCH", "/customers/",
                       lambda body: {k: v for k, v in body.items() if k in ("billing_address", "tax_id")})  # DEFECT


def build(runtime: Any) -> PatchesAddressAndTaxIdOnlyConnector:
    return PatchesAddressAndTaxIdOnlyConnector(runtime)
