"""CRM request parsing: JSON in, backend call, JSON out."""

from __future__ import annotations

from mocks.core.etag import check_if_match, etag
from mocks.core.pagination import paginate
from mocks.core.routing import ApiRequest, ApiResponse
from mocks.core.validation import Payload
from mocks.crm.models import STAGES, UPDATABLE, CrmBackend


def _address(payload: Payload, field: str) -> dict[str, str]:
    address = payload.object(field)
    return {
        "line1": address.str("line1", max_len=255),
        "city": address.str("city", max_len=100),
        "postal_code": address.str("postal_code", max_len=20),
        "country": address.str("country", max_len=2),
    }


class CrmResponses:
    def __init__(self, backend: CrmBackend) -> None:
        self.backend = backend

    def list_accounts(self, request: ApiRequest) -> ApiResponse:
        items = list(self.backend.accounts.values())
        return ApiResponse(200, paginate(request, items, lambda a: a.to_json()))

    def get_account(self, request: ApiRequest) -> ApiResponse:
        account = self.backend.get_account(request.params["id"])
        return ApiResponse(200, account.to_json(), {"etag": etag(account.version)})

    def create_account(self, request: ApiRequest) -> ApiResponse:
        p = Payload(request.json())
        account = self.backend.create_account(
            legal_name=p.str("legal_name", max_len=255),
            billing_country=p.str("billing_country", max_len=2),
            currency=p.str("currency", max_len=3),
            tax_id=p.str("tax_id", max_len=40),
            tax_jurisdiction=p.str("tax_jurisdiction", max_len=20),
            billing_address=_address(p, "billing_address"),
        )
        return ApiResponse(201, account.to_json(), {"etag": etag(account.version)})

    def update_account(self, request: ApiRequest) -> ApiResponse:
        account = self.backend.get_account(request.params["id"])
        check_if_match(request, account.version)
        p = Payload(request.json())
        changes = {}
        for name in UPDATABLE:
            if name in p.body:
                changes[name] = _address(p, name) if name == "billing_address" else p.str(name, max_len=255)
        account = self.backend.update_account(account.id, changes)
        return ApiResponse(200, account.to_json(), {"etag": etag(account.version)})

    def list_opportunities(self, request: ApiRequest) -> ApiResponse:
        items = list(self.backend.opportunities.values())
        if "account_id" in request.query:
            items = [o for o in items if o.account_id == request.query["account_id"]]
        return ApiResponse(200, paginate(request, items, lambda o: o.to_json()))

    def get_opportunity(self, request: ApiRequest) -> ApiResponse:
        opportunity = self.backend.get_opportunity(request.params["id"])
        return ApiResponse(200, opportunity.to_json(), {"etag": etag(opportunity.version)})

    def create_opportunity(self, request: ApiRequest) -> ApiResponse:
        p = Payload(request.json())
        opportunity = self.backend.create_opportunity(
            p.str("account_id"), p.str("name", max_len=255), p.int("amount", minimum=0),
            p.str("currency", max_len=3), p.date("close_date").isoformat())
        return ApiResponse(201, opportunity.to_json(), {"etag": etag(opportunity.version)})

    def move_opportunity(self, request: ApiRequest) -> ApiResponse:
        opportunity = self.backend.get_opportunity(request.params["id"])
        check_if_match(request, opportunity.version)
        stage = Payload(request.json()).choice("stage", STAGES)
        opportunity = self.backend.move_opportunity(opportunity.id, stage)
        return ApiResponse(200, opportunity.to_json(), {"etag": etag(opportunity.version)})
