"""The precompiled route table (mocks/core/routing.py)."""

from __future__ import annotations

import pytest

from mocks.core.problems import MethodNotAllowed, NotFound
from mocks.core.routing import ApiResponse, RouteTable
from mocks.systems import SYSTEM_NAMES
from tests.mocks.factories import assert_problem, create


def named(name: str):
    def handler(request):
        return ApiResponse(200, name)
    handler.__name__ = name
    return handler


@pytest.fixture
def table() -> RouteTable:
    t = RouteTable()
    t.add("GET", "/contracts", named("list"))
    t.add("POST", "/contracts", named("create"))
    t.add("GET", "/contracts/{id}", named("get"))
    t.add("GET", "/contracts/{id}/versions/{version}", named("version"))
    t.add("POST", "/contracts/{id}/sign", named("sign"))
    return t


def resolve(table: RouteTable, method: str, path: str) -> tuple[str, dict[str, str]]:
    handler, params = table.match(method, path)
    return handler.__name__, params


def test_literal_and_parametrised_templates_match(table):
    assert resolve(table, "GET", "/contracts") == ("list", {})
    assert resolve(table, "POST", "/contracts") == ("create", {})
    assert resolve(table, "GET", "/contracts/ctr_1") == ("get", {"id": "ctr_1"})
    assert resolve(table, "POST", "/contracts/ctr_1/sign") == ("sign", {"id": "ctr_1"})


def test_longer_template_is_not_swallowed_by_a_shorter_one(table):
    assert resolve(table, "GET", "/contracts/ctr_1/versions/3") == ("version", {"id": "ctr_1", "version": "3"})


def test_params_do_not_span_segments(table):
    with pytest.raises(NotFound):
        table.match("GET", "/contracts/a/b")
    with pytest.raises(NotFound):
        table.match("GET", "/contracts/")
    with pytest.raises(NotFound):
        table.match("GET", "/contracts/ctr_1/versions/")


def test_whole_path_must_match(table):
    for path in ("/contracts/ctr_1/sign/extra", "/api/contracts", "/contracts/ctr_1/", "/contractsX"):
        with pytest.raises(NotFound):
            table.match("GET", path)


def test_regex_metacharacters_in_templates_are_literal():
    t = RouteTable()
    t.add("GET", "/a.b/{id}", named("dotted"))
    assert resolve(t, "GET", "/a.b/1") == ("dotted", {"id": "1"})
    with pytest.raises(NotFound):
        t.match("GET", "/aXb/1")


def test_404_for_unknown_path_and_405_for_known_path_with_wrong_method(table):
    with pytest.raises(NotFound):
        table.match("DELETE", "/nothing-here")
    with pytest.raises(MethodNotAllowed) as info:
        table.match("DELETE", "/contracts/ctr_1")
    assert "GET" in info.value.detail
    with pytest.raises(MethodNotAllowed) as info:
        table.match("GET", "/contracts/ctr_1/sign")
    assert "POST" in info.value.detail


def test_routes_added_after_first_match_are_found(table):
    table.match("GET", "/contracts")  # compiles
    table.add("GET", "/late/{x}", named("late"))
    assert resolve(table, "GET", "/late/1") == ("late", {"x": "1"})


def test_same_param_name_in_many_templates_is_kept_apart(table):
    # every template has an {id}; the right group must be read
    assert resolve(table, "POST", "/contracts/c9/sign")[1] == {"id": "c9"}
    assert resolve(table, "GET", "/contracts/c8/versions/2")[1] == {"id": "c8", "version": "2"}


def test_literal_segment_is_preferred_over_a_param_whatever_the_order():
    t = RouteTable()
    t.add("GET", "/invoices/{id}", named("get"))
    t.add("GET", "/invoices/summary", named("summary"))
    assert resolve(t, "GET", "/invoices/summary") == ("summary", {})


def test_literal_registered_first_wins():
    t = RouteTable()
    t.add("GET", "/invoices/summary", named("summary"))
    t.add("GET", "/invoices/{id}", named("get"))
    assert resolve(t, "GET", "/invoices/summary") == ("summary", {})
    assert resolve(t, "GET", "/invoices/inv_1") == ("get", {"id": "inv_1"})


# -- through the HTTP API ---------------------------------------------------------

def test_clm_versions_route_through_http(api):
    contract = create(api, "clm", "/contracts", {
        "account_id": "acc_1", "legal_entity": "US01", "currency": "USD", "billing_type": "time_and_materials",
        "title": "SOW", "start_date": "2026-01-01", "end_date": "2026-12-31",
        "rate_card": [{"role": "dev", "rate": 10_000, "effective_from": "2026-01-01"}]})
    whole = api("clm", "GET", f"/contracts/{contract['id']}")
    version = api("clm", "GET", f"/contracts/{contract['id']}/versions/1")
    assert whole.status_code == version.status_code == 200
    assert whole.json()["id"] == contract["id"]
    assert version.json()["contract_id"] == contract["id"] and version.json()["version"] == 1
    assert_problem(api("clm", "GET", f"/contracts/{contract['id']}/versions/2"), 404)
    assert_problem(api("clm", "DELETE", f"/contracts/{contract['id']}/versions/1"), 405)
    assert_problem(api("clm", "GET", f"/contracts/{contract['id']}/versions/1/extra"), 404)


def test_routing_errors_come_before_authentication(api):
    """An unknown path is 404 and a wrong method 405 even without a token; a known route without one is 401."""
    http, base = api.http, api.urls["crm"]
    assert_problem(http.get(base + "/nope"), 404)
    assert_problem(http.delete(base + "/accounts"), 405)
    assert_problem(http.get(base + "/accounts"), 401)


def test_shared_routes_exist_on_every_system(api):
    for system in SYSTEM_NAMES:
        assert api(system, "GET", "/events").status_code == 200
        assert_problem(api(system, "POST", "/events"), 405)
        assert_problem(api(system, "GET", "/oauth/token"), 405)


def test_literal_wins_at_the_first_position_where_templates_differ():
    t = RouteTable()
    t.add("GET", "/{kind}/{id}/lines", named("any_lines"))
    t.add("GET", "/invoices/{id}/{part}", named("invoice_part"))
    t.add("GET", "/invoices/{id}/lines", named("invoice_lines"))
    assert resolve(t, "GET", "/invoices/i1/lines") == ("invoice_lines", {"id": "i1"})
    assert resolve(t, "GET", "/invoices/i1/notes") == ("invoice_part", {"id": "i1", "part": "notes"})
    assert resolve(t, "GET", "/charges/c1/lines") == ("any_lines", {"kind": "charges", "id": "c1"})


def test_method_not_allowed_carries_the_allow_header(table):
    with pytest.raises(MethodNotAllowed) as info:
        table.match("DELETE", "/contracts")
    assert info.value.headers == {"allow": "GET, POST"}
