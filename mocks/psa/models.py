"""PSA state and rules: the timesheet lifecycle.

Timesheet states: ``draft -> submitted -> approved | rejected``; a rejected
timesheet is edited back to draft and resubmitted. An approved timesheet
may be *adjusted*: its lines change, its version goes up and it returns to
``submitted``, so the new version must be approved again. Every approval
gets its own approval id, which invoice lineage cites. Any other move is
an illegal transition (409): approving a draft, editing a submitted sheet.

A line's billing status (``billing_status``, ``invoice_ref``) records the
invoice its approved value was billed on. An edit keeps line ids position by
position, and a kept line keeps its billing status: it still says which
invoice billed the *earlier* version, which is what a connector needs to
reverse or adjust that charge. Only new lines start ``unbilled``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mocks.core.backend import Backend
from mocks.core.problems import ValidationFailed
from mocks.psa.exceptions import DuplicateProject, IllegalTimesheetTransition, IllegalTransition, PsaNotFound


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


@dataclass
class Expense:
    id: str
    resource_id: str
    project_id: str
    date: str
    description: str
    cost: int  # minor units of the project's currency
    currency: str
    billable: bool
    status: str = "submitted"
    version: int = 1
    approval_id: str | None = None
    approved_at: str | None = None
    billing_status: str = "unbilled"
    invoice_ref: str | None = None

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class Milestone:
    id: str
    project_id: str
    ref: str  # the contract's milestone ref
    name: str
    planned_date: str
    status: str = "planned"
    version: int = 1
    completed_at: str | None = None
    approval_id: str | None = None
    approved_at: str | None = None
    billing_status: str = "unbilled"
    invoice_ref: str | None = None

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


# explicit singular names for messages and event types
SINGULAR = {
    "projects": "project", "resources": "resource", "assignments": "assignment", "timesheets": "timesheet",
    "expenses": "expense", "milestones": "milestone",
}

MILESTONE_TRANSITIONS = {"complete": ("planned", "completed"), "approve": ("completed", "approved")}
EXPENSE_TRANSITIONS = {"approve": ("submitted", "approved"), "reject": ("submitted", "rejected")}


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
    events = {
        "project.created": "A project was created; the subject is the project.",
        "project.updated": "A project was linked to another contract; the subject is the project.",
        "resource.created": "A person joined; the subject is the resource.",
        "assignment.created": "A person was staffed on a project; the subject is the assignment.",
        "timesheet.created": "A timesheet was started; the subject is the timesheet.",
        "timesheet.edited": "A draft or rejected timesheet's lines changed (back to draft); the subject is the timesheet.",
        "timesheet.submitted": "A timesheet was submitted; the subject is the timesheet.",
        "timesheet.approved": "A timesheet version was approved; the subject is the timesheet.",
        "timesheet.rejected": "A timesheet was rejected; the subject is the timesheet.",
        "timesheet.adjusted": "An approved timesheet was adjusted: a new version awaits approval; the subject is the "
                              "timesheet.",
        "timesheet.billing_updated": "A timesheet line was marked billed; the subject is the timesheet.",
        "expense.submitted": "An expense was submitted; the subject is the expense.",
        "expense.approved": "An expense was approved; the subject is the expense.",
        "expense.rejected": "An expense was rejected; the subject is the expense.",
        "expense.billing_updated": "An expense was marked billed; the subject is the expense.",
        "milestone.created": "A project milestone was created; the subject is the milestone.",
        "milestone.completed": "A milestone was completed; the subject is the milestone.",
        "milestone.approved": "The client accepted a milestone; the subject is the milestone.",
        "milestone.billing_updated": "A milestone was marked billed; the subject is the milestone.",
    }
    singular = SINGULAR
    not_found = PsaNotFound

    def __init__(self, clock, feed_retention: int | None = None) -> None:
        super().__init__(clock, feed_retention)
        self.projects: dict[str, Project] = {}
        self.projects_by_contract: dict[str, str] = {}
        self.resources: dict[str, Resource] = {}
        self.assignments: dict[str, Assignment] = {}
        self.timesheets: dict[str, Timesheet] = {}
        self.lines: dict[str, tuple[Timesheet, TimesheetLine]] = {}
        self.expenses: dict[str, Expense] = {}
        self.milestones: dict[str, Milestone] = {}
        self.approvals: list[dict[str, Any]] = []  # every approval ever given, for ground truth
        self.rejections: list[dict[str, Any]] = []  # every rejection ever given

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

    def relink_project(self, project_id: str, contract_ref: str) -> Project:
        """An administrator corrects the contract a project belongs to."""
        project = self.get("projects", project_id)
        project.contract_ref = contract_ref
        project.version += 1
        self.projects_by_contract.setdefault(contract_ref, project.id)
        self.publish("project.updated", project.id, project.version)
        return project

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
    def _make_lines(self, specs: list[LineSpec], previous: list[TimesheetLine] | None = None) -> list[TimesheetLine]:
        """Lines for ``specs``; line ``i`` keeps the id and billing status of ``previous[i]`` when there is one."""
        previous = previous or []
        lines = []
        for i, spec in enumerate(specs):
            project = self.get("projects", spec.project_id)
            if spec.task_id not in {t.id for t in project.tasks}:
                raise PsaNotFound("task", spec.task_id)
            line_id = previous[i].id if i < len(previous) else self.next_id("tsl")
            line = TimesheetLine(line_id, spec.date, spec.project_id, spec.task_id, spec.role, spec.hours, spec.billable)
            if i < len(previous):
                line.billing_status, line.invoice_ref = previous[i].billing_status, previous[i].invoice_ref
            lines.append(line)
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
        timesheet.approval_id, timesheet.approved_at = self._approval("timesheet", timesheet.id,
                                                                      timesheet.version, approver)
        timesheet.rejection_reason = None
        self.publish("timesheet.approved", timesheet.id, timesheet.version)
        return timesheet

    def reject(self, timesheet_id: str, reason: str) -> Timesheet:
        timesheet = self.get("timesheets", timesheet_id)
        self._require(timesheet, ("submitted",), "reject")
        timesheet.status = "rejected"
        timesheet.rejection_reason = reason
        self.rejections.append({"timesheet_id": timesheet.id, "version": timesheet.version,
                                "rejected_at": self.now_iso(), "reason": reason})
        self.publish("timesheet.rejected", timesheet.id, timesheet.version)
        return timesheet

    def edit(self, timesheet_id: str, specs: list[LineSpec]) -> Timesheet:
        """Replace the lines of a draft or rejected sheet (back to draft), or adjust an approved one.

        Line ids are kept position by position, so an adjusted line is the
        same source item in a new version, and its lineage stays traceable;
        a kept line also keeps its billing status and invoice reference (the
        invoice that billed the earlier version). Surplus old lines vanish;
        extra new lines get new ids and start unbilled.
        """
        timesheet = self.get("timesheets", timesheet_id)
        self._require(timesheet, ("draft", "rejected", "approved"), "edit")
        adjusting = timesheet.status == "approved"
        timesheet.lines = self._make_lines(specs, timesheet.lines)
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

    # -- expenses and milestones ---------------------------------------------------
    def _approval(self, kind: str, entity_id: str, version: int, approver: str) -> tuple[str, str]:
        approval_id, now = self.next_id("apr"), self.now_iso()
        self.approvals.append({"approval_id": approval_id, "kind": kind, "entity_id": entity_id,
                               "version": version, "approved_at": now, "approver": approver})
        return approval_id, now

    def submit_expense(self, *, resource_id: str, project_id: str, date: str, description: str, cost: int,
                       currency: str, billable: bool) -> Expense:
        self.get("resources", resource_id)
        self.get("projects", project_id)
        expense = Expense(self.next_id("exp"), resource_id, project_id, date, description, cost, currency, billable)
        self.expenses[expense.id] = expense
        self.publish("expense.submitted", expense.id, expense.version)
        return expense

    def decide_expense(self, expense_id: str, action: str, approver: str = "approver") -> Expense:
        expense = self.get("expenses", expense_id)
        source, target = EXPENSE_TRANSITIONS[action]
        if expense.status != source:
            raise IllegalTransition("expense", expense.id, expense.status, action)
        expense.status = target
        if target == "approved":
            expense.approval_id, expense.approved_at = self._approval("expense", expense.id, expense.version, approver)
        self.publish(f"expense.{target}", expense.id, expense.version)
        return expense

    def add_milestones(self, project_id: str, milestones: list[tuple[str, str, str]]) -> list[Milestone]:
        """Create the project's milestones from (ref, name, planned_date); a ref already present is kept."""
        self.get("projects", project_id)
        existing = {m.ref: m for m in self.milestones.values() if m.project_id == project_id}
        created = []
        for ref, name, planned in milestones:
            if ref in existing:
                created.append(existing[ref])
                continue
            milestone = Milestone(self.next_id("mst"), project_id, ref, name, planned)
            self.milestones[milestone.id] = milestone
            self.publish("milestone.created", milestone.id, milestone.version)
            created.append(milestone)
        return created

    def advance_milestone(self, milestone_id: str, action: str, approver: str = "approver") -> Milestone:
        milestone = self.get("milestones", milestone_id)
        source, target = MILESTONE_TRANSITIONS[action]
        if milestone.status != source:
            raise IllegalTransition("milestone", milestone.id, milestone.status, action)
        milestone.status = target
        if target == "completed":
            milestone.completed_at = self.now_iso()
        else:
            milestone.approval_id, milestone.approved_at = self._approval("milestone", milestone.id,
                                                                          milestone.version, approver)
        self.publish(f"milestone.{target}", milestone.id, milestone.version)
        return milestone

    def mark_item_billed(self, collection: str, entity_id: str, invoice_ref: str) -> Any:
        """Billing status write-back for an expense or a milestone; repeating it changes nothing."""
        item = self.get(collection, entity_id)
        if item.invoice_ref != invoice_ref:
            item.billing_status = "billed"
            item.invoice_ref = invoice_ref
            self.publish(f"{SINGULAR[collection]}.billing_updated", item.id, item.version)
        return item

    BILLABLE_KINDS = ("timesheet_line", "expense", "milestone")

    def mark_many_billed(self, invoice_ref: str, items: list[tuple[str, str]]) -> int:
        """Billing write-back for a whole invoice in one request: all or nothing.

        Every (kind, id) is checked before anything changes, so a bad item
        leaves no half-applied invoice behind. Returns how many items changed.
        """
        for i, (kind, entity_id) in enumerate(items):
            known = self.lines if kind == "timesheet_line" else self.expenses if kind == "expense" else self.milestones
            if entity_id not in known:
                raise ValidationFailed(f"items[{i}].id", f"no {kind.replace('_', ' ')} {entity_id}")
        changed = 0
        for kind, entity_id in items:
            if kind == "timesheet_line":
                before = self.lines[entity_id][1].invoice_ref
                self.mark_billed(entity_id, invoice_ref)
            else:
                collection = "expenses" if kind == "expense" else "milestones"
                before = getattr(self, collection)[entity_id].invoice_ref
                self.mark_item_billed(collection, entity_id, invoice_ref)
            changed += before != invoice_ref
        return changed

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

