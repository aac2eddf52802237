from mocks.clm.models import Amendment, ClmBackend, Contract, Terms
from mocks.clm.responses import AMENDMENT_FIELDS, AMENDMENT_RULES, CONTRACT_FIELDS, CONTRACT_RULES, ClmResponses
from mocks.core.openapi import Body, Entity, Operation, Page, listing, page_query, reading
from mocks.core.routing import RouteTable
from mocks.core.service import Service

CONTRACT = Entity(Contract, omit=("terms", "history"), include=(Terms,))
CONTRACT_VERSION = Entity(Terms, name="ContractVersion", extra={"contract_id": {"type": "string"}}, etag=False)
AMENDMENT = Entity(Amendment)
TRANSITIONS = {  # action -> what it does
    "submit": "Submit a draft contract for approval",
    "sign": "Sign a contract in approval",
    "terminate": "Terminate a signed contract",
}


def build_service(backend: ClmBackend, clients: dict[str, str]) -> Service:
    r = ClmResponses(backend)
    routes = RouteTable()
    routes.add("GET", "/contracts", r.list_contracts, spec=listing("listContracts", "List contracts", CONTRACT))
    routes.add("POST", "/contracts", r.create_contract, spec=Operation(
        "createContract", "Draft a contract", CONTRACT, status=201, body=Body(CONTRACT_FIELDS), rules=CONTRACT_RULES,
        links=("getContract", "submitContract")))
    routes.add("GET", "/contracts/{id}", r.get_contract, spec=reading(
        "getContract", "Read a contract's current version", CONTRACT,
        links=("getContractVersion", "listContractAmendments")))
    routes.add("GET", "/contracts/{id}/versions/{version}", r.get_version, spec=Operation(
        "getContractVersion", "Read the terms of one version of a contract", CONTRACT_VERSION,
        path={"version": {"type": "integer", "minimum": 1}}))
    routes.add("GET", "/contracts/{id}/amendments", r.list_amendments, spec=Operation(
        "listContractAmendments", "List a contract's amendments", Page(AMENDMENT),
        query=page_query(), errors=(400,)))
    routes.add("POST", "/contracts/{id}/amendments", r.propose_amendment, spec=Operation(
        "proposeAmendment", "Propose an amendment to a signed contract", AMENDMENT, status=201,
        body=Body(AMENDMENT_FIELDS), errors=(409,), rules=AMENDMENT_RULES, links=("getAmendment", "signAmendment")))
    routes.add("GET", "/amendments/{id}", r.get_amendment, spec=reading(
        "getAmendment", "Read an amendment", AMENDMENT, links=("signAmendment",)))
    routes.add("POST", "/amendments/{id}/sign", r.sign_amendment, spec=Operation(
        "signAmendment", "Sign an amendment: the contract gets its next version", CONTRACT, errors=(409,)))
    for action, summary in TRANSITIONS.items():
        routes.add("POST", f"/contracts/{{id}}/{action}", r.transition_handler(action), spec=Operation(
            f"{action}Contract", summary, CONTRACT, errors=(409,),
            links=("signContract",) if action == "submit" else ("terminateContract",) if action == "sign" else ()))
    return Service(backend, routes, clients, snapshot=lambda: {"contracts": len(backend.contracts)})
