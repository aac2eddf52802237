"""ERP request parsing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

from mocks.core.etag import check_if_match, etag
from mocks.core.pagination import paginate
from mocks.core.problems import ValidationFailed
from mocks.core.routing import ApiRequest, ApiResponse
from mocks.core.validation import Payload, read_changes
from mocks.erp.models import CUSTOMER_UPDATABLE, Customer, ErpBackend

CUSTOMER_NAME_MAX = 40  # as in NetSuite: shorter than a CRM's 255
MAX_BATCH = 500
MAX_PAYMENT_TERMS_DAYS = 365


def _address(p: Payload, field: str) -> dict[str, str]:
    address = p.object(field)
    return {k: address.str(k, max_len=255) for k in ("line1", "city", "postal_code", "country")}


# One reader per customer field, shared by create and update so a field is valid in both or in neither.
CUSTOMER_FIELDS: dict[str, Callable[[Payload, str], Any]] = {
    "external_ref": lambda p, f: p.str(f, max_len=64),
    "name": lambda p, f: p.str(f, max_len=CUSTOMER_NAME_MAX),
    "legal_name": lambda p, f: p.str(f, max_len=255),
    "tax_id": lambda p, f: p.str(f, max_len=40),
    "tax_jurisdiction": lambda p, f: p.str(f, max_len=20),
    "currency": lambda p, f: p.str(f, max_len=3),
    "billing_address": _address,
}
_CUSTOMER_MEMBERS = frozenset(f.name for f in fields(Customer))


class ErpResponses:
    def __init__(self, backend: ErpBackend) -> None:
        self.backend = backend

    def create_customer(self, request: ApiRequest) -> ApiResponse:
        p = Payload(request.json())
        customer = self.backend.create_customer(**{name: read(p, name) for name, read in CUSTOMER_FIELDS.items()})
        return ApiResponse(201, customer.to_json(), {"etag": etag(customer.version)})

    def update_customer(self, request: ApiRequest) -> ApiResponse:
        """PATCH: every field is validated as on create before any is applied, so a 422 changes nothing.

        A field that is not updatable (or not a customer field at all) is a 422
        naming it, never silently ignored.
        """
        customer = self.backend.get("customers", request.params["id"])
        check_if_match(request, customer.version)
        changes = read_changes(Payload(request.json()), CUSTOMER_FIELDS, CUSTOMER_UPDATABLE, _CUSTOMER_MEMBERS,
                               "a customer")
        customer = self.backend.update_customer(customer.id, changes)
        return ApiResponse(200, customer.to_json(), {"etag": etag(customer.version)})

    def create_billing_project(self, request: ApiRequest) -> ApiResponse:
        p = Payload(request.json())
        project = self.backend.create_billing_project(
            customer_id=p.str("customer_id"), legal_entity=p.str("legal_entity"),
            contract_ref=p.str("contract_ref"), currency=p.str("currency", max_len=3),
            name=p.str("name", max_len=255),
            payment_terms_days=p.int("payment_terms_days", 30, minimum=0, maximum=MAX_PAYMENT_TERMS_DAYS),
        )
        return ApiResponse(201, project.to_json())

    @staticmethod
    def _charge_fields(p: Payload) -> dict:
        """The fields of one charge, type-checked; the ledger's bounds and reversal rules are the backend's."""
        return {
            "billing_project_id": p.str("billing_project_id"), "charge_date": p.date("charge_date").isoformat(),
            "description": p.str("description", max_len=255), "quantity": p.decimal("quantity"),
            "unit_price": p.int("unit_price"), "amount": p.int("amount"), "currency": p.str("currency", max_len=3),
            "lineage": p.object("lineage").body, "reversal_of": p.str("reversal_of", None),
            "hold": p.bool("hold", False),
        }

    def create_charge(self, request: ApiRequest) -> ApiResponse:
        (charge,) = self.backend.create_charges([self._charge_fields(Payload(request.json()))], prefixes=[""])
        return ApiResponse(201, charge.to_json())

    def create_charge_batch(self, request: ApiRequest) -> ApiResponse:
        entries = Payload(request.json()).objects("charges")
        if len(entries) > MAX_BATCH:
            raise ValidationFailed("charges", f"at most {MAX_BATCH} charges per batch, got {len(entries)}")
        charges = self.backend.create_charges([self._charge_fields(entry) for entry in entries])
        return ApiResponse(201, {"data": [c.to_json() for c in charges]})

    def release_charge(self, request: ApiRequest) -> ApiResponse:
        p = Payload(request.json() if request.body else {})
        charges = self.backend.release_charge(request.params["id"], p.int("amount", None))
        return ApiResponse(200, {"data": [c.to_json() for c in charges]})

    def list_periods(self, request: ApiRequest) -> ApiResponse:
        return ApiResponse(200, paginate(request, self.backend.periods_opened, lambda p: {"period": p, "status": "open"}))

    def dispute_invoice(self, request: ApiRequest) -> ApiResponse:
        p = Payload(request.json())
        ids = p.body.get("charge_ids", [])
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ValidationFailed("charge_ids", "must be an array of charge ids")
        invoice = self.backend.record_dispute(request.params["id"], p.str("reason", max_len=500), ids)
        return ApiResponse(201, invoice.to_json())

    def run_billing(self, request: ApiRequest) -> ApiResponse:
        p = Payload(request.json())
        invoices = self.backend.run_billing(p.str("legal_entity"), p.str("period"))
        return ApiResponse(201, {"invoices": [i.to_json() for i in invoices]})

    def post_invoice(self, request: ApiRequest) -> ApiResponse:
        return ApiResponse(200, self.backend.post_invoice(request.params["id"]).to_json())

    def create_payment(self, request: ApiRequest) -> ApiResponse:
        p = Payload(request.json())
        payment = self.backend.record_payment(p.str("invoice_id"), p.int("amount", minimum=1))
        return ApiResponse(201, payment.to_json())
