"""PSA request parsing."""

from __future__ import annotations

from decimal import Decimal

from mocks.core.problems import ValidationFailed
from mocks.core.routing import ApiRequest, ApiResponse
from mocks.core.validation import Payload
from mocks.psa.models import LineSpec, PsaBackend

QUARTER = Decimal("0.25")


def _line_specs(p: Payload) -> list[LineSpec]:
    specs = []
    for line in p.objects("lines"):
        hours = line.decimal("hours")
        name = f"{line.prefix}hours"
        if hours <= 0 or hours > 24:
            raise ValidationFailed(name, "must be more than 0 and at most 24")
        if hours % QUARTER:
            raise ValidationFailed(name, f"{hours} is not in quarter hours")
        specs.append(LineSpec(line.date("date").isoformat(), line.str("project_id"), line.str("task_id"),
                              line.str("role", max_len=60), hours, line.bool("billable", True)))
    return specs


class PsaResponses:
    def __init__(self, backend: PsaBackend) -> None:
        self.backend = backend

    def create_project(self, request: ApiRequest) -> ApiResponse:
        p = Payload(request.json())
        tasks = [t.str("name", max_len=120) for t in p.objects("tasks")]
        start, end = p.date("start_date"), p.date("end_date")
        if end < start:
            raise ValidationFailed("end_date", "must not be before start_date")
        project = self.backend.create_project(p.str("contract_ref"), p.str("name", max_len=255),
                                              start.isoformat(), end.isoformat(), tasks)
        return ApiResponse(201, project.to_json())

    def create_timesheet(self, request: ApiRequest) -> ApiResponse:
        p = Payload(request.json())
        timesheet = self.backend.create_timesheet(p.str("resource_id"), p.date("week_start").isoformat(),
                                                  _line_specs(p))
        return ApiResponse(201, timesheet.to_json())

    def edit_timesheet(self, request: ApiRequest) -> ApiResponse:
        timesheet = self.backend.edit(request.params["id"], _line_specs(Payload(request.json())))
        return ApiResponse(200, timesheet.to_json())

    def submit(self, request: ApiRequest) -> ApiResponse:
        return ApiResponse(200, self.backend.submit(request.params["id"]).to_json())

    def approve(self, request: ApiRequest) -> ApiResponse:
        return ApiResponse(200, self.backend.approve(request.params["id"], request.client_id or "api").to_json())

    def reject(self, request: ApiRequest) -> ApiResponse:
        reason = Payload(request.json()).str("reason", max_len=500)
        return ApiResponse(200, self.backend.reject(request.params["id"], reason).to_json())

    def submit_expense(self, request: ApiRequest) -> ApiResponse:
        p = Payload(request.json())
        expense = self.backend.submit_expense(
            resource_id=p.str("resource_id"), project_id=p.str("project_id"), date=p.date("date").isoformat(),
            description=p.str("description", max_len=255), cost=p.int("cost", minimum=1),
            currency=p.str("currency", max_len=3), billable=p.bool("billable", True))
        return ApiResponse(201, expense.to_json())

    def expense_action(self, action: str):
        def handler(request: ApiRequest) -> ApiResponse:
            return ApiResponse(200, self.backend.decide_expense(request.params["id"], action,
                                                                request.client_id or "api").to_json())
        return handler

    def add_milestones(self, request: ApiRequest) -> ApiResponse:
        p = Payload(request.json())
        specs = [(m.str("ref", max_len=40), m.str("name", max_len=120), m.date("planned_date").isoformat())
                 for m in p.objects("milestones")]
        created = self.backend.add_milestones(request.params["id"], specs)
        return ApiResponse(201, {"data": [m.to_json() for m in created]})

    def milestone_action(self, action: str):
        def handler(request: ApiRequest) -> ApiResponse:
            return ApiResponse(200, self.backend.advance_milestone(request.params["id"], action,
                                                                   request.client_id or "api").to_json())
        return handler

    def item_billed(self, collection: str):
        def handler(request: ApiRequest) -> ApiResponse:
            p = Payload(request.json())
            item = self.backend.mark_item_billed(collection, request.params["id"], p.str("invoice_ref"))
            return ApiResponse(200, item.to_json())
        return handler

    def billing_updates(self, request: ApiRequest) -> ApiResponse:
        p = Payload(request.json())
        invoice_ref = p.str("invoice_ref", max_len=64)
        entries = p.objects("items")
        if len(entries) > 500:
            raise ValidationFailed("items", f"at most 500 items per request, got {len(entries)}")
        items = [(e.choice("type", PsaBackend.BILLABLE_KINDS), e.str("id")) for e in entries]
        changed = self.backend.mark_many_billed(invoice_ref, items)
        return ApiResponse(200, {"invoice_ref": invoice_ref, "items": len(items), "changed": changed})

    def mark_billed(self, request: ApiRequest) -> ApiResponse:
        p = Payload(request.json())
        line = self.backend.mark_billed(request.params["id"], p.str("invoice_ref"))
        return ApiResponse(200, line.to_json())
