"""Master data: one ERP customer per CRM account, kept up to date.

Guarantees:

- At most one ERP customer per CRM account: the create carries the
  ``Idempotency-Key`` ``customer:ACCOUNT``, and the customer's id is
  remembered (``customer:ACCOUNT``) only once the ERP has answered, so a
  retry after a lost answer or a crash replays the create instead of
  booking a second customer.
- An account change reaches the ERP customer with ``If-Match`` (the
  customer's current ETag), never blind: a concurrent edit makes the write
  fail (412) and the inbox retries it from fresh reads.
- Never backwards: the account version last written is remembered
  (``customer_synced_version:ACCOUNT``), and an event whose account is not
  newer (a late or repeated one) writes nothing.
"""

from __future__ import annotations

from typing import Any

from reference_impl.api import SystemClient
from reference_impl.mappings import Mappings

CUSTOMER_NAME_MAX = 40


class Customers:
    def __init__(self, clients: dict[str, SystemClient], mappings: Mappings) -> None:
        self.clients = clients  # shared with the connector, read at each call
        self.mappings = mappings

    @staticmethod
    def erp_fields(account: dict[str, Any]) -> dict[str, Any]:
        """The ERP customer's fields that follow the CRM account."""
        return {
            "name": account["legal_name"][:CUSTOMER_NAME_MAX],  # the full name travels in legal_name
            "legal_name": account["legal_name"],
            "tax_id": account["tax_id"],
            "billing_address": account["billing_address"],
        }

    def sync(self, account_id: str) -> str:
        """The account's ERP customer id, creating the customer the first time."""
        known = self.mappings.recall("customer", account_id)
        if known is not None:
            return known
        account = self.clients["crm"].call("GET", f"/accounts/{account_id}")
        customer = self.clients["erp"].call(
            "POST", "/customers", headers={"idempotency-key": f"customer:{account_id}"},
            json={"external_ref": account_id, "tax_jurisdiction": account["tax_jurisdiction"],
                  "currency": account["currency"], **self.erp_fields(account)},
        )
        self.mappings.remember("customer", account_id, customer["id"])
        self.mappings.remember("customer_synced_version", account_id, account["version"])
        return customer["id"]

    def update(self, account_id: str) -> None:
        """Bring the account's ERP customer up to the account's current version (creating it if need be)."""
        customer_id = self.mappings.recall("customer", account_id)
        if customer_id is None:
            self.sync(account_id)
            return
        account = self.clients["crm"].call("GET", f"/accounts/{account_id}")
        if account["version"] <= (self.mappings.recall("customer_synced_version", account_id) or 0):
            return  # a stale event: this or a newer version is already in the ERP
        erp = self.clients["erp"]
        current = erp.request("GET", f"/customers/{customer_id}")
        if not 200 <= current.status_code < 300:  # a 429 or a 5xx has no ETag: retried like any failed call
            raise erp.refusal("GET", f"/customers/{customer_id}", current)
        erp.call("PATCH", f"/customers/{customer_id}", json=self.erp_fields(account),
                 headers={"if-match": current.headers["etag"]})
        self.mappings.remember("customer_synced_version", account_id, account["version"])
