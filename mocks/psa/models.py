"""PSA state and rules: the timesheet lifecycle.

Timesheet states: ``draft -> submitted -> approved | rejected``; a rejected
timesheet is edited back to draft and resubmitted. An approved timesheet
may be *adjusted*: its lines change, its version goes up and it returns to
``submitted``, so the new version must be approved again. Every approval
gets its own approval id, which invoice lineage cites. Any other move is
an illegal transition (409): approving a draft, editing a submitted sheet.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mocks.core.backend import Backend
from mocks.psa.exceptions import DuplicateProject, IllegalTimesheetTransition, PsaNotFound


@dataclass
class Task:
    id: str
    name: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name}


@dataclass
class Project:
    id: str
    contract_ref: str
    name: str
    start_date: str
    end_date: str
    tasks: list[Task]
    created_at: str
    version: int = 1

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "contract_ref": self.contract_ref, "name": self.name,
            "start_date": self.start_date, "end_date": self.end_date,
            "tasks": [t.to_json() for t in self.tasks], "created_at": self.created_at, "version": self.version,
        }


@dataclass
class Resource:
    id: str
    name: str
    role: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role}


@dataclass
class Assignment:
    id: str
    resource_id: str
    project_id: str
    start_date: str
    end_date: str

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class TimesheetLine:
    id: str
    date: str
    project_id: str
    task_id: str
    role: str
    hours: Decimal
    billable: bool
    billing_status: str = "unbilled"
    invoice_ref: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "date": self.date, "project_id": self.project_id, "task_id": self.task_id,
            "role": self.role, "hours": str(self.hours), "billable": self.billable,
            "billing_status": self.billing_status, "invoice_ref": self.invoice_ref,
        }


@dataclass
class Timesheet:
    id: str
    resource_id: str
    week_start: str
    lines: list[TimesheetLine]
    status: str = "draft"
    version: int = 1
    approval_id: str | None = None
    submitted_at: str | None = None
    approved_at: str | None = None
    rejection_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "resource_id": self.resource_id, "week_start": self.week_start,
            "status": self.status, "version": self.version, "approval_id": self.approval_id,
            "submitted_at": self.submitted_at, "approved_at": self.approved_at,
            "rejection_reason": self.rejection_reason, "lines": [line.to_json() for line in self.lines],
        }


@dataclass(frozen=True)
class LineSpec:
    """A line as a person enters it, before the PSA gives it an id."""

    date: str
    project_id: str
    task_id: str
    role: str
    hours: Decimal
    billable: bool = True


class PsaBackend(Backend):
    system = "psa"

    def __init__(self, clock, feed_retention: int | None = None) -> None:
        super().__init__(clock, feed_retention)
        self.projects: dict[str, Project] = {}
        self.projects_by_contract: dict[str, str] = {}
        self.resources: dict[str, Resource] = {}
        self.assignments: dict[str, Assignment] = {}
        self.timesheets: dict[str, Timesheet] = {}
        self.lines: dict[str, tuple[Timesheet, TimesheetLine]] = {}
        self.approvals: list[dict[str, Any]] = []  # every approval ever given, for ground truth

    # -- projects ---------------------------------------------------------
    def create_project(self, contract_ref: str, name: str, start_date: str, end_date: str,
                       task_names: list[str]) -> Project:
        existing = self.projects_by_contract.get(contract_ref)
        if existing is not None:
            raise DuplicateProject(contract_ref, existing)
        project_id = self.next_id("prj")
        tasks = [Task(self.next_id("tsk"), n) for n in task_names]
        project = Project(project_id, contract_ref, name, start_date, end_date, tasks, self.now_iso())
        self.projects[project_id] = project
        self.projects_by_contract[contract_ref] = project_id
        self.publish("project.created", project_id, project.version)
        return project

    def get(self, collection: str, entity_id: str) -> Any:
        try:
            return getattr(self, collection)[entity_id]
        except KeyError:
            raise PsaNotFound(collection.rstrip("s"), entity_id) from None

    # -- people -------------------------------------------------------------
    def add_resource(self, name: str, role: str) -> Resource:
        resource = Resource(self.next_id("res"), name, role)
        self.resources[resource.id] = resource
        self.publish("resource.created", resource.id, 1)
        return resource

    def assign(self, resource_id: str, project_id: str, start_date: str, end_date: str) -> Assignment:
        self.get("resources", resource_id)
        self.get("projects", project_id)
        assignment = Assignment(self.next_id("asg"), resource_id, project_id, start_date, end_date)
        self.assignments[assignment.id] = assignment
        self.publish("assignment.created", assignment.id, 1)
        return assignment

    # -- timesheets ---------------------------------------------------------
    def _make_lines(self, specs: list[LineSpec], keep_ids: list[str] | None = None) -> list[TimesheetLine]:
        lines = []
        for i, spec in enumerate(specs):
            project = self.get("projects", spec.project_id)
            if spec.task_id not in {t.id for t in project.tasks}:
                raise PsaNotFound("task", spec.task_id)
            line_id = keep_ids[i] if keep_ids and i < len(keep_ids) else self.next_id("tsl")
            lines.append(TimesheetLine(line_id, spec.date, spec.project_id, spec.task_id, spec.role,
                                       spec.hours, spec.billable))
        return lines

    def create_timesheet(self, resource_id: str, week_start: str, specs: list[LineSpec]) -> Timesheet:
        self.get("resources", resource_id)
        timesheet = Timesheet(self.next_id("tms"), resource_id, week_start, self._make_lines(specs))
        self.timesheets[timesheet.id] = timesheet
        self._index(timesheet)
        self.publish("timesheet.created", timesheet.id, timesheet.version)
        return timesheet

    def _index(self, timesheet: Timesheet) -> None:
        for line in timesheet.lines:
            self.lines[line.id] = (timesheet, line)

    def _require(self, timesheet: Timesheet, allowed: tuple[str, ...], action: str) -> None:
        if timesheet.status not in allowed:
            raise IllegalTimesheetTransition(timesheet.id, timesheet.status, action)

    def submit(self, timesheet_id: str) -> Timesheet:
        timesheet = self.get("timesheets", timesheet_id)
        self._require(timesheet, ("draft",), "submit")
        timesheet.status = "submitted"
        timesheet.submitted_at = self.now_iso()
        self.publish("timesheet.submitted", timesheet.id, timesheet.version)
        return timesheet

    def approve(self, timesheet_id: str, approver: str = "approver") -> Timesheet:
        timesheet = self.get("timesheets", timesheet_id)
        self._require(timesheet, ("submitted",), "approve")
        timesheet.status = "approved"
        timesheet.approval_id = self.next_id("apr")
        timesheet.approved_at = self.now_iso()
        timesheet.rejection_reason = None
        self.approvals.append({"approval_id": timesheet.approval_id, "timesheet_id": timesheet.id,
                               "version": timesheet.version, "approved_at": timesheet.approved_at,
                               "approver": approver})
        self.publish("timesheet.approved", timesheet.id, timesheet.version)
        return timesheet

    def reject(self, timesheet_id: str, reason: str) -> Timesheet:
        timesheet = self.get("timesheets", timesheet_id)
        self._require(timesheet, ("submitted",), "reject")
        timesheet.status = "rejected"
        timesheet.rejection_reason = reason
        self.publish("timesheet.rejected", timesheet.id, timesheet.version)
        return timesheet

    def edit(self, timesheet_id: str, specs: list[LineSpec]) -> Timesheet:
        """Replace the lines of a draft or rejected sheet (back to draft), or adjust an approved one.

        Line ids are kept position by position, so an adjusted line is the
        same source item in a new version, and its lineage stays traceable.
        """
        timesheet = self.get("timesheets", timesheet_id)
        self._require(timesheet, ("draft", "rejected", "approved"), "edit")
        adjusting = timesheet.status == "approved"
        timesheet.lines = self._make_lines(specs, [line.id for line in timesheet.lines])
        self._index(timesheet)
        timesheet.version += 1
        if adjusting:
            timesheet.status = "submitted"
            timesheet.approval_id = None
            timesheet.approved_at = None
            timesheet.submitted_at = self.now_iso()
            self.publish("timesheet.adjusted", timesheet.id, timesheet.version)
        else:
            timesheet.status = "draft"
            self.publish("timesheet.edited", timesheet.id, timesheet.version)
        return timesheet

    def mark_billed(self, line_id: str, invoice_ref: str) -> TimesheetLine:
        try:
            timesheet, line = self.lines[line_id]
        except KeyError:
            raise PsaNotFound("timesheet line", line_id) from None
        if line.invoice_ref == invoice_ref:
            return line  # idempotent: the same invoice marked twice is one fact
        line.billing_status = "billed"
        line.invoice_ref = invoice_ref
        self.publish("timesheet.billing_updated", timesheet.id, timesheet.version)
        return line

