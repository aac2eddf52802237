"""Last write wins by arrival order: an account update applies the snapshot taken when its event arrived.

The real-world bug: the integration "enriches" each CRM event as it comes
in, reading the account once and queueing that payload with the message,
so the worker that later writes the ERP customer needs no second call to
the CRM. The worker applies the queued payload as it is: it never compares
the account's version with the one the ERP customer already reflects. On
a good day the snapshot is fresh. When the ERP answers a PATCH with a 5xx,
the message goes back on the queue with its old payload; if the account
changes again meanwhile and that newer update gets through first, the
retry of the older one then overwrites it, and the ERP customer keeps an
address or tax id the CRM has already corrected, with nothing left to fix
it until the account changes again.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.mappings import Mappings
from reference_impl.master_data import Customers
from tests.broken_connectors._hooks import require_handlers, require_hooks

UPDATED = "crm.account.updated"


class LastWriteWinsConnector(ReferenceConnector):
    name = "broken: applies each account update's arrival-time snapshot, by arrival order"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "work")
        require_hooks(Customers, "update", "sync", "erp_fields")
        require_hooks(Mappings, "recall")
        super().__init__(runtime)
        require_handlers(self.handlers, UPDATED)
        self.handlers[UPDATED] = self.apply_snapshot
        self._entry: dict[str, Any] | None = None

    def work(self, entry: dict[str, Any]) -> None:
        self._entry = entry  # the worker knows which queued message (and payload) it is working on
        try:
            super().work(entry)
        finally:
            self._entry = None

    def apply_snapshot(self, account_id: str) -> None:
        assert self._entry is not None
        key = f"account_snapshot:{self._entry['id']}"
        account = self.storage.get(key)
        if account is None:  # the first time this message is worked: enrich it with the account as it is now
            account = self.clients["crm"].call("GET", f"/accounts/{account_id}")
            self.storage[key] = account
        customer_id = self.mappings.recall("customer", account_id)
        if customer_id is None:
            self.customers.sync(account_id)
            return
        erp = self.clients["erp"]
        current = erp.request("GET", f"/customers/{customer_id}")
        # DEFECT: no version check; the queued payload is written whatever the ERP customer already reflects.
        erp.call("PATCH", f"/customers/{customer_id}", json=self.customers.erp_fields(account),
                 headers={"if-match": current.headers["etag"]})


def build(runtime: Any) -> LastWriteWinsConnector:
    return LastWriteWinsConnector(runtime)
