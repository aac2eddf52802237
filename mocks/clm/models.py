"""CLM state and rules.

A contract's commercial terms are versioned: version 1 is what was signed,
and each signed amendment adds a version. Older versions stay readable, so
lineage that names "contract X version N" can always be resolved.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from mocks.clm.exceptions import ContractNotFound, IllegalContractTransition
from mocks.core.backend import Backend

BILLING_TYPES = ("time_and_materials", "capped_tm", "fixed_fee_milestones", "retainer")
TRANSITIONS = {
    "submit": ("draft", "in_approval"),
    "sign": ("in_approval", "signed"),
    "terminate": ("signed", "terminated"),
}


@dataclass
class RateCardEntry:
    role: str
    rate: int  # minor units per hour
    effective_from: str  # YYYY-MM-DD

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "rate": self.rate, "effective_from": self.effective_from}


@dataclass
class Terms:
    """The commercial terms of one contract version."""

    version: int
    start_date: str
    end_date: str
    rate_card: list[RateCardEntry]
    expense_markup_pct: str = "0"
    cap: int | None = None
    effective_date: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "start_date": self.start_date,
            "end_date": self.end_date,
            "rate_card": [e.to_json() for e in self.rate_card],
            "expense_markup_pct": self.expense_markup_pct,
            "cap": self.cap,
            "effective_date": self.effective_date,
        }


@dataclass
class Contract:
    id: str
    account_id: str
    legal_entity: str
    currency: str
    billing_type: str
    title: str
    terms: Terms
    opportunity_id: str | None = None
    status: str = "draft"
    history: list[Terms] = field(default_factory=list)
    signed_at: str | None = None
    created_at: str = ""

    @property
    def version(self) -> int:
        return self.terms.version

    def to_json(self) -> dict[str, Any]:
        body = {
            "id": self.id,
            "account_id": self.account_id,
            "opportunity_id": self.opportunity_id,
            "legal_entity": self.legal_entity,
            "currency": self.currency,
            "billing_type": self.billing_type,
            "title": self.title,
            "status": self.status,
            "signed_at": self.signed_at,
            "created_at": self.created_at,
        }
        body.update(self.terms.to_json())
        return body

    def terms_at(self, version: int) -> Terms | None:
        if version == self.terms.version:
            return self.terms
        return next((t for t in self.history if t.version == version), None)


class ClmBackend(Backend):
    system = "clm"

    def __init__(self, clock, feed_retention: int | None = None) -> None:
        super().__init__(clock, feed_retention)
        self.contracts: dict[str, Contract] = {}

    def create_contract(self, *, account_id: str, legal_entity: str, currency: str, billing_type: str,
                        title: str, terms: Terms, opportunity_id: str | None = None) -> Contract:
        contract = Contract(
            id=self.next_id("ctr"), account_id=account_id, legal_entity=legal_entity, currency=currency,
            billing_type=billing_type, title=title, terms=terms, opportunity_id=opportunity_id,
            created_at=self.now_iso(),
        )
        self.contracts[contract.id] = contract
        self.publish("contract.created", contract.id, contract.version)
        return contract

    def get_contract(self, contract_id: str) -> Contract:
        try:
            return self.contracts[contract_id]
        except KeyError:
            raise ContractNotFound(contract_id) from None

    def transition(self, contract_id: str, action: str) -> Contract:
        contract = self.get_contract(contract_id)
        source, target = TRANSITIONS[action]
        if contract.status != source:
            raise IllegalContractTransition(contract.id, contract.status, action)
        contract.status = target
        if target == "signed":
            contract.signed_at = self.now_iso()
        self.publish(f"contract.{target}", contract.id, contract.version)
        return contract

    def snapshot_terms(self, contract: Contract) -> Terms:
        return copy.deepcopy(contract.terms)
