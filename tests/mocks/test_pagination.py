"""Cursor pagination on list endpoints (mocks/core/pagination.py)."""

from __future__ import annotations

import base64

import pytest

from tests.mocks.factories import assert_problem, create, crm_account


@pytest.fixture
def accounts(api) -> list[str]:
    return [create(api, "crm", "/accounts", crm_account(f"Account {i}"))["id"] for i in range(7)]


def page(api, limit: int | None = 3, cursor: str | None = None, path: str = "/accounts", system: str = "crm", **params):
    if limit is not None:
        params["limit"] = limit
    if cursor is not None:
        params["cursor"] = cursor
    response = api(system, "GET", path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def walk(api, limit: int = 3, **params) -> tuple[list[str], int]:
    ids, cursor, pages = [], None, 0
    while True:
        body = page(api, limit, cursor, **params)
        pages += 1
        ids += [item["id"] for item in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids, pages
        assert pages < 100, "pagination does not terminate"


def test_pages_concatenate_to_every_item_once_in_order(api, accounts):
    ids, pages = walk(api, limit=3)
    assert ids == accounts
    assert pages == 3  # 3 + 3 + 1


def test_page_sizes_and_last_page_has_no_cursor(api, accounts):
    first = page(api, 3)
    assert len(first["data"]) == 3 and first["next_cursor"]
    second = page(api, 3, first["next_cursor"])
    assert len(second["data"]) == 3 and second["next_cursor"]
    third = page(api, 3, second["next_cursor"])
    assert len(third["data"]) == 1
    assert third["next_cursor"] is None


def test_exact_multiple_has_no_empty_trailing_page(api, accounts):
    first = page(api, 7)
    assert len(first["data"]) == 7 and first["next_cursor"] is None


def test_default_limit_returns_everything_small(api, accounts):
    body = page(api, None)
    assert [a["id"] for a in body["data"]] == accounts and body["next_cursor"] is None


def test_empty_collection(api):
    assert page(api, 3) == {"data": [], "next_cursor": None}


@pytest.mark.parametrize("limit", ["0", "-1", "501", "ten", "2.5"])
def test_limit_out_of_range_or_not_integer_is_400(api, accounts, limit):
    response = api("crm", "GET", "/accounts", params={"limit": limit})
    body = assert_problem(response, 400, "bad_request")
    assert "limit" in body["detail"]


@pytest.mark.parametrize("limit", ["1", "500"])
def test_limit_bounds_are_inclusive(api, accounts, limit):
    assert len(page(api, int(limit))["data"]) == min(int(limit), 7)


@pytest.mark.parametrize("cursor", ["garbage!!", "not-a-cursor", "%%%", base64.urlsafe_b64encode(b"x5").decode(),
                                    base64.urlsafe_b64encode(b"pfive").decode()])
def test_garbage_cursor_is_400(api, accounts, cursor):
    response = api("crm", "GET", "/accounts", params={"limit": 3, "cursor": cursor})
    body = assert_problem(response, 400, "bad_request")
    assert "cursor" in body["detail"]


def test_cursor_past_the_end_is_400(api, accounts):
    forged = base64.urlsafe_b64encode(b"p99").decode().rstrip("=")
    assert_problem(api("crm", "GET", "/accounts", params={"cursor": forged}), 400)


def test_negative_cursor_is_400(api, accounts):
    forged = base64.urlsafe_b64encode(b"p-5").decode().rstrip("=")
    response = api("crm", "GET", "/accounts", params={"limit": 3, "cursor": forged})
    assert response.status_code == 400, response.text


def test_items_added_between_pages_are_neither_skipped_nor_repeated(api, accounts):
    first = page(api, 3)
    added_early = create(api, "crm", "/accounts", crm_account("Added after page 1"))["id"]
    second = page(api, 3, first["next_cursor"])
    added_late = create(api, "crm", "/accounts", crm_account("Added after page 2"))["id"]
    ids = [a["id"] for a in first["data"] + second["data"]]
    cursor = second["next_cursor"]
    while cursor is not None:
        body = page(api, 3, cursor)
        ids += [a["id"] for a in body["data"]]
        cursor = body["next_cursor"]

    assert ids == accounts + [added_early, added_late]
    assert len(ids) == len(set(ids))


def test_updates_between_pages_do_not_move_items(api, accounts):
    first = page(api, 3)
    api("crm", "PATCH", f"/accounts/{accounts[0]}", json={"legal_name": "Renamed"})
    rest, _ = walk(api, limit=3)
    assert rest == accounts
    assert [a["id"] for a in first["data"]] == accounts[:3]


def test_erp_list_with_filter_paginates(api):
    from tests.mocks.factories import erp_customer

    made = [create(api, "erp", "/customers", erp_customer(f"C{i}", external_ref=f"ref-{i % 2}"))["id"]
            for i in range(5)]
    ids, _ = walk(api, limit=2, path="/customers", system="erp", external_ref="ref-0")
    assert ids == [made[0], made[2], made[4]]


def test_status_filtered_list_does_not_skip_when_an_item_leaves_the_filter(api, systems):
    """A connector polling GET /timesheets?status=submitted while a manager approves must see every sheet."""
    project = create(api, "psa", "/projects", {"contract_ref": "c", "name": "p", "start_date": "2026-01-01",
                                               "end_date": "2026-12-31", "tasks": [{"name": "t"}]})
    resource = systems.psa.add_resource("Ada", "dev").id
    sheets = []
    for week in ("2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26", "2026-02-02", "2026-02-09"):
        sheet = create(api, "psa", "/timesheets", {"resource_id": resource, "week_start": week, "lines": [{
            "date": week, "project_id": project["id"], "task_id": project["tasks"][0]["id"], "role": "dev",
            "hours": "8"}]})
        api("psa", "POST", f"/timesheets/{sheet['id']}/submit")
        sheets.append(sheet["id"])

    first = page(api, 3, path="/timesheets", system="psa", status="submitted")
    seen = [t["id"] for t in first["data"]]
    api("psa", "POST", f"/timesheets/{seen[0]}/approve")  # leaves the filtered view
    second = page(api, 3, first["next_cursor"], path="/timesheets", system="psa", status="submitted")
    seen += [t["id"] for t in second["data"]]

    assert seen == sheets


@pytest.mark.parametrize("raw", ["p-0", "p+3", "p 3", "p3 ", "p\u0663", "p", "P3", "p3p"])
def test_cursor_must_be_p_and_ascii_digits(api, accounts, raw):
    forged = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    assert "cursor" in assert_problem(api("crm", "GET", "/accounts", params={"cursor": forged}), 400)["detail"]


def test_cursor_at_the_end_is_an_empty_last_page(api, accounts):
    at_end = base64.urlsafe_b64encode(b"p7").decode().rstrip("=")
    assert page(api, 3, at_end) == {"data": [], "next_cursor": None}


@pytest.fixture
def submitted_sheets(api, systems) -> list[str]:
    project = create(api, "psa", "/projects", {"contract_ref": "c", "name": "p", "start_date": "2026-01-01",
                                               "end_date": "2026-12-31", "tasks": [{"name": "t"}]})
    resource = systems.psa.add_resource("Ada", "dev").id
    sheets = []
    for week in ("2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26", "2026-02-02", "2026-02-09"):
        sheet = create(api, "psa", "/timesheets", {"resource_id": resource, "week_start": week, "lines": [{
            "date": week, "project_id": project["id"], "task_id": project["tasks"][0]["id"], "role": "dev",
            "hours": "8"}]})
        sheets.append(sheet["id"])
    return sheets


def test_item_entering_the_filter_between_pages_ahead_of_the_cursor_is_seen(api, submitted_sheets):
    for sheet_id in submitted_sheets[:4]:
        api("psa", "POST", f"/timesheets/{sheet_id}/submit")
    first = page(api, 2, path="/timesheets", system="psa", status="submitted")
    api("psa", "POST", f"/timesheets/{submitted_sheets[5]}/submit")  # enters the view after the cursor

    rest, cursor = [], first["next_cursor"]
    while cursor is not None:
        body = page(api, 2, cursor, path="/timesheets", system="psa", status="submitted")
        rest += [t["id"] for t in body["data"]]
        cursor = body["next_cursor"]

    assert [t["id"] for t in first["data"]] + rest == submitted_sheets[:4] + [submitted_sheets[5]]


def test_filtered_walk_has_no_empty_trailing_page(api, submitted_sheets):
    for sheet_id in (submitted_sheets[0], submitted_sheets[2]):
        api("psa", "POST", f"/timesheets/{sheet_id}/submit")
    first = page(api, 1, path="/timesheets", system="psa", status="submitted")
    assert [t["id"] for t in first["data"]] == [submitted_sheets[0]] and first["next_cursor"]
    second = page(api, 1, first["next_cursor"], path="/timesheets", system="psa", status="submitted")
    assert [t["id"] for t in second["data"]] == [submitted_sheets[2]]
    assert second["next_cursor"] is None  # drafts 3..5 follow, but none matches
    assert page(api, 5, path="/timesheets", system="psa", status="approved") == {"data": [], "next_cursor": None}


def test_filtered_cursor_counts_unfiltered_positions(api, systems):
    from tests.mocks.factories import erp_customer

    for i in range(5):
        create(api, "erp", "/customers", erp_customer(f"C{i}", external_ref=f"ref-{i % 2}"))
    first = page(api, 1, path="/customers", system="erp", external_ref="ref-1")
    # the first ref-1 customer sits at position 1 of the whole collection, so the walk resumes at 2
    assert base64.urlsafe_b64decode(first["next_cursor"] + "==") == b"p2"


def test_paginate_predicate_directly():
    from mocks.core.pagination import paginate
    from mocks.core.routing import ApiRequest

    def call(cursor=None, limit=2):
        query = {"limit": str(limit)} | ({"cursor": cursor} if cursor else {})
        return paginate(ApiRequest("GET", "/x", query, {}), list(range(10)), lambda n: {"n": n}, lambda n: n % 3 == 0)

    first = call()
    assert first["data"] == [{"n": 0}, {"n": 3}]
    second = call(first["next_cursor"])
    assert second["data"] == [{"n": 6}, {"n": 9}] and second["next_cursor"] is None
