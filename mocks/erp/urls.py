from mocks.core.listing import get_endpoint, list_endpoint
from mocks.core.openapi import Body, Entity, Items, Operation, listing, reading
from mocks.core.routing import RouteTable
from mocks.core.service import Service
from mocks.erp.models import PERIOD_PATTERN, BillingProject, Charge, Customer, ErpBackend, Invoice, LegalEntity, Payment
from mocks.erp.responses import (
    BATCH_FIELDS,
    BILLING_PROJECT_FIELDS,
    BILLING_PROJECT_RULES,
    BILLING_RUN_FIELDS,
    CHARGE_FIELDS,
    CHARGE_RULES,
    CUSTOMER_CHANGES,
    CUSTOMER_FIELDS,
    CUSTOMER_RULES,
    DISPUTE_FIELDS,
    DISPUTE_RULES,
    PAYMENT_FIELDS,
    PAYMENT_RULES,
    RELEASE_FIELDS,
    RELEASE_RULES,
    ErpResponses,
)

LEGAL_ENTITY = Entity(LegalEntity, omit=("last_number", "last_credit_note_number"))
CUSTOMER = Entity(Customer)
BILLING_PROJECT = Entity(BillingProject)
CHARGE = Entity(Charge)
INVOICE = Entity(Invoice)
PAYMENT = Entity(Payment)
PERIOD = {"type": "object", "properties": {"period": {"type": "string", "pattern": f"^{PERIOD_PATTERN}$"},
                                           "status": {"const": "open"}}}


def build_service(backend: ErpBackend, clients: dict[str, str]) -> Service:
    r = ErpResponses(backend)
    routes = RouteTable()
    routes.add("GET", "/legal-entities", list_endpoint(backend, "legal_entities"), spec=listing(
        "listLegalEntities", "List legal entities", LEGAL_ENTITY))
    routes.add("GET", "/customers", list_endpoint(backend, "customers", ("external_ref",)), spec=listing(
        "listCustomers", "List customers", CUSTOMER, "external_ref"))
    routes.add("POST", "/customers", r.create_customer, spec=Operation(
        "createCustomer", "Create a customer", CUSTOMER, status=201, body=Body(CUSTOMER_FIELDS), rules=CUSTOMER_RULES,
        links=("getCustomer", "updateCustomer")))
    routes.add("GET", "/customers/{id}", get_endpoint(backend, "customers"), spec=reading(
        "getCustomer", "Read a customer", CUSTOMER, links=("updateCustomer",)))
    routes.add("PATCH", "/customers/{id}", r.update_customer, spec=Operation(
        "updateCustomer", "Change a customer's fields", CUSTOMER, body=Body(CUSTOMER_CHANGES, closed=True, partial=True),
        conditional=True, links=("getCustomer", "updateCustomer"),
        description="Names only the fields it changes; the others (`currency`, `tax_jurisdiction`, ...) are a 422."))
    routes.add("GET", "/billing-projects", list_endpoint(backend, "billing_projects", ("contract_ref", "customer_id")),
               spec=listing("listBillingProjects", "List billing projects", BILLING_PROJECT, "contract_ref",
                            "customer_id"))
    routes.add("POST", "/billing-projects", r.create_billing_project, spec=Operation(
        "createBillingProject", "Create a billing project", BILLING_PROJECT, status=201,
        body=Body(BILLING_PROJECT_FIELDS), errors=(404,), rules=BILLING_PROJECT_RULES, links=("getBillingProject",),
        description="The customer and the legal entity must exist (else a 404)."))
    routes.add("GET", "/billing-projects/{id}", get_endpoint(backend, "billing_projects"), spec=reading(
        "getBillingProject", "Read a billing project", BILLING_PROJECT))
    routes.add("GET", "/charges", list_endpoint(backend, "charges", ("billing_project_id", "status"),
                                                 indexed=("billing_project_id",),
                                                 revised={"billing_project_id": backend.charge_revision}),
               spec=listing("listCharges", "List charges", CHARGE, "billing_project_id", "status",
                            revalidated="billing_project_id"))
    routes.add("POST", "/charges", r.create_charge, spec=Operation(
        "createCharge", "Post a charge to the unbilled ledger", CHARGE, status=201, body=Body(CHARGE_FIELDS),
        errors=(409,), rules=CHARGE_RULES, links=("getCharge", "releaseCharge")))
    routes.add("POST", "/charge-batches", r.create_charge_batch, spec=Operation(
        "createChargeBatch", "Post charges, all or nothing", Items(CHARGE), status=201, body=Body(BATCH_FIELDS),
        errors=(409,), rules=CHARGE_RULES, description="A rule broken by `charges[i]` names it (`charges[3].amount`)."))
    routes.add("GET", "/charges/{id}", get_endpoint(backend, "charges"), spec=reading(
        "getCharge", "Read a charge", CHARGE))
    routes.add("POST", "/charges/{id}/release", r.release_charge, spec=Operation(
        "releaseCharge", "Release a held charge, wholly or in part", Items(CHARGE),
        body=Body(RELEASE_FIELDS, required=False), errors=(409,), rules=RELEASE_RULES,
        description="All of it: `{data: [the charge, now unbilled]}`. Part of it: the charge becomes `released` and "
                    "`{data: [the unbilled part, the held rest]}` carry its parts."))
    routes.add("GET", "/periods", r.list_periods, spec=listing("listPeriods", "List the periods finance opened", PERIOD))
    routes.add("POST", "/billing-runs", r.run_billing, spec=Operation(
        "runBilling", "Run billing for a legal entity and an open period", Items(INVOICE, key="invoices"), status=201,
        body=Body(BILLING_RUN_FIELDS), errors=(404, 409),
        description="Once per legal entity and period, and only for a period finance opened (else a 409): one draft "
                    "document per billing project, an invoice or (a negative total) a credit note."))
    routes.add("POST", "/invoices/{id}/disputes", r.dispute_invoice, spec=Operation(
        "disputeInvoice", "Record a customer's dispute of a posted invoice", INVOICE, status=201,
        body=Body(DISPUTE_FIELDS), errors=(409,), rules=DISPUTE_RULES))
    routes.add("GET", "/invoices", list_endpoint(backend, "invoices", ("billing_project_id", "status", "legal_entity",
                                                                  "document_type")), spec=listing(
        "listInvoices", "List invoices and credit notes", INVOICE, "billing_project_id", "status", "legal_entity",
        "document_type"))
    routes.add("GET", "/invoices/{id}", get_endpoint(backend, "invoices"), spec=reading(
        "getInvoice", "Read an invoice or credit note", INVOICE))
    routes.add("POST", "/invoices/{id}/post", r.post_invoice, spec=Operation(
        "postInvoice", "Post a draft: it gets its number and never changes again", INVOICE, errors=(409,)))
    routes.add("POST", "/payments", r.create_payment, spec=Operation(
        "recordPayment", "Record a payment against a posted invoice", PAYMENT, status=201, body=Body(PAYMENT_FIELDS),
        errors=(404, 409), rules=PAYMENT_RULES))
    return Service(backend, routes, clients, idempotent_posts=True, snapshot=lambda: {
        "customers": len(backend.customers), "charges": len(backend.charges), "invoices": len(backend.invoices)})
