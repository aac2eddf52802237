"""CRM state and rules: accounts with a version bumped on every change."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from mocks.core.backend import Backend
from mocks.crm.exceptions import AccountNotFound


@dataclass
class Account:
    id: str
    legal_name: str
    billing_country: str
    currency: str
    tax_id: str
    tax_jurisdiction: str
    billing_address: dict[str, str]
    version: int = 1
    created_at: str = ""
    updated_at: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


UPDATABLE = ("legal_name", "billing_country", "tax_id", "tax_jurisdiction", "billing_address")


class CrmBackend(Backend):
    system = "crm"

    def __init__(self, clock, feed_retention: int | None = None) -> None:
        super().__init__(clock, feed_retention)
        self.accounts: dict[str, Account] = {}

    def create_account(self, **fields: Any) -> Account:
        now = self.now_iso()
        account = Account(id=self.next_id("acc"), created_at=now, updated_at=now, **fields)
        self.accounts[account.id] = account
        self.publish("account.created", account.id, account.version)
        return account

    def get_account(self, account_id: str) -> Account:
        try:
            return self.accounts[account_id]
        except KeyError:
            raise AccountNotFound(account_id) from None

    def update_account(self, account_id: str, changes: dict[str, Any]) -> Account:
        account = self.get_account(account_id)
        for name, value in changes.items():
            setattr(account, name, value)
        account.version += 1
        account.updated_at = self.now_iso()
        self.publish("account.updated", account.id, account.version)
        return account

