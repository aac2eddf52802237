from mocks.core.routing import RouteTable
from mocks.core.service import Service
from mocks.crm.models import CrmBackend
from mocks.crm.responses import CrmResponses


def build_service(backend: CrmBackend, clients: dict[str, str]) -> Service:
    r = CrmResponses(backend)
    routes = RouteTable()
    routes.add("GET", "/accounts", r.list_accounts)
    routes.add("POST", "/accounts", r.create_account)
    routes.add("GET", "/accounts/{id}", r.get_account)
    routes.add("PATCH", "/accounts/{id}", r.update_account)
    routes.add("GET", "/opportunities", r.list_opportunities)
    routes.add("POST", "/opportunities", r.create_opportunity)
    routes.add("GET", "/opportunities/{id}", r.get_opportunity)
    routes.add("PATCH", "/opportunities/{id}", r.move_opportunity)
    return Service(backend, routes, clients, snapshot=lambda: {"accounts": len(backend.accounts)})
