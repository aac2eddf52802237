"""CLM request parsing."""

from __future__ import annotations

from mocks.clm.models import BILLING_TYPES, ClmBackend, MilestoneTerm, RateCardEntry, Terms
from mocks.core.etag import etag
from mocks.core.pagination import paginate
from mocks.core.problems import NotFound, ValidationFailed
from mocks.core.routing import ApiRequest, ApiResponse
from mocks.core.validation import Payload


def _rate_card(entries: list[Payload]) -> list[RateCardEntry]:
    return [RateCardEntry(e.str("role", max_len=60), e.int("rate", minimum=0), e.date("effective_from").isoformat())
            for e in entries]


class ClmResponses:
    def __init__(self, backend: ClmBackend) -> None:
        self.backend = backend

    def list_contracts(self, request: ApiRequest) -> ApiResponse:
        items = list(self.backend.contracts.values())
        return ApiResponse(200, paginate(request, items, lambda c: c.to_json()))

    def get_contract(self, request: ApiRequest) -> ApiResponse:
        contract = self.backend.get_contract(request.params["id"])
        return ApiResponse(200, contract.to_json(), {"etag": etag(contract.version)})

    def get_version(self, request: ApiRequest) -> ApiResponse:
        contract = self.backend.get_contract(request.params["id"])
        raw = request.params["version"]
        # ASCII digits only: "²".isdigit() is True but int("²") fails, and "١" is not a version anyone issued
        terms = contract.terms_at(int(raw)) if raw.isascii() and raw.isdigit() else None
        if terms is None:
            raise NotFound(f"contract {contract.id} has no version {raw}")
        return ApiResponse(200, {"contract_id": contract.id, **terms.to_json()})

    def create_contract(self, request: ApiRequest) -> ApiResponse:
        p = Payload(request.json())
        start, end = p.date("start_date"), p.date("end_date")
        if end < start:
            raise ValidationFailed("end_date", "must not be before start_date")
        billing_type = p.choice("billing_type", BILLING_TYPES)
        rate_card = _rate_card(p.objects("rate_card")) if "rate_card" in p.body else []
        milestones = [
            MilestoneTerm(m.str("ref", max_len=40), m.str("name", max_len=120), m.int("amount", minimum=0),
                          m.date("planned_date").isoformat())
            for m in (p.objects("milestones") if "milestones" in p.body else [])
        ]
        terms = Terms(1, start.isoformat(), end.isoformat(), rate_card,
                      str(p.decimal("expense_markup_pct", None) or "0"), p.int("cap", None, minimum=0),
                      milestones=milestones, retainer_fee=p.int("retainer_fee", None, minimum=1),
                      payment_terms_days=p.int("payment_terms_days", 30, minimum=0))
        if terms.payment_terms_days > 365:
            raise ValidationFailed("payment_terms_days", "must be at most 365")
        required = {"time_and_materials": ("rate_card", terms.rate_card), "capped_tm": ("cap", terms.cap),
                    "fixed_fee_milestones": ("milestones", terms.milestones),
                    "retainer": ("retainer_fee", terms.retainer_fee)}[billing_type]
        if not required[1]:
            raise ValidationFailed(required[0], f"is required for billing type {billing_type}")
        contract = self.backend.create_contract(
            account_id=p.str("account_id"),
            legal_entity=p.str("legal_entity"),
            currency=p.str("currency", max_len=3),
            billing_type=billing_type,
            title=p.str("title", max_len=255),
            opportunity_id=p.str("opportunity_id", None),
            terms=terms,
        )
        return ApiResponse(201, contract.to_json())

    def propose_amendment(self, request: ApiRequest) -> ApiResponse:
        p = Payload(request.json())
        amounts = p.object("milestone_amounts", None)
        amendment = self.backend.propose_amendment(
            request.params["id"],
            effective_date=p.date("effective_date").isoformat(),
            rate_card=_rate_card(p.objects("rate_card")) if "rate_card" in p.body else None,
            cap=p.int("cap", None, minimum=0),
            end_date=p.date("end_date", None).isoformat() if p.body.get("end_date") else None,
            milestone_amounts={ref: amounts.int(ref, minimum=0) for ref in amounts.body} if amounts else None,
        )
        return ApiResponse(201, amendment.to_json())

    def get_amendment(self, request: ApiRequest) -> ApiResponse:
        return ApiResponse(200, self.backend.get_amendment(request.params["id"]).to_json())

    def list_amendments(self, request: ApiRequest) -> ApiResponse:
        contract = self.backend.get_contract(request.params["id"])
        items = list(self.backend.amendments.values())
        return ApiResponse(200, paginate(request, items, lambda a: a.to_json(), lambda a: a.contract_id == contract.id))

    def sign_amendment(self, request: ApiRequest) -> ApiResponse:
        return ApiResponse(200, self.backend.sign_amendment(request.params["id"]).to_json())

    def transition_handler(self, action: str):
        def handler(request: ApiRequest) -> ApiResponse:
            return ApiResponse(200, self.backend.transition(request.params["id"], action).to_json())
        return handler
