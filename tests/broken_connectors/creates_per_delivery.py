"""Creates per delivery: a new CRM account's webhook creates an ERP customer every time it is delivered.

The real-world bug: to get new customers into the ERP before the sales
team's first invoice, someone added a fast path for ``crm.account.created``
that skips the queue: "a created event happens once per account, so it
cannot be a duplicate". It POSTs the customer straight away, under an
Idempotency-Key built from the message it is handling (``webhook-id`` and
``webhook-timestamp``, the pair the signature covers), and records the
mapping. Senders deliver at least once: when the sender resends (a lost
200, a retry), the resend carries a fresh timestamp, so the key is new, the
ERP books a second customer, and the account's contracts bill to whichever
customer the mapping named last.
"""

from __future__ import annotations

import json
from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.mappings import Mappings
from reference_impl.master_data import Customers
from reference_impl.signatures import InvalidSignature
from tests.broken_connectors._hooks import require_hooks

CREATED = "crm.account.created"


class CreatesPerDeliveryConnector(ReferenceConnector):
    name = "broken: creates an ERP customer per account.created delivery"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "receive", "verify_signature")
        require_hooks(Customers, "erp_fields")
        require_hooks(Mappings, "remember")
        super().__init__(runtime)

    def receive(self, delivery: Any) -> int:
        event = json.loads(delivery.body)
        if event.get("type") != CREATED:
            return super().receive(delivery)
        try:
            self.verify_signature(delivery)
        except InvalidSignature:
            return 401
        self.inbox.accept(event["id"], event["type"], event["data"]["id"])  # so the feed's copy is skipped
        account_id = event["data"]["id"]
        account = self.clients["crm"].call("GET", f"/accounts/{account_id}")
        key = f"customer:{delivery.headers['webhook-id']}:{delivery.headers['webhook-timestamp']}"  # DEFECT
        customer = self.clients["erp"].call("POST", "/customers", headers={"idempotency-key": key}, json={
            "external_ref": account_id, "tax_jurisdiction": account["tax_jurisdiction"],
            "currency": account["currency"], **self.customers.erp_fields(account)})
        self.mappings.remember("customer", account_id, customer["id"])
        self.mappings.remember("customer_synced_version", account_id, account["version"])
        return 200


def build(runtime: Any) -> CreatesPerDeliveryConnector:
    return CreatesPerDeliveryConnector(runtime)
