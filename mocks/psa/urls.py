from mocks.core.listing import get_endpoint, list_endpoint
from mocks.core.openapi import Body, Entity, Items, Operation, Shape, listing, reading
from mocks.core.routing import RouteTable
from mocks.core.service import Service
from mocks.psa.models import Assignment, Expense, Milestone, Project, PsaBackend, Resource, Timesheet, TimesheetLine
from mocks.psa.responses import (
    BILLING_UPDATE_FIELDS,
    BILLING_UPDATE_RULES,
    EXPENSE_FIELDS,
    INVOICE_REF_FIELDS,
    LINES_FIELDS,
    LINES_RULES,
    MILESTONES_FIELDS,
    PROJECT_FIELDS,
    PROJECT_RULES,
    REJECTION_FIELDS,
    TIMESHEET_FIELDS,
    PsaResponses,
)

PROJECT = Entity(Project)
RESOURCE = Entity(Resource)
ASSIGNMENT = Entity(Assignment)
TIMESHEET = Entity(Timesheet)
TIMESHEET_LINE = Entity(TimesheetLine)
EXPENSE = Entity(Expense)
MILESTONE = Entity(Milestone)
BILLING_UPDATE = Shape({"type": "object", "properties": {
    "invoice_ref": {"type": "string"},
    "items": {"type": "integer", "description": "items named"},
    "changed": {"type": "integer", "description": "items whose invoice reference changed"},
}})
TIMESHEET_ACTIONS = {  # path -> (operation id, summary, links)
    "submit": ("submitTimesheet", "Submit a draft timesheet", ("approveTimesheet", "rejectTimesheet")),
    "approve": ("approveTimesheet", "Approve a submitted timesheet's current version", ("editTimesheet",)),
}
EXPENSE_ACTIONS = {"approve": "Approve a submitted expense", "reject": "Reject a submitted expense"}
MILESTONE_ACTIONS = {"complete": "Complete a planned milestone", "approve": "Accept a completed milestone"}


def build_service(backend: PsaBackend, clients: dict[str, str]) -> Service:
    r = PsaResponses(backend)
    routes = RouteTable()
    routes.add("GET", "/projects", list_endpoint(backend, "projects", ("contract_ref",)), spec=listing(
        "listProjects", "List projects", PROJECT, "contract_ref"))
    routes.add("POST", "/projects", r.create_project, spec=Operation(
        "createProject", "Create the project of a contract", PROJECT, status=201, body=Body(PROJECT_FIELDS),
        errors=(409,), rules=PROJECT_RULES, links=("getProject", "addMilestones"),
        description="A second project for the same `contract_ref` is a 409 naming `existing_id`."))
    routes.add("GET", "/projects/{id}", get_endpoint(backend, "projects"), spec=reading(
        "getProject", "Read a project", PROJECT, links=("addMilestones",)))
    routes.add("GET", "/resources", list_endpoint(backend, "resources"), spec=listing(
        "listResources", "List people", RESOURCE))
    routes.add("GET", "/resources/{id}", get_endpoint(backend, "resources"), spec=reading(
        "getResource", "Read a person", RESOURCE))
    routes.add("GET", "/assignments", list_endpoint(backend, "assignments", ("project_id", "resource_id")), spec=listing(
        "listAssignments", "List staffing", ASSIGNMENT, "project_id", "resource_id"))
    routes.add("GET", "/timesheets", list_endpoint(backend, "timesheets", ("status", "resource_id")), spec=listing(
        "listTimesheets", "List timesheets", TIMESHEET, "status", "resource_id"))
    routes.add("POST", "/timesheets", r.create_timesheet, spec=Operation(
        "createTimesheet", "Start a timesheet", TIMESHEET, status=201, body=Body(TIMESHEET_FIELDS), errors=(404,),
        rules=LINES_RULES,
        links=("getTimesheet", "submitTimesheet", "editTimesheet"),
        description="The resource, each line's project and its task must exist (else a 404)."))
    routes.add("GET", "/timesheets/{id}", get_endpoint(backend, "timesheets"), spec=reading(
        "getTimesheet", "Read a timesheet", TIMESHEET))
    routes.add("PUT", "/timesheets/{id}/lines", r.edit_timesheet, spec=Operation(
        "editTimesheet", "Replace a timesheet's lines (an approved one is adjusted)", TIMESHEET,
        body=Body(LINES_FIELDS), errors=(409,), rules=LINES_RULES, links=("getTimesheet", "submitTimesheet"),
        description="A draft or rejected sheet goes back to draft; an approved one is adjusted: version + 1, back to "
                    "submitted. Line ids are kept position by position. A submitted sheet is a 409."))
    for action, (operation_id, summary, links) in TIMESHEET_ACTIONS.items():
        routes.add("POST", f"/timesheets/{{id}}/{action}", getattr(r, action), spec=Operation(
            operation_id, summary, TIMESHEET, errors=(409,), links=links))
    routes.add("POST", "/timesheets/{id}/reject", r.reject, spec=Operation(
        "rejectTimesheet", "Reject a submitted timesheet", TIMESHEET, body=Body(REJECTION_FIELDS), errors=(409,),
        links=("editTimesheet",)))
    routes.add("PUT", "/timesheet-lines/{id}/billing", r.mark_billed, spec=Operation(
        "markTimesheetLineBilled", "Record the invoice that billed a timesheet line", TIMESHEET_LINE,
        body=Body(INVOICE_REF_FIELDS), description="Repeating it changes nothing."))
    routes.add("POST", "/billing-updates", r.billing_updates, spec=Operation(
        "updateBilling", "Record the invoice that billed many items, all or nothing", BILLING_UPDATE,
        body=Body(BILLING_UPDATE_FIELDS), rules=BILLING_UPDATE_RULES, description="Repeating it changes nothing."))
    routes.add("GET", "/expenses", list_endpoint(backend, "expenses", ("project_id", "status")), spec=listing(
        "listExpenses", "List expenses", EXPENSE, "project_id", "status"))
    routes.add("POST", "/expenses", r.submit_expense, spec=Operation(
        "submitExpense", "Submit an expense", EXPENSE, status=201, body=Body(EXPENSE_FIELDS), errors=(404,),
        links=("getExpense", "approveExpense", "rejectExpense"),
        description="The resource and the project must exist (else a 404)."))
    routes.add("GET", "/expenses/{id}", get_endpoint(backend, "expenses"), spec=reading(
        "getExpense", "Read an expense", EXPENSE))
    routes.add("PUT", "/expenses/{id}/billing", r.item_billed("expenses"), spec=Operation(
        "markExpenseBilled", "Record the invoice that billed an expense", EXPENSE, body=Body(INVOICE_REF_FIELDS),
        description="Repeating it changes nothing."))
    routes.add("GET", "/milestones", list_endpoint(backend, "milestones", ("project_id", "status")), spec=listing(
        "listMilestones", "List milestones", MILESTONE, "project_id", "status"))
    routes.add("POST", "/projects/{id}/milestones", r.add_milestones, spec=Operation(
        "addMilestones", "Create a project's milestones", Items(MILESTONE), status=201, body=Body(MILESTONES_FIELDS),
        description="A ref the project has already is kept, not duplicated."))
    routes.add("GET", "/milestones/{id}", get_endpoint(backend, "milestones"), spec=reading(
        "getMilestone", "Read a milestone", MILESTONE))
    routes.add("PUT", "/milestones/{id}/billing", r.item_billed("milestones"), spec=Operation(
        "markMilestoneBilled", "Record the invoice that billed a milestone", MILESTONE, body=Body(INVOICE_REF_FIELDS),
        description="Repeating it changes nothing."))
    for action, summary in EXPENSE_ACTIONS.items():
        routes.add("POST", f"/expenses/{{id}}/{action}", r.expense_action(action), spec=Operation(
            f"{action}Expense", summary, EXPENSE, errors=(409,)))
    for action, summary in MILESTONE_ACTIONS.items():
        routes.add("POST", f"/milestones/{{id}}/{action}", r.milestone_action(action), spec=Operation(
            f"{action}Milestone", summary, MILESTONE, errors=(409,),
            links=("approveMilestone",) if action == "complete" else ()))
    return Service(backend, routes, clients, snapshot=lambda: {
        "projects": len(backend.projects), "timesheets": len(backend.timesheets)})
