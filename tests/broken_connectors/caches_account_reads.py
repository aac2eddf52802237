"""Caches CRM account reads for 30 minutes: a correction made minutes after an edit never reaches the ERP.

The real-world bug: to stay under the CRM's API quota, the integration
puts a read-through cache in front of ``GET /accounts/{id}`` with a
30-minute lifetime. On most days an account changes once and nothing is
lost. But people correct their own edits: a tax id typed wrong is fixed
five minutes later. The correction's webhook arrives, the connector reads
the account from its cache (still the first edit, whose version it has
already applied), takes the event for a stale one, and drops it; the ERP
customer keeps the wrong tax id until the account changes again.

No fault is needed: the same thing happens on a day without faults,
whenever the firm's people correct an edit. A suite that excuses every
mismatch its fault-free companion run also has would certify it, because
the billing scenario has no corrections.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reference_impl.api import ApiError
from reference_impl.connector import ReferenceConnector
from reference_impl.master_data import Customers
from tests.broken_connectors._hooks import require_hooks

CACHE_SECONDS = 1800


class CachedAccountCustomers(Customers):
    """Customer updates that read the account through a read-through cache."""

    def __init__(self, clients: Any, mappings: Any, now: Callable[[], float]) -> None:
        super().__init__(clients, mappings)
        self._now = now
        self._accounts: dict[str, tuple[float, dict[str, Any]]] = {}

    def _account(self, account_id: str) -> dict[str, Any]:
        now = self._now()
        cached = self._accounts.get(account_id)
        if cached is not None and now - cached[0] < CACHE_SECONDS:  # DEFECT: a fresh edit is served stale
            return cached[1]
        account = self.clients["crm"].call("GET", f"/accounts/{account_id}")
        self._accounts[account_id] = (now, account)
        return account

    def update(self, account_id: str) -> None:
        customer_id = self.mappings.recall("customer", account_id)
        if customer_id is None:
            self.sync(account_id)
            return
        account = self._account(account_id)
        if account["version"] <= (self.mappings.recall("customer_synced_version", account_id) or 0):
            return
        erp = self.clients["erp"]
        current = erp.request("GET", f"/customers/{customer_id}")
        if not 200 <= current.status_code < 300:
            raise ApiError("erp", "GET", f"/customers/{customer_id}", current)
        erp.call("PATCH", f"/customers/{customer_id}", json=self.erp_fields(account),
                 headers={"if-match": current.headers["etag"]})
        self.mappings.remember("customer_synced_version", account_id, account["version"])


class CachesAccountReadsConnector(ReferenceConnector):
    name = "broken: serves account reads from a 30-minute cache"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_customers")
        require_hooks(Customers, "update", "sync", "erp_fields")
        super().__init__(runtime)

    def build_customers(self) -> Customers:
        return CachedAccountCustomers(self.clients, self.mappings, self.runtime.clock.now)


def build(runtime: Any) -> CachesAccountReadsConnector:
    return CachesAccountReadsConnector(runtime)
