"""CLM request parsing."""

from __future__ import annotations

from typing import Any

from mocks.clm.models import BILLING_TYPES, ClmBackend, MilestoneTerm, RateCardEntry, Terms
from mocks.core.etag import entity_response
from mocks.core.fields import AmountMap, Choice, Date, DecimalText, Integer, Money, Records, Text, read
from mocks.core.pagination import paginate
from mocks.core.problems import NotFound, ValidationFailed
from mocks.core.routing import ApiRequest, ApiResponse
from mocks.core.validation import Payload

MAX_PAYMENT_TERMS_DAYS = 365

RATE_CARD_ENTRY = {
    "role": Text(max_len=60),
    "rate": Money(minimum=0, description="minor units per hour"),
    "effective_from": Date(),
}
MILESTONE_TERM = {
    "ref": Text(max_len=40),
    "name": Text(max_len=120),
    "amount": Money(minimum=0),
    "planned_date": Date(),
}
# The term each billing type cannot do without.
REQUIRED_TERM = {"time_and_materials": "rate_card", "capped_tm": "cap", "fixed_fee_milestones": "milestones",
                 "retainer": "retainer_fee"}

CONTRACT_FIELDS = {
    "start_date": Date(),
    "end_date": Date(),
    "billing_type": Choice(choices=BILLING_TYPES),
    "rate_card": Records(None, fields=RATE_CARD_ENTRY),
    "milestones": Records(None, fields=MILESTONE_TERM),
    "expense_markup_pct": DecimalText(None, description="percent added to billable expenses; default 0"),
    "cap": Money(None, minimum=0, description="the most a capped_tm contract bills"),
    "retainer_fee": Money(None, minimum=1, description="per month"),
    "payment_terms_days": Integer(30, minimum=0, maximum=MAX_PAYMENT_TERMS_DAYS),
    "account_id": Text(),
    "legal_entity": Text(),
    "currency": Text(max_len=3),
    "title": Text(max_len=255),
    "opportunity_id": Text(None),
}
CONTRACT_RULES = (
    "end_date is not before start_date",
    "the billing type's own term is present: rate_card for time_and_materials, cap for capped_tm, milestones for "
    "fixed_fee_milestones, retainer_fee for retainer",
    "a rate card names each (role, effective_from) at most once",
)

AMENDMENT_FIELDS = {
    "effective_date": Date(),
    "rate_card": Records(None, fields=RATE_CARD_ENTRY, description="entries added to the card"),
    "cap": Money(None, minimum=0),
    "end_date": Date(None),
    "milestone_amounts": AmountMap(None, description="milestone ref -> its new amount"),
}
AMENDMENT_RULES = (
    "milestone_amounts names only milestones of the contract",
    "cap only for a capped_tm contract",
    "a rate card names each (role, effective_from) at most once",
)


def _rate_card(entries: list[dict[str, Any]] | None) -> list[RateCardEntry]:
    return [RateCardEntry(e["role"], e["rate"], e["effective_from"].isoformat()) for e in entries or []]


class ClmResponses:
    def __init__(self, backend: ClmBackend) -> None:
        self.backend = backend

    def list_contracts(self, request: ApiRequest) -> ApiResponse:
        items = list(self.backend.contracts.values())
        return ApiResponse(200, paginate(request, items, lambda c: c.to_json()))

    def get_contract(self, request: ApiRequest) -> ApiResponse:
        return entity_response(self.backend.get_contract(request.params["id"]))

    def get_version(self, request: ApiRequest) -> ApiResponse:
        contract = self.backend.get_contract(request.params["id"])
        raw = request.params["version"]
        # ASCII digits only: "²".isdigit() is True but int("²") fails, and "١" is not a version anyone issued
        terms = contract.terms_at(int(raw)) if raw.isascii() and raw.isdigit() else None
        if terms is None:
            raise NotFound(f"contract {contract.id} has no version {raw}")
        return ApiResponse(200, {"contract_id": contract.id, **terms.to_json()})

    def create_contract(self, request: ApiRequest) -> ApiResponse:
        f = read(Payload(request.json()), CONTRACT_FIELDS)
        if f["end_date"] < f["start_date"]:
            raise ValidationFailed("end_date", "must not be before start_date")
        milestones = [MilestoneTerm(m["ref"], m["name"], m["amount"], m["planned_date"].isoformat())
                      for m in f["milestones"] or []]
        terms = Terms(1, f["start_date"].isoformat(), f["end_date"].isoformat(), _rate_card(f["rate_card"]),
                      str(f["expense_markup_pct"] or "0"), f["cap"], milestones=milestones,
                      retainer_fee=f["retainer_fee"], payment_terms_days=f["payment_terms_days"])
        required = REQUIRED_TERM[f["billing_type"]]
        if f[required] is None:
            raise ValidationFailed(required, f"is required for billing type {f['billing_type']}")
        contract = self.backend.create_contract(
            account_id=f["account_id"], legal_entity=f["legal_entity"], currency=f["currency"],
            billing_type=f["billing_type"], title=f["title"], opportunity_id=f["opportunity_id"], terms=terms)
        return entity_response(contract, 201)

    def propose_amendment(self, request: ApiRequest) -> ApiResponse:
        f = read(Payload(request.json()), AMENDMENT_FIELDS)
        amendment = self.backend.propose_amendment(
            request.params["id"],
            effective_date=f["effective_date"].isoformat(),
            rate_card=_rate_card(f["rate_card"]) if f["rate_card"] is not None else None,
            cap=f["cap"],
            end_date=f["end_date"].isoformat() if f["end_date"] is not None else None,
            milestone_amounts=f["milestone_amounts"],
        )
        return entity_response(amendment, 201)

    def get_amendment(self, request: ApiRequest) -> ApiResponse:
        return entity_response(self.backend.get_amendment(request.params["id"]))

    def list_amendments(self, request: ApiRequest) -> ApiResponse:
        contract = self.backend.get_contract(request.params["id"])
        items = list(self.backend.amendments.values())
        return ApiResponse(200, paginate(request, items, lambda a: a.to_json(), lambda a: a.contract_id == contract.id))

    def sign_amendment(self, request: ApiRequest) -> ApiResponse:
        return entity_response(self.backend.sign_amendment(request.params["id"]))

    def transition_handler(self, action: str):
        def handler(request: ApiRequest) -> ApiResponse:
            return entity_response(self.backend.transition(request.params["id"], action))
        return handler
