"""Creates ERP customers at contract signing only: accounts whose deal is lost, or not yet won, have none.

The real-world bug: "finance only needs customers it invoices", so the
connector ignores ``crm.account.created`` and creates the ERP customer
when a contract for the account is signed. But the ERP is the system of
record for customers: credit checks, quotes and collections read it before
any contract exists, and the integration owes one ERP customer per CRM
account, kept in step with it. Every amount it bills is right.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector


class CreatesCustomersAtSigningConnector(ReferenceConnector):
    name = "broken: creates ERP customers at contract signing only"

    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime)
        del self.handlers["crm.account.created"]  # DEFECT: the contract's set-up creates the customer
        self.subscriptions = frozenset(t for t in self.subscriptions if t != "crm.account.created")


def build(runtime: Any) -> CreatesCustomersAtSigningConnector:
    return CreatesCustomersAtSigningConnector(runtime)
