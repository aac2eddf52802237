"""PSA request parsing."""

from __future__ import annotations

from decimal import Decimal

from mocks.core.etag import entity_response
from mocks.core.fields import Choice, Date, DecimalText, Flag, Money, Records, Text, read
from mocks.core.problems import ValidationFailed
from mocks.core.routing import ApiRequest, ApiResponse
from mocks.core.validation import Payload
from mocks.psa.models import LineSpec, PsaBackend

QUARTER = Decimal("0.25")
MAX_HOURS = Decimal(24)
MAX_BILLING_ITEMS = 500

PROJECT_FIELDS = {
    "contract_ref": Text(description="the CLM contract this project delivers; one project per contract"),
    "name": Text(max_len=255),
    "start_date": Date(),
    "end_date": Date(),
    "tasks": Records(fields={"name": Text(max_len=120)}),
}
PROJECT_RULES = ("end_date is not before start_date",)

TIMESHEET_LINE = {
    "date": Date(),
    "project_id": Text(),
    "task_id": Text(),
    "role": Text(max_len=60),
    "hours": DecimalText(description="more than 0, at most 24, in quarter hours"),
    "billable": Flag(True),
}
LINES_FIELDS = {"lines": Records(fields=TIMESHEET_LINE)}
TIMESHEET_FIELDS = {"resource_id": Text(), "week_start": Date(), **LINES_FIELDS}
LINES_RULES = ("each line's hours are more than 0, at most 24 and in quarter hours (0.25)",)

REJECTION_FIELDS = {"reason": Text(max_len=500)}

EXPENSE_FIELDS = {
    "resource_id": Text(),
    "project_id": Text(),
    "date": Date(),
    "description": Text(max_len=255),
    "cost": Money(minimum=1, description="in the project's currency"),
    "currency": Text(max_len=3),
    "billable": Flag(True),
}

MILESTONES_FIELDS = {"milestones": Records(fields={"ref": Text(max_len=40), "name": Text(max_len=120),
                                                  "planned_date": Date()})}
INVOICE_REF_FIELDS = {"invoice_ref": Text(description="the ERP invoice that billed the item")}
BILLING_UPDATE_FIELDS = {
    "invoice_ref": Text(max_len=64),
    "items": Records(fields={"type": Choice(choices=PsaBackend.BILLABLE_KINDS), "id": Text()},
                     max_items=MAX_BILLING_ITEMS),
}
BILLING_UPDATE_RULES = ("every item exists (items[i].id names the first that does not); nothing is written otherwise",)


def _line_specs(p: Payload) -> list[LineSpec]:
    specs = []
    for i, line in enumerate(read(p, LINES_FIELDS)["lines"]):
        name = f"lines[{i}].hours"
        hours = line["hours"]
        if hours <= 0 or hours > MAX_HOURS:
            raise ValidationFailed(name, "must be more than 0 and at most 24")
        if hours % QUARTER:
            raise ValidationFailed(name, f"{hours} is not in quarter hours")
        specs.append(LineSpec(line["date"].isoformat(), line["project_id"], line["task_id"], line["role"], hours,
                              line["billable"]))
    return specs


class PsaResponses:
    def __init__(self, backend: PsaBackend) -> None:
        self.backend = backend

    def create_project(self, request: ApiRequest) -> ApiResponse:
        f = read(Payload(request.json()), PROJECT_FIELDS)
        if f["end_date"] < f["start_date"]:
            raise ValidationFailed("end_date", "must not be before start_date")
        project = self.backend.create_project(f["contract_ref"], f["name"], f["start_date"].isoformat(),
                                              f["end_date"].isoformat(), [t["name"] for t in f["tasks"]])
        return entity_response(project, 201)

    def create_timesheet(self, request: ApiRequest) -> ApiResponse:
        p = Payload(request.json())
        f = read(p, {name: TIMESHEET_FIELDS[name] for name in ("resource_id", "week_start")})
        timesheet = self.backend.create_timesheet(f["resource_id"], f["week_start"].isoformat(), _line_specs(p))
        return entity_response(timesheet, 201)

    def edit_timesheet(self, request: ApiRequest) -> ApiResponse:
        return entity_response(self.backend.edit(request.params["id"], _line_specs(Payload(request.json()))))

    def submit(self, request: ApiRequest) -> ApiResponse:
        return entity_response(self.backend.submit(request.params["id"]))

    def approve(self, request: ApiRequest) -> ApiResponse:
        return entity_response(self.backend.approve(request.params["id"], request.client_id or "api"))

    def reject(self, request: ApiRequest) -> ApiResponse:
        reason = read(Payload(request.json()), REJECTION_FIELDS)["reason"]
        return entity_response(self.backend.reject(request.params["id"], reason))

    def submit_expense(self, request: ApiRequest) -> ApiResponse:
        f = read(Payload(request.json()), EXPENSE_FIELDS)
        f["date"] = f["date"].isoformat()
        return entity_response(self.backend.submit_expense(**f), 201)

    def expense_action(self, action: str):
        def handler(request: ApiRequest) -> ApiResponse:
            return entity_response(self.backend.decide_expense(request.params["id"], action,
                                                               request.client_id or "api"))
        return handler

    def add_milestones(self, request: ApiRequest) -> ApiResponse:
        milestones = read(Payload(request.json()), MILESTONES_FIELDS)["milestones"]
        specs = [(m["ref"], m["name"], m["planned_date"].isoformat()) for m in milestones]
        created = self.backend.add_milestones(request.params["id"], specs)
        return ApiResponse(201, {"data": [m.to_json() for m in created]})

    def milestone_action(self, action: str):
        def handler(request: ApiRequest) -> ApiResponse:
            return entity_response(self.backend.advance_milestone(request.params["id"], action,
                                                                  request.client_id or "api"))
        return handler

    def item_billed(self, collection: str):
        def handler(request: ApiRequest) -> ApiResponse:
            invoice_ref = read(Payload(request.json()), INVOICE_REF_FIELDS)["invoice_ref"]
            return entity_response(self.backend.mark_item_billed(collection, request.params["id"], invoice_ref))
        return handler

    def billing_updates(self, request: ApiRequest) -> ApiResponse:
        f = read(Payload(request.json()), BILLING_UPDATE_FIELDS)
        items = [(item["type"], item["id"]) for item in f["items"]]
        changed = self.backend.mark_many_billed(f["invoice_ref"], items)
        return ApiResponse(200, {"invoice_ref": f["invoice_ref"], "items": len(items), "changed": changed})

    def mark_billed(self, request: ApiRequest) -> ApiResponse:
        invoice_ref = read(Payload(request.json()), INVOICE_REF_FIELDS)["invoice_ref"]
        return entity_response(self.backend.mark_billed(request.params["id"], invoice_ref))
