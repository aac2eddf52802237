"""CLM request parsing."""

from __future__ import annotations

from mocks.clm.models import BILLING_TYPES, ClmBackend, RateCardEntry, Terms
from mocks.core.pagination import paginate
from mocks.core.problems import NotFound, ValidationFailed
from mocks.core.routing import ApiRequest, ApiResponse
from mocks.core.validation import Payload


class ClmResponses:
    def __init__(self, backend: ClmBackend) -> None:
        self.backend = backend

    def list_contracts(self, request: ApiRequest) -> ApiResponse:
        items = list(self.backend.contracts.values())
        return ApiResponse(200, paginate(request, items, lambda c: c.to_json()))

    def get_contract(self, request: ApiRequest) -> ApiResponse:
        return ApiResponse(200, self.backend.get_contract(request.params["id"]).to_json())

    def get_version(self, request: ApiRequest) -> ApiResponse:
        contract = self.backend.get_contract(request.params["id"])
        raw = request.params["version"]
        terms = contract.terms_at(int(raw)) if raw.isdigit() else None
        if terms is None:
            raise NotFound(f"contract {contract.id} has no version {raw}")
        return ApiResponse(200, {"contract_id": contract.id, **terms.to_json()})

    def create_contract(self, request: ApiRequest) -> ApiResponse:
        p = Payload(request.json())
        start, end = p.date("start_date"), p.date("end_date")
        if end < start:
            raise ValidationFailed("end_date", "must not be before start_date")
        rate_card = []
        for entry in p.objects("rate_card"):
            rate_card.append(RateCardEntry(entry.str("role", max_len=60), entry.int("rate", minimum=0),
                                           entry.date("effective_from").isoformat()))
        cap = p.int("cap", None, minimum=0)
        contract = self.backend.create_contract(
            account_id=p.str("account_id"),
            legal_entity=p.str("legal_entity"),
            currency=p.str("currency", max_len=3),
            billing_type=p.choice("billing_type", BILLING_TYPES),
            title=p.str("title", max_len=255),
            opportunity_id=p.str("opportunity_id", None),
            terms=Terms(1, start.isoformat(), end.isoformat(), rate_card,
                        str(p.decimal("expense_markup_pct", None) or "0"), cap),
        )
        return ApiResponse(201, contract.to_json())

    def transition_handler(self, action: str):
        def handler(request: ApiRequest) -> ApiResponse:
            return ApiResponse(200, self.backend.transition(request.params["id"], action).to_json())
        return handler
