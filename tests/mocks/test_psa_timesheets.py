"""The PSA timesheet lifecycle: legal paths, illegal transitions (409) and validation."""

from __future__ import annotations

import pytest

from tests.mocks.factories import assert_problem, create


@pytest.fixture
def project(api) -> dict:
    return create(api, "psa", "/projects", {
        "contract_ref": "ctr_000001", "name": "Rollout", "start_date": "2026-01-01", "end_date": "2026-12-31",
        "tasks": [{"name": "Build"}, {"name": "Test"}],
    })


@pytest.fixture
def resource(systems) -> str:
    return systems.psa.add_resource("Ada", "developer").id


def line(project: dict, hours: str = "8", date: str = "2026-01-05", task: int = 0, **overrides) -> dict:
    body = {"date": date, "project_id": project["id"], "task_id": project["tasks"][task]["id"],
            "role": "developer", "hours": hours, "billable": True}
    body.update(overrides)
    return body


@pytest.fixture
def sheet(api, project, resource) -> dict:
    return create(api, "psa", "/timesheets", {
        "resource_id": resource, "week_start": "2026-01-05",
        "lines": [line(project, "8"), line(project, "7.5", date="2026-01-06", task=1)],
    })


def act(api, sheet_id: str, action: str, **kwargs):
    return api("psa", "POST", f"/timesheets/{sheet_id}/{action}", **kwargs)


def ok(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def edit(api, sheet_id: str, lines: list[dict]):
    return api("psa", "PUT", f"/timesheets/{sheet_id}/lines", json={"lines": lines})


def reject(api, sheet_id: str):
    return act(api, sheet_id, "reject", json={"reason": "wrong task"})


def assert_illegal(response, sheet: dict, status: str) -> None:
    """409 problem+json naming the timesheet and, as ``current_status``, its status."""
    body = assert_problem(response, 409, "illegal_transition")
    assert body["timesheet_id"] == sheet["id"]
    assert body["current_status"] == status
    assert f"timesheet {sheet['id']} is {status};" in body["detail"]


def test_illegal_transition_problem_keeps_http_status_member(api, sheet):
    body = act(api, sheet["id"], "approve").json()
    assert body["status"] == 409
    assert body["current_status"] == "draft"


def test_new_sheet_is_draft_version_1(sheet):
    assert sheet["status"] == "draft"
    assert sheet["version"] == 1
    assert [ln["hours"] for ln in sheet["lines"]] == ["8", "7.5"]


def test_approving_a_draft_is_409(api, sheet):
    assert_illegal(act(api, sheet["id"], "approve"), sheet, "draft")
    assert api("psa", "GET", f"/timesheets/{sheet['id']}").json()["status"] == "draft"


def test_rejecting_a_draft_is_409(api, sheet):
    assert_illegal(reject(api, sheet["id"]), sheet, "draft")


def test_submitting_an_approved_sheet_is_409(api, sheet):
    ok(act(api, sheet["id"], "submit"))
    ok(act(api, sheet["id"], "approve"))
    assert_illegal(act(api, sheet["id"], "submit"), sheet, "approved")


def test_rejecting_an_approved_sheet_is_409(api, sheet):
    ok(act(api, sheet["id"], "submit"))
    approved = ok(act(api, sheet["id"], "approve"))
    assert_illegal(reject(api, sheet["id"]), sheet, "approved")
    after = api("psa", "GET", f"/timesheets/{sheet['id']}").json()
    assert after["status"] == "approved" and after["approval_id"] == approved["approval_id"]


def test_submitting_twice_is_409(api, sheet):
    ok(act(api, sheet["id"], "submit"))
    assert_illegal(act(api, sheet["id"], "submit"), sheet, "submitted")


def test_editing_a_submitted_sheet_is_409(api, project, sheet):
    ok(act(api, sheet["id"], "submit"))
    response = edit(api, sheet["id"], [line(project, "4")])
    assert_illegal(response, sheet, "submitted")
    after = api("psa", "GET", f"/timesheets/{sheet['id']}").json()
    assert after["version"] == 1 and [ln["hours"] for ln in after["lines"]] == ["8", "7.5"]


def test_approving_a_rejected_sheet_is_409(api, sheet):
    ok(act(api, sheet["id"], "submit"))
    ok(reject(api, sheet["id"]))
    assert_illegal(act(api, sheet["id"], "approve"), sheet, "rejected")


def test_legal_path_draft_submitted_approved(api, sheet):
    submitted = ok(act(api, sheet["id"], "submit"))
    assert submitted["status"] == "submitted" and submitted["submitted_at"]
    approved = ok(act(api, sheet["id"], "approve"))
    assert approved["status"] == "approved"
    assert approved["approval_id"] and approved["approved_at"]
    assert approved["version"] == 1


def test_legal_path_through_rejection_and_edit(api, project, sheet):
    ok(act(api, sheet["id"], "submit"))
    rejected = ok(reject(api, sheet["id"]))
    assert rejected["status"] == "rejected" and rejected["rejection_reason"] == "wrong task"
    assert rejected["approval_id"] is None

    edited = ok(edit(api, sheet["id"], [line(project, "6"), line(project, "7.5", date="2026-01-06", task=1)]))
    assert edited["status"] == "draft" and edited["version"] == 2

    ok(act(api, sheet["id"], "submit"))
    approved = ok(act(api, sheet["id"], "approve"))
    assert approved["status"] == "approved" and approved["version"] == 2
    assert approved["rejection_reason"] is None
    assert [ln["hours"] for ln in approved["lines"]] == ["6", "7.5"]


def test_adjusting_an_approved_sheet_needs_reapproval(api, systems, project, sheet):
    ok(act(api, sheet["id"], "submit"))
    first = ok(act(api, sheet["id"], "approve"))
    line_ids = [ln["id"] for ln in first["lines"]]

    adjusted = ok(edit(api, sheet["id"], [line(project, "6"), line(project, "7.5", date="2026-01-06", task=1)]))

    assert adjusted["status"] == "submitted"
    assert adjusted["version"] == first["version"] + 1
    assert [ln["id"] for ln in adjusted["lines"]] == line_ids
    assert adjusted["lines"][0]["hours"] == "6"
    assert adjusted["approval_id"] is None
    events = api("psa", "GET", "/events").json()["data"]
    assert events[-1]["type"] == "psa.timesheet.adjusted" and events[-1]["version"] == adjusted["version"]

    second = ok(act(api, sheet["id"], "approve"))
    assert second["approval_id"] and second["approval_id"] != first["approval_id"]
    assert second["version"] == 2
    approvals = [(a["approval_id"], a["version"]) for a in systems.psa.approvals]
    assert approvals == [(first["approval_id"], 1), (second["approval_id"], 2)]


def test_every_approval_gets_a_new_id_across_sheets(api, project, resource):
    ids = set()
    for week in ("2026-01-05", "2026-01-12", "2026-01-19"):
        sheet = create(api, "psa", "/timesheets", {"resource_id": resource, "week_start": week,
                                                    "lines": [line(project, "1", date=week)]})
        ok(act(api, sheet["id"], "submit"))
        ids.add(ok(act(api, sheet["id"], "approve"))["approval_id"])
    assert len(ids) == 3


@pytest.mark.parametrize("hours", ["7.3", "0.1", "1.125", "8.20"])
def test_hours_not_in_quarter_hours_are_422_naming_the_line(api, project, resource, hours):
    response = api("psa", "POST", "/timesheets", json={
        "resource_id": resource, "week_start": "2026-01-05", "lines": [line(project, hours)]})
    body = assert_problem(response, 422, "validation_error")
    assert body["field"] == "lines[0].hours"
    assert "lines[0].hours" in body["detail"]


def test_the_offending_line_index_is_named(api, project, resource):
    response = api("psa", "POST", "/timesheets", json={
        "resource_id": resource, "week_start": "2026-01-05",
        "lines": [line(project, "8"), line(project, "2.25"), line(project, "1.1")]})
    assert assert_problem(response, 422)["field"] == "lines[2].hours"


@pytest.mark.parametrize("hours", ["0", "-1", "24.25", "NaN", 8])
def test_hours_out_of_range_or_not_a_decimal_string_are_422(api, project, resource, hours):
    response = api("psa", "POST", "/timesheets", json={
        "resource_id": resource, "week_start": "2026-01-05", "lines": [line(project, hours)]})
    assert assert_problem(response, 422)["field"] == "lines[0].hours"


@pytest.mark.parametrize("hours", ["0.25", "7.75", "24", "12.50"])
def test_quarter_hours_are_accepted(api, project, resource, hours):
    response = api("psa", "POST", "/timesheets", json={
        "resource_id": resource, "week_start": "2026-01-05", "lines": [line(project, hours)]})
    assert response.status_code == 201, response.text


def test_invalid_edit_leaves_the_sheet_unchanged(api, project, sheet):
    response = edit(api, sheet["id"], [line(project, "6"), line(project, "7.1")])
    assert assert_problem(response, 422)["field"] == "lines[1].hours"
    after = api("psa", "GET", f"/timesheets/{sheet['id']}").json()
    assert after == sheet


def test_unknown_project_is_404(api, project, resource):
    response = api("psa", "POST", "/timesheets", json={
        "resource_id": resource, "week_start": "2026-01-05", "lines": [line(project, project_id="prj_999999")]})
    body = assert_problem(response, 404, "not_found")
    assert "prj_999999" in body["detail"]


def test_unknown_task_and_resource_are_404(api, project, resource):
    bad_task = api("psa", "POST", "/timesheets", json={
        "resource_id": resource, "week_start": "2026-01-05", "lines": [line(project, task_id="tsk_999999")]})
    assert "tsk_999999" in assert_problem(bad_task, 404)["detail"]
    bad_resource = api("psa", "POST", "/timesheets", json={
        "resource_id": "res_999999", "week_start": "2026-01-05", "lines": [line(project)]})
    assert "res_999999" in assert_problem(bad_resource, 404)["detail"]


def test_unknown_timesheet_is_404(api):
    assert_problem(act(api, "tms_999999", "submit"), 404)


# -- billing status across an adjustment ---------------------------------------------

def test_adjusting_a_billed_sheet_keeps_each_kept_lines_billing_status(api, systems, project, sheet):
    """A kept line still names the invoice that billed its earlier version; a new line starts unbilled."""
    ok(act(api, sheet["id"], "submit"))
    approved = ok(act(api, sheet["id"], "approve"))
    billed_id, unbilled_id = (ln["id"] for ln in approved["lines"])
    marked = api("psa", "PUT", f"/timesheet-lines/{billed_id}/billing", json={"invoice_ref": "US01-000001"})
    assert marked.status_code == 200, marked.text

    adjusted = ok(edit(api, sheet["id"], [line(project, "6"), line(project, "7.5", date="2026-01-06", task=1),
                                          line(project, "2", date="2026-01-07")]))

    kept, other, added = adjusted["lines"]
    assert (kept["id"], kept["hours"]) == (billed_id, "6")
    assert (kept["billing_status"], kept["invoice_ref"]) == ("billed", "US01-000001")
    assert other["id"] == unbilled_id and (other["billing_status"], other["invoice_ref"]) == ("unbilled", None)
    assert added["id"] not in (billed_id, unbilled_id)
    assert (added["billing_status"], added["invoice_ref"]) == ("unbilled", None)
    # the line index follows the new version, and a repeated write-back is still a no-op
    assert systems.psa.lines[billed_id][1].hours == 6
    head = systems.psa.feed.head
    api("psa", "PUT", f"/timesheet-lines/{billed_id}/billing", json={"invoice_ref": "US01-000001"})
    assert systems.psa.feed.head == head


def test_rejected_adjustment_keeps_billing_status_through_the_re_edit(api, project, sheet):
    ok(act(api, sheet["id"], "submit"))
    billed_id = ok(act(api, sheet["id"], "approve"))["lines"][0]["id"]
    api("psa", "PUT", f"/timesheet-lines/{billed_id}/billing", json={"invoice_ref": "US01-000007"})
    ok(edit(api, sheet["id"], [line(project, "6")]))
    ok(reject(api, sheet["id"]))

    redone = ok(edit(api, sheet["id"], [line(project, "5")]))

    assert [(ln["id"], ln["billing_status"], ln["invoice_ref"]) for ln in redone["lines"]] == [
        (billed_id, "billed", "US01-000007")]


# -- ETags on reads ------------------------------------------------------------------

def test_single_entity_reads_carry_an_etag_of_the_version(api, systems, project, resource, sheet):
    assert api("psa", "GET", f"/projects/{project['id']}").headers["etag"] == '"1"'
    assert api("psa", "GET", f"/timesheets/{sheet['id']}").headers["etag"] == '"1"'
    ok(edit(api, sheet["id"], [line(project, "4")]))
    assert api("psa", "GET", f"/timesheets/{sheet['id']}").headers["etag"] == '"2"'

    expense = create(api, "psa", "/expenses", {"resource_id": resource, "project_id": project["id"],
                                                "date": "2026-01-05", "description": "train", "cost": 4_200,
                                                "currency": "USD"})
    assert api("psa", "GET", f"/expenses/{expense['id']}").headers["etag"] == '"1"'
    (milestone,) = create(api, "psa", f"/projects/{project['id']}/milestones", {"milestones": [
        {"ref": "m1", "name": "Go-live", "planned_date": "2026-03-01"}]})["data"]
    assert api("psa", "GET", f"/milestones/{milestone['id']}").headers["etag"] == '"1"'
    # a resource has no version, hence no ETag
    assert "etag" not in api("psa", "GET", f"/resources/{resource}").headers
