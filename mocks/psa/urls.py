from mocks.core.listing import get_endpoint, list_endpoint
from mocks.core.routing import RouteTable
from mocks.core.service import Service
from mocks.psa.models import PsaBackend
from mocks.psa.responses import PsaResponses


def build_service(backend: PsaBackend, clients: dict[str, str]) -> Service:
    r = PsaResponses(backend)
    routes = RouteTable()
    routes.add("GET", "/projects", list_endpoint(backend, "projects", ("contract_ref",)))
    routes.add("POST", "/projects", r.create_project)
    routes.add("GET", "/projects/{id}", get_endpoint(backend, "projects"))
    routes.add("GET", "/resources", list_endpoint(backend, "resources"))
    routes.add("GET", "/resources/{id}", get_endpoint(backend, "resources"))
    routes.add("GET", "/assignments", list_endpoint(backend, "assignments", ("project_id", "resource_id")))
    routes.add("GET", "/timesheets", list_endpoint(backend, "timesheets", ("status", "resource_id")))
    routes.add("POST", "/timesheets", r.create_timesheet)
    routes.add("GET", "/timesheets/{id}", get_endpoint(backend, "timesheets"))
    routes.add("PUT", "/timesheets/{id}/lines", r.edit_timesheet)
    routes.add("POST", "/timesheets/{id}/submit", r.submit)
    routes.add("POST", "/timesheets/{id}/approve", r.approve)
    routes.add("POST", "/timesheets/{id}/reject", r.reject)
    routes.add("PUT", "/timesheet-lines/{id}/billing", r.mark_billed)
    routes.add("POST", "/billing-updates", r.billing_updates)
    routes.add("GET", "/expenses", list_endpoint(backend, "expenses", ("project_id", "status")))
    routes.add("POST", "/expenses", r.submit_expense)
    routes.add("GET", "/expenses/{id}", get_endpoint(backend, "expenses"))
    routes.add("PUT", "/expenses/{id}/billing", r.item_billed("expenses"))
    routes.add("GET", "/milestones", list_endpoint(backend, "milestones", ("project_id", "status")))
    routes.add("POST", "/projects/{id}/milestones", r.add_milestones)
    routes.add("GET", "/milestones/{id}", get_endpoint(backend, "milestones"))
    routes.add("PUT", "/milestones/{id}/billing", r.item_billed("milestones"))
    for action in ("approve", "reject"):
        routes.add("POST", f"/expenses/{{id}}/{action}", r.expense_action(action))
    for action in ("complete", "approve"):
        routes.add("POST", f"/milestones/{{id}}/{action}", r.milestone_action(action))
    return Service(backend, routes, clients, snapshot=lambda: {
        "projects": len(backend.projects), "timesheets": len(backend.timesheets)})
