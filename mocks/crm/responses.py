"""CRM request parsing: JSON in, backend call, JSON out."""

from __future__ import annotations

from dataclasses import fields

from mocks.core.etag import check_if_match, entity_response
from mocks.core.fields import Choice, Date, Money, Record, Text, read
from mocks.core.pagination import paginate
from mocks.core.routing import ApiRequest, ApiResponse
from mocks.core.validation import Payload, read_changes
from mocks.crm.models import STAGES, UPDATABLE, Account, CrmBackend

ADDRESS_FIELDS = {
    "line1": Text(max_len=255),
    "city": Text(max_len=100),
    "postal_code": Text(max_len=20),
    "country": Text(max_len=2),
}

# One reader per account field, shared by create and PATCH: a value is valid in both or in neither.
ACCOUNT_FIELDS = {
    "legal_name": Text(max_len=255),
    "billing_country": Text(max_len=2),
    "currency": Text(max_len=3),
    "tax_id": Text(max_len=40),
    "tax_jurisdiction": Text(max_len=20),
    "billing_address": Record(fields=ADDRESS_FIELDS),
}
ACCOUNT_CHANGES = {name: ACCOUNT_FIELDS[name] for name in UPDATABLE}
_ACCOUNT_MEMBERS = frozenset(f.name for f in fields(Account))

OPPORTUNITY_FIELDS = {
    "account_id": Text(),
    "name": Text(max_len=255),
    "amount": Money(minimum=0, description="estimated contract value"),
    "currency": Text(max_len=3),
    "close_date": Date(),
}
STAGE_FIELDS = {"stage": Choice(choices=STAGES, description="a later stage than the current one")}


class CrmResponses:
    def __init__(self, backend: CrmBackend) -> None:
        self.backend = backend

    def list_accounts(self, request: ApiRequest) -> ApiResponse:
        items = list(self.backend.accounts.values())
        return ApiResponse(200, paginate(request, items, lambda a: a.to_json()))

    def get_account(self, request: ApiRequest) -> ApiResponse:
        return entity_response(self.backend.get_account(request.params["id"]))

    def create_account(self, request: ApiRequest) -> ApiResponse:
        return entity_response(self.backend.create_account(**read(Payload(request.json()), ACCOUNT_FIELDS)), 201)

    def update_account(self, request: ApiRequest) -> ApiResponse:
        """PATCH: each field is validated exactly as on create, all before any is applied.

        A read-only field (``currency``, ``id``, ``version``...) or an unknown
        one is a 422 naming it, never silently ignored.
        """
        account = self.backend.get_account(request.params["id"])
        check_if_match(request, account.version)
        changes = read_changes(Payload(request.json()), ACCOUNT_CHANGES, UPDATABLE, _ACCOUNT_MEMBERS, "an account")
        return entity_response(self.backend.update_account(account.id, changes))

    def list_opportunities(self, request: ApiRequest) -> ApiResponse:
        items = list(self.backend.opportunities.values())
        account_id = request.query.get("account_id")
        predicate = (lambda o: o.account_id == account_id) if account_id is not None else None
        return ApiResponse(200, paginate(request, items, lambda o: o.to_json(), predicate))

    def get_opportunity(self, request: ApiRequest) -> ApiResponse:
        return entity_response(self.backend.get_opportunity(request.params["id"]))

    def create_opportunity(self, request: ApiRequest) -> ApiResponse:
        values = read(Payload(request.json()), OPPORTUNITY_FIELDS)
        values["close_date"] = values["close_date"].isoformat()
        return entity_response(self.backend.create_opportunity(**values), 201)

    def move_opportunity(self, request: ApiRequest) -> ApiResponse:
        opportunity = self.backend.get_opportunity(request.params["id"])
        check_if_match(request, opportunity.version)
        stage = read(Payload(request.json()), STAGE_FIELDS)["stage"]
        return entity_response(self.backend.move_opportunity(opportunity.id, stage))
