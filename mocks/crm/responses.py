"""CRM request parsing: JSON in, backend call, JSON out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

from mocks.core.etag import check_if_match, etag
from mocks.core.pagination import paginate
from mocks.core.routing import ApiRequest, ApiResponse
from mocks.core.validation import Payload, read_changes
from mocks.crm.models import STAGES, UPDATABLE, Account, CrmBackend


def _address(payload: Payload, field: str) -> dict[str, str]:
    address = payload.object(field)
    return {
        "line1": address.str("line1", max_len=255),
        "city": address.str("city", max_len=100),
        "postal_code": address.str("postal_code", max_len=20),
        "country": address.str("country", max_len=2),
    }


# One reader per account field, shared by create and PATCH: a value is valid in both or in neither.
ACCOUNT_FIELDS: dict[str, Callable[[Payload, str], Any]] = {
    "legal_name": lambda p, f: p.str(f, max_len=255),
    "billing_country": lambda p, f: p.str(f, max_len=2),
    "currency": lambda p, f: p.str(f, max_len=3),
    "tax_id": lambda p, f: p.str(f, max_len=40),
    "tax_jurisdiction": lambda p, f: p.str(f, max_len=20),
    "billing_address": _address,
}
_ACCOUNT_MEMBERS = frozenset(f.name for f in fields(Account))


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
        account = self.backend.create_account(**{name: read(p, name) for name, read in ACCOUNT_FIELDS.items()})
        return ApiResponse(201, account.to_json(), {"etag": etag(account.version)})

    def update_account(self, request: ApiRequest) -> ApiResponse:
        """PATCH: each field is validated exactly as on create, all before any is applied.

        A read-only field (``currency``, ``id``, ``version``...) or an unknown
        one is a 422 naming it, never silently ignored.
        """
        account = self.backend.get_account(request.params["id"])
        check_if_match(request, account.version)
        changes = read_changes(Payload(request.json()), ACCOUNT_FIELDS, UPDATABLE, _ACCOUNT_MEMBERS, "an account")
        account = self.backend.update_account(account.id, changes)
        return ApiResponse(200, account.to_json(), {"etag": etag(account.version)})

    def list_opportunities(self, request: ApiRequest) -> ApiResponse:
        items = list(self.backend.opportunities.values())
        account_id = request.query.get("account_id")
        predicate = (lambda o: o.account_id == account_id) if account_id is not None else None
        return ApiResponse(200, paginate(request, items, lambda o: o.to_json(), predicate))

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
