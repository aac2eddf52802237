"""CLM state and rules.

A contract's commercial terms are versioned: version 1 is what was signed,
and each signed amendment adds a version. Older versions stay readable, so
lineage that names "contract X version N" can always be resolved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mocks.clm.exceptions import AmendmentNotFound, ContractNotFound, IllegalContractTransition
from mocks.core.backend import Backend
from mocks.core.problems import ValidationFailed

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
class MilestoneTerm:
    ref: str
    name: str
    amount: int  # minor units
    planned_date: str

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "name": self.name, "amount": self.amount, "planned_date": self.planned_date}


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
    milestones: list[MilestoneTerm] = field(default_factory=list)
    retainer_fee: int | None = None
    amendment_id: str | None = None
    payment_terms_days: int = 30

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "start_date": self.start_date,
            "end_date": self.end_date,
            "rate_card": [e.to_json() for e in self.rate_card],
            "expense_markup_pct": self.expense_markup_pct,
            "cap": self.cap,
            "effective_date": self.effective_date,
            "milestones": [m.to_json() for m in self.milestones],
            "retainer_fee": self.retainer_fee,
            "amendment_id": self.amendment_id,
            "payment_terms_days": self.payment_terms_days,
        }


@dataclass
class Amendment:
    """Proposed changes to a signed contract; signing it creates the next version.

    ``rate_card`` entries are added to the card (an entry for the same role
    and effective date replaces the old one; the amendment itself lists each
    role and date at most once); an ``effective_from`` in the
    past makes the amendment retroactive. ``milestone_amounts`` maps a
    milestone ref to its new amount.
    """

    id: str
    contract_id: str
    sequence: int
    effective_date: str
    rate_card: list[RateCardEntry] = field(default_factory=list)
    cap: int | None = None
    end_date: str | None = None
    milestone_amounts: dict[str, int] = field(default_factory=dict)
    status: str = "draft"
    signed_at: str | None = None
    creates_version: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "contract_id": self.contract_id, "sequence": self.sequence,
            "effective_date": self.effective_date, "rate_card": [e.to_json() for e in self.rate_card],
            "cap": self.cap, "end_date": self.end_date, "milestone_amounts": dict(self.milestone_amounts),
            "status": self.status, "signed_at": self.signed_at, "creates_version": self.creates_version,
        }

    def apply_to(self, terms: Terms) -> Terms:
        card = {(e.role, e.effective_from): e for e in terms.rate_card}
        for entry in self.rate_card:
            card[(entry.role, entry.effective_from)] = entry
        milestones = [
            MilestoneTerm(m.ref, m.name, self.milestone_amounts.get(m.ref, m.amount), m.planned_date)
            for m in terms.milestones
        ]
        return Terms(
            version=terms.version + 1, start_date=terms.start_date, end_date=self.end_date or terms.end_date,
            rate_card=sorted(card.values(), key=lambda e: (e.role, e.effective_from)),
            expense_markup_pct=terms.expense_markup_pct, cap=self.cap if self.cap is not None else terms.cap,
            effective_date=self.effective_date, milestones=milestones, retainer_fee=terms.retainer_fee,
            amendment_id=self.id, payment_terms_days=terms.payment_terms_days,
        )


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


def check_rate_card(entries: list[RateCardEntry], field: str = "rate_card") -> None:
    """422 naming ``rate_card[i].effective_from`` when entry ``i`` repeats an earlier entry's role and date.

    Two rates for one role from one day make the rate on that day ambiguous;
    every card the CLM stores has at most one entry per (role, effective date).
    """
    seen: dict[tuple[str, str], int] = {}
    for i, entry in enumerate(entries):
        first = seen.setdefault((entry.role, entry.effective_from), i)
        if first != i:
            raise ValidationFailed(f"{field}[{i}].effective_from",
                                   f"role {entry.role!r} already has a rate effective from {entry.effective_from} "
                                   f"({field}[{first}])")


class ClmBackend(Backend):
    system = "clm"
    events = {
        "contract.created": "A contract was drafted; the subject is the contract.",
        "contract.in_approval": "A contract was submitted for approval; the subject is the contract.",
        "contract.signed": "A contract was signed; the subject is the contract.",
        "contract.terminated": "A contract was terminated; the subject is the contract.",
        "amendment.created": "An amendment was proposed; the subject is the amendment.",
        "contract.amended": "An amendment was signed; the subject is the contract, the version its new one.",
    }

    def __init__(self, clock, feed_retention: int | None = None) -> None:
        super().__init__(clock, feed_retention)
        self.contracts: dict[str, Contract] = {}
        self.amendments: dict[str, Amendment] = {}

    def create_contract(self, *, account_id: str, legal_entity: str, currency: str, billing_type: str,
                        title: str, terms: Terms, opportunity_id: str | None = None) -> Contract:
        check_rate_card(terms.rate_card)
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

    # -- amendments ---------------------------------------------------------------
    def propose_amendment(self, contract_id: str, *, effective_date: str, rate_card: list[RateCardEntry] | None = None,
                          cap: int | None = None, end_date: str | None = None,
                          milestone_amounts: dict[str, int] | None = None) -> Amendment:
        contract = self.get_contract(contract_id)
        if contract.status != "signed":
            raise IllegalContractTransition(contract.id, contract.status, "amend")
        known = {m.ref for m in contract.terms.milestones}
        for ref in milestone_amounts or {}:
            if ref not in known:
                raise ValidationFailed("milestone_amounts", f"contract {contract.id} has no milestone {ref!r}")
        if cap is not None and contract.billing_type != "capped_tm":
            raise ValidationFailed("cap", f"contract {contract.id} is {contract.billing_type}, not capped_tm")
        check_rate_card(rate_card or [])
        sequence = 1 + sum(1 for a in self.amendments.values() if a.contract_id == contract.id)
        amendment = Amendment(self.next_id("amd"), contract.id, sequence, effective_date, list(rate_card or []),
                              cap, end_date, dict(milestone_amounts or {}))
        self.amendments[amendment.id] = amendment
        self.publish("amendment.created", amendment.id, 1)
        return amendment

    def get_amendment(self, amendment_id: str) -> Amendment:
        try:
            return self.amendments[amendment_id]
        except KeyError:
            raise AmendmentNotFound(amendment_id) from None

    def sign_amendment(self, amendment_id: str) -> Contract:
        """Sign: the contract's current terms become history and the amended terms the new version."""
        amendment = self.get_amendment(amendment_id)
        if amendment.status != "draft":
            raise IllegalContractTransition(amendment.id, amendment.status, "sign amendment")
        contract = self.get_contract(amendment.contract_id)
        contract.history.append(contract.terms)
        contract.terms = amendment.apply_to(contract.terms)
        amendment.status = "signed"
        amendment.signed_at = self.now_iso()
        amendment.creates_version = contract.version
        self.publish("contract.amended", contract.id, contract.version)
        return contract
