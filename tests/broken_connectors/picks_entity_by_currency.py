"""Picks the entity by currency: a billing project's legal entity is looked up from the contract's currency.

The real-world bug: the mapping was written when the firm had one legal
entity per currency, so "the EUR entity" stood in for the contract's own
``legal_entity``. When a second entity bills in euros, its contracts are
invoiced by the first: under the wrong company's invoice series, VAT number
and bank account. Every amount is right; every invoice of the second entity
must be cancelled and reissued.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.contracts import Contracts
from tests.broken_connectors._hooks import require_hooks, rewrite_bodies

ENTITY_OF_CURRENCY = {"USD": "US01", "GBP": "UK01", "EUR": "DE01", "JPY": "JP01"}  # as the mapping's author knew them


class PicksEntityByCurrencyConnector(ReferenceConnector):
    name = "broken: a billing project's legal entity looked up from the contract's currency"

    def __init__(self, runtime: Any) -> None:
        require_hooks(Contracts, "set_up")
        super().__init__(runtime)

        def by_currency(body: dict[str, Any]) -> dict[str, Any]:  # DEFECT: the currency's entity, not the contract's
            return {**body, "legal_entity": ENTITY_OF_CURRENCY.get(body["currency"], body["legal_entity"])}

        rewrite_bodies(self, "erp", "POST", "/billing-projects", by_currency)


def build(runtime: Any) -> PicksEntityByCurrencyConnector:
    return PicksEntityByCurrencyConnector(runtime)
