from mocks.core.openapi import Body, Entity, Operation, listing, reading
from mocks.core.routing import RouteTable
from mocks.core.service import Service
from mocks.crm.models import Account, CrmBackend, Opportunity
from mocks.crm.responses import ACCOUNT_CHANGES, ACCOUNT_FIELDS, OPPORTUNITY_FIELDS, STAGE_FIELDS, CrmResponses

ACCOUNT = Entity(Account)
OPPORTUNITY = Entity(Opportunity, extra={"status": {"type": "string", "enum": ["open", "won", "lost"],
                                                    "description": "won or lost once closed, open before"}})


def build_service(backend: CrmBackend, clients: dict[str, str]) -> Service:
    r = CrmResponses(backend)
    routes = RouteTable()
    routes.add("GET", "/accounts", r.list_accounts, spec=listing("listAccounts", "List accounts", ACCOUNT))
    routes.add("POST", "/accounts", r.create_account, spec=Operation(
        "createAccount", "Create an account", ACCOUNT, status=201, body=Body(ACCOUNT_FIELDS),
        links=("getAccount", "updateAccount")))
    routes.add("GET", "/accounts/{id}", r.get_account, spec=reading(
        "getAccount", "Read an account", ACCOUNT, links=("updateAccount",)))
    routes.add("PATCH", "/accounts/{id}", r.update_account, spec=Operation(
        "updateAccount", "Change an account's fields", ACCOUNT,
        body=Body(ACCOUNT_CHANGES, closed=True, partial=True), conditional=True, links=("getAccount", "updateAccount"),
        description="Names only the fields it changes; `currency` and the other read-only members are a 422."))
    routes.add("GET", "/opportunities", r.list_opportunities, spec=listing(
        "listOpportunities", "List opportunities", OPPORTUNITY, "account_id"))
    routes.add("POST", "/opportunities", r.create_opportunity, spec=Operation(
        "createOpportunity", "Create an opportunity", OPPORTUNITY, status=201, body=Body(OPPORTUNITY_FIELDS),
        errors=(404,), links=("getOpportunity", "moveOpportunity"),
        description="`account_id` must name an account (else a 404)."))
    routes.add("GET", "/opportunities/{id}", r.get_opportunity, spec=reading(
        "getOpportunity", "Read an opportunity", OPPORTUNITY, links=("moveOpportunity",)))
    routes.add("PATCH", "/opportunities/{id}", r.move_opportunity, spec=Operation(
        "moveOpportunity", "Move an opportunity to a later stage", OPPORTUNITY, body=Body(STAGE_FIELDS),
        errors=(409,), conditional=True, links=("getOpportunity",),
        description="Stages only move forward and a closed opportunity stays closed (else a 409)."))
    return Service(backend, routes, clients, snapshot=lambda: {"accounts": len(backend.accounts)})
