"""Omits payment terms: billing projects are created without the contract's payment terms.

The real-world bug: the billing-project mapping was written against a
sandbox whose contracts were all on the ERP's default net-30 terms, so the
optional ``payment_terms_days`` was never sent. Every amount is right; every
invoice of a contract on other terms falls due on the wrong day: net-60
clients are chased a month early, net-14 clients pay a fortnight late.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.contracts import Contracts
from tests.broken_connectors._hooks import require_hooks, rewrite_bodies


class OmitsPaymentTermsConnector(ReferenceConnector):
    name = "broken: billing projects on the ERP's default payment terms"

    def __init__(self, runtime: Any) -> None:
        require_hooks(Contracts, "set_up")
        super().__init__(runtime)
        rewrite_bodies(self, "erp", "POST", "/billing-projects",
                       lambda body: {k: v for k, v in body.items() if k != "payment_terms_days"})  # DEFECT: left out


def build(runtime: Any) -> OmitsPaymentTermsConnector:
    return OmitsPaymentTermsConnector(runtime)
