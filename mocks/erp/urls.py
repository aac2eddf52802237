from mocks.core.listing import get_endpoint, list_endpoint
from mocks.core.routing import RouteTable
from mocks.core.service import Service
from mocks.erp.models import ErpBackend
from mocks.erp.responses import ErpResponses


def build_service(backend: ErpBackend, clients: dict[str, str]) -> Service:
    r = ErpResponses(backend)
    routes = RouteTable()
    routes.add("GET", "/legal-entities", list_endpoint(backend, "legal_entities"))
    routes.add("GET", "/customers", list_endpoint(backend, "customers", ("external_ref",)))
    routes.add("POST", "/customers", r.create_customer)
    routes.add("GET", "/customers/{id}", get_endpoint(backend, "customers"))
    routes.add("PATCH", "/customers/{id}", r.update_customer)
    routes.add("GET", "/billing-projects", list_endpoint(backend, "billing_projects", ("contract_ref", "customer_id")))
    routes.add("POST", "/billing-projects", r.create_billing_project)
    routes.add("GET", "/billing-projects/{id}", get_endpoint(backend, "billing_projects"))
    routes.add("GET", "/charges", list_endpoint(backend, "charges", ("billing_project_id", "status"),
                                                 indexed=("billing_project_id",)))
    routes.add("POST", "/charges", r.create_charge)
    routes.add("POST", "/charge-batches", r.create_charge_batch)
    routes.add("GET", "/charges/{id}", get_endpoint(backend, "charges"))
    routes.add("POST", "/charges/{id}/release", r.release_charge)
    routes.add("GET", "/periods", r.list_periods)
    routes.add("POST", "/billing-runs", r.run_billing)
    routes.add("POST", "/invoices/{id}/disputes", r.dispute_invoice)
    routes.add("GET", "/invoices", list_endpoint(backend, "invoices", ("billing_project_id", "status", "legal_entity",
                                                                  "document_type")))
    routes.add("GET", "/invoices/{id}", get_endpoint(backend, "invoices"))
    routes.add("POST", "/invoices/{id}/post", r.post_invoice)
    routes.add("POST", "/payments", r.create_payment)
    return Service(backend, routes, clients, idempotent_posts=True, snapshot=lambda: {
        "customers": len(backend.customers), "charges": len(backend.charges), "invoices": len(backend.invoices)})
