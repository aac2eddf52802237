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

from typing import Any

from reference_impl.api import ApiError
from reference_impl.connector import ReferenceConnector
from tests.broken_connectors._hooks import require_hooks

CACHE_SECONDS = 1800


class CachesAccountReadsConnector(ReferenceConnector):
    name = "broken: serves account reads from a 30-minute cache"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "update_customer", "sync_customer", "_customer_fields")
        super().__init__(runtime)
        self._accounts: dict[str, tuple[float, dict[str, Any]]] = {}

    def _account(self, account_id: str) -> dict[str, Any]:
        now = self.runtime.clock.now()
        cached = self._accounts.get(account_id)
        if cached is not None and now - cached[0] < CACHE_SECONDS:  # DEFECT: a fresh edit is served stale
            return cached[1]
        account = self.clients["crm"].call("GET", f"/accounts/{account_id}")
        self._accounts[account_id] = (now, account)
        return account

    def update_customer(self, account_id: str) -> None:
        customer_id = self._recall("customer", account_id)
        if customer_id is None:
            self.sync_customer(account_id)
            return
        account = self._account(account_id)
        if account["version"] <= (self._recall("customer_synced_version", account_id) or 0):
            return
        erp = self.clients["erp"]
        current = erp.request("GET", f"/customers/{customer_id}")
        if not 200 <= current.status_code < 300:
            raise ApiError("erp", "GET", f"/customers/{customer_id}", current)
        erp.call("PATCH", f"/customers/{customer_id}", json=self._customer_fields(account),
                 headers={"if-match": current.headers["etag"]})
        self._remember("customer_synced_version", account_id, account["version"])


def build(runtime: Any) -> CachesAccountReadsConnector:
    return CachesAccountReadsConnector(runtime)
