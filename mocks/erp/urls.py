from mocks.core.routing import RouteTable
from mocks.core.service import Service
from mocks.erp.models import ErpBackend
from mocks.erp.responses import ErpResponses


def build_service(backend: ErpBackend, clients: dict[str, str]) -> Service:
    r = ErpResponses(backend)
    routes = RouteTable()
    routes.add("GET", "/legal-entities", r.list_handler("legal_entities"))
    routes.add("GET", "/customers", r.list_handler("customers", ("external_ref",)))
    routes.add("POST", "/customers", r.create_customer)
    routes.add("GET", "/customers/{id}", r.get_handler("customers"))
    routes.add("PATCH", "/customers/{id}", r.update_customer)
    routes.add("GET", "/billing-projects", r.list_handler("billing_projects", ("contract_ref", "customer_id")))
    routes.add("POST", "/billing-projects", r.create_billing_project)
    routes.add("GET", "/billing-projects/{id}", r.get_handler("billing_projects"))
    routes.add("GET", "/charges", r.list_handler("charges", ("billing_project_id", "status")))
    routes.add("POST", "/charges", r.create_charge)
    routes.add("POST", "/charge-batches", r.create_charge_batch)
    routes.add("GET", "/charges/{id}", r.get_handler("charges"))
    routes.add("POST", "/charges/{id}/release", r.release_charge)
    routes.add("GET", "/periods", r.list_periods)
    routes.add("POST", "/billing-runs", r.run_billing)
    routes.add("POST", "/invoices/{id}/disputes", r.dispute_invoice)
    routes.add("GET", "/invoices", r.list_handler("invoices", ("billing_project_id", "status", "legal_entity")))
    routes.add("GET", "/invoices/{id}", r.get_handler("invoices"))
    routes.add("POST", "/invoices/{id}/post", r.post_invoice)
    routes.add("POST", "/payments", r.create_payment)
    return Service(backend, routes, clients, idempotent_posts=True, snapshot=lambda: {
        "customers": len(backend.customers), "charges": len(backend.charges), "invoices": len(backend.invoices)})
