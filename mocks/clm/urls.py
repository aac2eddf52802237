from mocks.clm.models import ClmBackend
from mocks.clm.responses import ClmResponses
from mocks.core.routing import RouteTable
from mocks.core.service import Service


def build_service(backend: ClmBackend, clients: dict[str, str]) -> Service:
    r = ClmResponses(backend)
    routes = RouteTable()
    routes.add("GET", "/contracts", r.list_contracts)
    routes.add("POST", "/contracts", r.create_contract)
    routes.add("GET", "/contracts/{id}", r.get_contract)
    routes.add("GET", "/contracts/{id}/versions/{version}", r.get_version)
    routes.add("GET", "/contracts/{id}/amendments", r.list_amendments)
    routes.add("POST", "/contracts/{id}/amendments", r.propose_amendment)
    routes.add("GET", "/amendments/{id}", r.get_amendment)
    routes.add("POST", "/amendments/{id}/sign", r.sign_amendment)
    for action in ("submit", "sign", "terminate"):
        routes.add("POST", f"/contracts/{{id}}/{action}", r.transition_handler(action))
    return Service(backend, routes, clients, snapshot=lambda: {"contracts": len(backend.contracts)})
