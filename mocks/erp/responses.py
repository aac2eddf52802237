"""ERP request parsing."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from mocks.core.etag import check_if_match, entity_response
from mocks.core.fields import (
    AnyObject,
    Choice,
    Date,
    DecimalText,
    Field,
    Flag,
    Integer,
    Money,
    Record,
    Records,
    Text,
    Texts,
    read,
)
from mocks.core.pagination import paginate
from mocks.core.routing import ApiRequest, ApiResponse
from mocks.core.validation import Payload, read_changes
from mocks.erp.models import CUSTOMER_UPDATABLE, PERIOD_PATTERN, Customer, ErpBackend, parse_period
from mocks.erp.money import MINOR_UNITS

CUSTOMER_NAME_MAX = 40  # as in NetSuite: shorter than a CRM's 255
MAX_BATCH = 500
MAX_PAYMENT_TERMS_DAYS = 365


@dataclass(frozen=True, slots=True)
class Period(Field):
    """A billing period ``YYYY-MM`` (:func:`mocks.erp.models.parse_period`)."""

    def __call__(self, payload: Payload, name: str) -> Any:
        return parse_period(payload.str(name, self.default))

    def value_schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": f"^{PERIOD_PATTERN}$"}


ADDRESS_FIELDS = {name: Text(max_len=255) for name in ("line1", "city", "postal_code", "country")}

# One reader per customer field, shared by create and update so a field is valid in both or in neither.
CUSTOMER_FIELDS = {
    "external_ref": Text(max_len=64, description="the CRM account id"),
    "name": Text(max_len=CUSTOMER_NAME_MAX, description="truncate a longer name; the full one goes in legal_name"),
    "legal_name": Text(max_len=255),
    "tax_id": Text(max_len=40),
    "tax_jurisdiction": Text(max_len=20),
    "currency": Choice(choices=tuple(MINOR_UNITS)),
    "billing_address": Record(fields=ADDRESS_FIELDS),
}
CUSTOMER_CHANGES = {name: CUSTOMER_FIELDS[name] for name in CUSTOMER_UPDATABLE}
CUSTOMER_RULES = ("tax_jurisdiction is one the ERP has a tax profile for",)
_CUSTOMER_MEMBERS = frozenset(f.name for f in fields(Customer))

BILLING_PROJECT_FIELDS = {
    "customer_id": Text(),
    "legal_entity": Text(),
    "contract_ref": Text(),
    "currency": Text(max_len=3),
    "name": Text(max_len=255),
    "payment_terms_days": Integer(30, minimum=0, maximum=MAX_PAYMENT_TERMS_DAYS),
}
BILLING_PROJECT_RULES = ("currency is the legal entity's currency",)

# The fields of one charge, type-checked; the ledger's bounds and reversal rules are the backend's.
CHARGE_FIELDS = {
    "billing_project_id": Text(),
    "charge_date": Date(),
    "description": Text(max_len=255),
    "quantity": DecimalText(),
    "unit_price": Money(),
    "amount": Money(),
    "currency": Text(max_len=3),
    "lineage": AnyObject(description="what the charge bills, for the reader of the invoice"),
    "reversal_of": Text(None, description="the charge this one reverses"),
    "hold": Flag(False, description="park the charge: no billing run takes it until it is released"),
}
CHARGE_RULES = (
    "billing_project_id names a billing project, and currency is its currency",
    "quantity lies within +/-10^9 and has at most 6 decimal places",
    "amount is quantity x unit_price rounded half-up to the minor unit, and not negative, unless the charge is a "
    "reversal",
    "a reversal names in reversal_of a charge of the same billing project and has exactly its amount negated; "
    "a charge is reversed at most once and not once released (both a 409)",
)
BATCH_FIELDS = {"charges": Records(fields=CHARGE_FIELDS, max_items=MAX_BATCH)}
RELEASE_FIELDS = {"amount": Money(None, description="release this much (strictly between 0 and the held amount) "
                                                      "and keep the rest held; none: release it all")}
RELEASE_RULES = ("amount lies strictly between 0 and the held amount",)
BILLING_RUN_FIELDS = {"legal_entity": Text(), "period": Period()}
DISPUTE_FIELDS = {"reason": Text(max_len=500), "charge_ids": Texts((), description="the disputed lines' charges")}
DISPUTE_RULES = ("charge_ids are charges on the invoice",)
PAYMENT_FIELDS = {"invoice_id": Text(), "amount": Money(minimum=1)}
PAYMENT_RULES = ("amount is at most the invoice's open balance",)


class ErpResponses:
    def __init__(self, backend: ErpBackend) -> None:
        self.backend = backend

    def create_customer(self, request: ApiRequest) -> ApiResponse:
        return entity_response(self.backend.create_customer(**read(Payload(request.json()), CUSTOMER_FIELDS)), 201)

    def update_customer(self, request: ApiRequest) -> ApiResponse:
        """PATCH: every field is validated as on create before any is applied, so a 422 changes nothing.

        A field that is not updatable (or not a customer field at all) is a 422
        naming it, never silently ignored.
        """
        customer = self.backend.get("customers", request.params["id"])
        check_if_match(request, customer.version)
        changes = read_changes(Payload(request.json()), CUSTOMER_CHANGES, CUSTOMER_UPDATABLE, _CUSTOMER_MEMBERS,
                               "a customer")
        return entity_response(self.backend.update_customer(customer.id, changes))

    def create_billing_project(self, request: ApiRequest) -> ApiResponse:
        f = read(Payload(request.json()), BILLING_PROJECT_FIELDS)
        return entity_response(self.backend.create_billing_project(**f), 201)

    @staticmethod
    def _charge_fields(p: Payload) -> dict:
        f = read(p, CHARGE_FIELDS)
        f["charge_date"] = f["charge_date"].isoformat()
        return f

    def create_charge(self, request: ApiRequest) -> ApiResponse:
        (charge,) = self.backend.create_charges([self._charge_fields(Payload(request.json()))], prefixes=[""])
        return entity_response(charge, 201)

    def create_charge_batch(self, request: ApiRequest) -> ApiResponse:
        entries = read(Payload(request.json()), BATCH_FIELDS)["charges"]
        for entry in entries:
            entry["charge_date"] = entry["charge_date"].isoformat()
        charges = self.backend.create_charges(entries)
        return ApiResponse(201, {"data": [c.to_json() for c in charges]})

    def release_charge(self, request: ApiRequest) -> ApiResponse:
        amount = read(Payload(request.json() if request.body else {}), RELEASE_FIELDS)["amount"]
        charges = self.backend.release_charge(request.params["id"], amount)
        return ApiResponse(200, {"data": [c.to_json() for c in charges]})

    def list_periods(self, request: ApiRequest) -> ApiResponse:
        return ApiResponse(200, paginate(request, self.backend.periods_opened, lambda p: {"period": p, "status": "open"}))

    def dispute_invoice(self, request: ApiRequest) -> ApiResponse:
        f = read(Payload(request.json()), DISPUTE_FIELDS)
        return entity_response(self.backend.record_dispute(request.params["id"], f["reason"], f["charge_ids"]), 201)

    def run_billing(self, request: ApiRequest) -> ApiResponse:
        f = read(Payload(request.json()), BILLING_RUN_FIELDS)
        invoices = self.backend.run_billing(f["legal_entity"], f["period"])
        return ApiResponse(201, {"invoices": [i.to_json() for i in invoices]})

    def post_invoice(self, request: ApiRequest) -> ApiResponse:
        return entity_response(self.backend.post_invoice(request.params["id"]))

    def create_payment(self, request: ApiRequest) -> ApiResponse:
        f = read(Payload(request.json()), PAYMENT_FIELDS)
        return entity_response(self.backend.record_payment(f["invoice_id"], f["amount"]), 201)
