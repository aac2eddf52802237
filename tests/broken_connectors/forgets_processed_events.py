"""Forgets processed events: the dedupe table keeps event ids for seven days, and one handler relies on it.

The real-world bug: the connector's table of processed event ids grew
without bound, so someone gave it a seven-day TTL ("a duplicate arrives
within minutes"). The ``crm.account.created`` handler was written to
trust that table: it creates the ERP customer without looking up whether
the account already has one, under the key ``customer:{account}``. Within
the ERP's 24-hour idempotency window that key protects it; after seven
days the table has forgotten the event too. When a sender resends its
history (a "resend all", a consumer reset to cursor 0), every old
``account.created`` is new again, the ERP has long forgotten the key, and
each account gets a second customer.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.inbox import Inbox
from reference_impl.mappings import Mappings
from reference_impl.master_data import Customers
from tests.broken_connectors._hooks import require_handlers, require_hooks

TTL_S = 7 * 86400
CREATED = "crm.account.created"


class ForgetfulInbox(Inbox):
    def accept(self, event_id: str, event_type: str, entity_id: str) -> dict[str, Any] | None:
        seen_at = self.storage.get(f"seen_at:{event_id}")
        if seen_at is not None and self.now() - seen_at > TTL_S:  # DEFECT: the dedupe record has expired
            self.storage.pop(f"seen:{event_id}", None)
        entry = super().accept(event_id, event_type, entity_id)
        if entry is not None:
            self.storage[f"seen_at:{event_id}"] = self.now()
        return entry


class ForgetsProcessedEventsConnector(ReferenceConnector):
    name = "broken: dedupes events for seven days; account.created trusts it"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_inbox")
        require_hooks(Customers, "erp_fields")
        require_hooks(Mappings, "remember")
        require_hooks(Inbox, "accept")
        super().__init__(runtime)
        require_handlers(self.handlers, CREATED)
        self.handlers[CREATED] = self.create_customer

    def build_inbox(self) -> Inbox:
        return ForgetfulInbox(self.storage, self.runtime.clock.now, lambda: 0.5 + self.runtime.rng.random())

    def create_customer(self, account_id: str) -> None:
        account = self.clients["crm"].call("GET", f"/accounts/{account_id}")
        customer = self.clients["erp"].call("POST", "/customers", headers={"idempotency-key": f"customer:{account_id}"},
                                            json={"external_ref": account_id,
                                                  "tax_jurisdiction": account["tax_jurisdiction"],
                                                  "currency": account["currency"],
                                                  **self.customers.erp_fields(account)})
        self.mappings.remember("customer", account_id, customer["id"])
        self.mappings.remember("customer_synced_version", account_id, account["version"])


def build(runtime: Any) -> ForgetsProcessedEventsConnector:
    return ForgetsProcessedEventsConnector(runtime)
