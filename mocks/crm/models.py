"""CRM state and rules: accounts with a version bumped on every change."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from mocks.core.backend import Backend
from mocks.core.problems import Conflict, NotFound, ValidationFailed
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
        """Every field, in declaration order, with a copy of the address: what ``dataclasses.asdict`` gives,
        without its deep copy of every string (the bulk of a read's cost over HTTP)."""
        body = {name: getattr(self, name) for name in _ACCOUNT_FIELDS}
        body["billing_address"] = dict(self.billing_address)
        return body


_ACCOUNT_FIELDS = tuple(f.name for f in fields(Account))

STAGES = ("prospecting", "proposal", "negotiation", "closed_won", "closed_lost")


@dataclass
class Opportunity:
    id: str
    account_id: str
    name: str
    amount: int  # minor units, estimated contract value
    currency: str
    close_date: str
    stage: str = "prospecting"
    version: int = 1

    @property
    def is_closed(self) -> bool:
        return self.stage.startswith("closed_")

    def to_json(self) -> dict[str, Any]:
        return {**{name: getattr(self, name) for name in _OPPORTUNITY_FIELDS},
                "status": "won" if self.stage == "closed_won" else
                "lost" if self.stage == "closed_lost" else "open"}


_OPPORTUNITY_FIELDS = tuple(f.name for f in fields(Opportunity))  # every one a string or an integer

UPDATABLE = ("legal_name", "billing_country", "tax_id", "tax_jurisdiction", "billing_address")


class CrmBackend(Backend):
    system = "crm"
    events = {
        "account.created": "An account was created; the subject is the account.",
        "account.updated": "An account's fields changed (one event per PATCH); the subject is the account.",
        "opportunity.created": "An opportunity was created; the subject is the opportunity.",
        "opportunity.stage_changed": "An opportunity moved to a later stage; the subject is the opportunity.",
    }

    def __init__(self, clock, feed_retention: int | None = None) -> None:
        super().__init__(clock, feed_retention)
        self.accounts: dict[str, Account] = {}
        self.opportunities: dict[str, Opportunity] = {}

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
        """Apply already-validated ``changes`` at once: one version bump, one ``account.updated`` event.

        Only the fields in :data:`UPDATABLE` may change (the currency is fixed
        at creation); naming any other is a 422 and changes nothing.
        """
        account = self.get_account(account_id)
        for name in changes:
            if name not in UPDATABLE:
                raise ValidationFailed(name, f"cannot be changed; updatable fields: {', '.join(UPDATABLE)}")
        for name, value in changes.items():
            setattr(account, name, value)
        account.version += 1
        account.updated_at = self.now_iso()
        self.publish("account.updated", account.id, account.version)
        return account

    def create_opportunity(self, account_id: str, name: str, amount: int, currency: str,
                           close_date: str) -> Opportunity:
        self.get_account(account_id)
        opportunity = Opportunity(self.next_id("opp"), account_id, name, amount, currency, close_date)
        self.opportunities[opportunity.id] = opportunity
        self.publish("opportunity.created", opportunity.id, opportunity.version)
        return opportunity

    def get_opportunity(self, opportunity_id: str) -> Opportunity:
        try:
            return self.opportunities[opportunity_id]
        except KeyError:
            raise NotFound(f"opportunity {opportunity_id} does not exist") from None

    def move_opportunity(self, opportunity_id: str, stage: str) -> Opportunity:
        """Stages only move forward, and a closed opportunity stays closed."""
        opportunity = self.get_opportunity(opportunity_id)
        if opportunity.is_closed or STAGES.index(stage) <= STAGES.index(opportunity.stage):
            raise Conflict(f"opportunity {opportunity.id} is {opportunity.stage}; cannot move to {stage}")
        opportunity.stage = stage
        opportunity.version += 1
        self.publish("opportunity.stage_changed", opportunity.id, opportunity.version)
        return opportunity
