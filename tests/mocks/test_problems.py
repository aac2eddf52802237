"""RFC 9457 errors, field-precise validation and optimistic concurrency."""

from __future__ import annotations

import pytest

from mocks.core.problems import Conflict, Problem, ValidationFailed
from tests.mocks.factories import PROBLEM_JSON, assert_problem, create, crm_account, erp_customer


def test_invalid_json_body_is_400_with_detail(api):
    response = api("crm", "POST", "/accounts", content=b'{"legal_name": "Acme",', headers={"content-type": "application/json"})
    body = assert_problem(response, 400, "bad_request")
    assert "not valid JSON" in body["detail"]


def test_empty_body_is_400(api):
    body = assert_problem(api("erp", "POST", "/customers"), 400)
    assert "empty" in body["detail"]


def test_json_that_is_not_an_object_is_422(api):
    body = assert_problem(api("crm", "POST", "/accounts", json=[1, 2]), 422, "validation_error")
    assert body["field"] == "body"


def test_unknown_path_is_404(api):
    body = assert_problem(api("crm", "GET", "/nope"), 404, "not_found")
    assert "/nope" in body["detail"]


def test_unknown_entity_is_404_naming_it(api):
    body = assert_problem(api("crm", "GET", "/accounts/acc_424242"), 404, "not_found")
    assert body["account_id"] == "acc_424242" and "acc_424242" in body["detail"]


def test_wrong_method_is_405(api):
    body = assert_problem(api("crm", "DELETE", "/accounts/acc_000001"), 405, "method_not_allowed")
    assert "GET" in body["detail"] and "PATCH" in body["detail"]
    assert_problem(api("erp", "PUT", "/customers"), 405)


def test_405_carries_allow_header(api):
    response = api("crm", "DELETE", "/accounts/acc_000001")
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"GET", "PATCH"}


def test_allow_header_is_only_on_405(api):
    assert api("erp", "PUT", "/customers").headers["allow"] == "GET, POST"
    assert "allow" not in api("crm", "GET", "/nope").headers
    assert "allow" not in api("crm", "GET", "/accounts").headers


# -- the RFC 9457 members belong to RFC 9457 ---------------------------------------

@pytest.mark.parametrize("member", ["type", "title", "status", "detail", "instance"])
def test_an_extension_member_cannot_shadow_a_standard_member(member):
    with pytest.raises(TypeError, match=member):
        Conflict("contract ctr_1 is draft; cannot sign", **{member: "draft"})


def test_problem_json_keeps_standard_members_first_and_extensions_after():
    body = Conflict("x is draft; cannot sign", current_status="draft", contract_id="x").to_json()
    assert list(body)[:4] == ["type", "title", "status", "detail"]
    assert body["status"] == 409 and body["current_status"] == "draft"
    assert ValidationFailed("tax_id", "is required").to_json()["status"] == 422


def test_problem_headers_are_copied_not_shared():
    shared = {"retry-after": "5"}
    problem = Problem("slow down", headers=shared)
    shared["retry-after"] = "99"
    assert problem.headers == {"retry-after": "5"}
    assert Problem("plain").headers == {}


def test_clm_illegal_transition_keeps_http_status_and_names_current_status(api):
    contract = create(api, "clm", "/contracts", {
        "account_id": "acc_1", "legal_entity": "US01", "currency": "USD", "billing_type": "time_and_materials",
        "title": "SOW", "start_date": "2026-01-01", "end_date": "2026-12-31",
        "rate_card": [{"role": "dev", "rate": 10_000, "effective_from": "2026-01-01"}]})
    body = assert_problem(api("clm", "POST", f"/contracts/{contract['id']}/sign"), 409)
    assert body["status"] == 409 and body["current_status"] == "draft"
    assert body["contract_id"] == contract["id"]


@pytest.mark.parametrize("missing", ["legal_name", "tax_id", "billing_address"])
def test_missing_required_field_is_422_naming_it(api, systems, missing):
    payload = crm_account()
    del payload[missing]
    body = assert_problem(api("crm", "POST", "/accounts", json=payload), 422, "validation_error")
    assert body["field"] == missing
    assert body["detail"].startswith(f"{missing}: ")
    assert systems.crm.accounts == {}


def test_nested_missing_field_is_named_with_its_path(api):
    payload = crm_account()
    del payload["billing_address"]["city"]
    assert assert_problem(api("crm", "POST", "/accounts", json=payload), 422)["field"] == "billing_address.city"


def test_null_counts_as_missing_and_wrong_type_is_422(api):
    assert assert_problem(api("crm", "POST", "/accounts", json=crm_account(tax_id=None)), 422)["field"] == "tax_id"
    assert assert_problem(api("crm", "POST", "/accounts", json=crm_account(tax_id=42)), 422)["field"] == "tax_id"
    assert assert_problem(api("crm", "POST", "/accounts", json=crm_account(legal_name="")), 422)["field"] == "legal_name"


def test_erp_customer_name_longer_than_40_is_422_not_truncated(api, systems):
    body = assert_problem(api("erp", "POST", "/customers", json=erp_customer("N" * 41)), 422, "validation_error")
    assert body["field"] == "name"
    assert "41" in body["detail"] and "40" in body["detail"]
    assert systems.erp.customers == {}

    exactly = create(api, "erp", "/customers", erp_customer("N" * 40))
    assert exactly["name"] == "N" * 40
    assert api("erp", "GET", f"/customers/{exactly['id']}").json()["name"] == "N" * 40


def test_erp_customer_rename_longer_than_40_is_422(api):
    customer = create(api, "erp", "/customers", erp_customer("Short"))
    response = api("erp", "PATCH", f"/customers/{customer['id']}", json={"name": "L" * 41})
    assert assert_problem(response, 422)["field"] == "name"
    assert api("erp", "GET", f"/customers/{customer['id']}").json()["name"] == "Short"


def test_erp_customer_with_unknown_tax_jurisdiction_is_422(api):
    body = assert_problem(api("erp", "POST", "/customers", json=erp_customer(tax_jurisdiction="XX")), 422)
    assert body["field"] == "tax_jurisdiction"


def test_rejected_erp_customer_patch_changes_nothing(api):
    customer = create(api, "erp", "/customers", erp_customer("Before"))
    response = api("erp", "PATCH", f"/customers/{customer['id']}", json={"name": "After", "tax_id": "T" * 41})
    assert assert_problem(response, 422)["field"] == "tax_id"
    assert api("erp", "GET", f"/customers/{customer['id']}").json()["name"] == "Before"


def test_rejected_erp_customer_patch_bumps_no_version_and_emits_no_event(api, systems):
    customer = create(api, "erp", "/customers", erp_customer("Before"))
    head = systems.erp.feed.head
    response = api("erp", "PATCH", f"/customers/{customer['id']}",
                   json={"name": "After", "billing_address": {"line1": "2 Side St"}})
    assert assert_problem(response, 422)["field"] == "billing_address.city"
    after = api("erp", "GET", f"/customers/{customer['id']}")
    assert after.headers["etag"] == '"1"' and after.json() == customer
    assert systems.erp.feed.head == head


def test_accepted_erp_customer_patch_is_one_version_and_one_event(api, systems):
    customer = create(api, "erp", "/customers", erp_customer("Before"))
    response = api("erp", "PATCH", f"/customers/{customer['id']}", json={"name": "After", "tax_id": "T-2"})
    assert response.status_code == 200 and response.headers["etag"] == '"2"'
    assert (response.json()["name"], response.json()["tax_id"]) == ("After", "T-2")
    events = api("erp", "GET", "/events").json()["data"]
    assert [(e["type"], e["version"]) for e in events if e["entity_id"] == customer["id"]] == [
        ("erp.customer.created", 1), ("erp.customer.updated", 2)]


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("currency", "EUR", "is read-only"), ("tax_jurisdiction", "GB", "is read-only"),
    ("version", 7, "is read-only"), ("nickname", "Ac", "is not a customer field")])
def test_erp_customer_patch_of_a_non_updatable_field_is_422_naming_it(api, systems, field, value, reason):
    customer = create(api, "erp", "/customers", erp_customer("Acme"))
    response = api("erp", "PATCH", f"/customers/{customer['id']}", json={"name": "Acme B", field: value})
    body = assert_problem(response, 422, "validation_error")
    assert body["field"] == field and reason in body["detail"]
    assert systems.erp.customers[customer["id"]].name == "Acme" and systems.erp.customers[customer["id"]].version == 1


def test_erp_backend_update_rejects_non_updatable_fields(systems):
    customer = systems.erp.create_customer(**{k: v for k, v in erp_customer().items()})
    with pytest.raises(ValidationFailed) as info:
        systems.erp.update_customer(customer.id, {"currency": "EUR"})
    assert info.value.extra["field"] == "currency"
    assert customer.currency == "USD" and customer.version == 1


# -- optimistic concurrency ----------------------------------------------------

@pytest.fixture
def account(api) -> dict:
    return create(api, "crm", "/accounts", crm_account())


def test_reads_carry_an_etag_that_tracks_the_version(api, account):
    first = api("crm", "GET", f"/accounts/{account['id']}")
    assert first.headers["etag"] == '"1"'
    api("crm", "PATCH", f"/accounts/{account['id']}", json={"legal_name": "Acme 2"})
    assert api("crm", "GET", f"/accounts/{account['id']}").headers["etag"] == '"2"'


def test_crm_patch_with_stale_if_match_is_412(api, systems, account):
    etag = api("crm", "GET", f"/accounts/{account['id']}").headers["etag"]
    ok = api("crm", "PATCH", f"/accounts/{account['id']}", json={"legal_name": "First"}, headers={"If-Match": etag})
    assert ok.status_code == 200 and ok.headers["etag"] == '"2"'

    stale = api("crm", "PATCH", f"/accounts/{account['id']}", json={"legal_name": "Second"}, headers={"If-Match": etag})

    body = assert_problem(stale, 412, "precondition_failed")
    assert body["current_version"] == 2
    after = systems.crm.accounts[account["id"]]
    assert after.legal_name == "First" and after.version == 2


def test_erp_patch_with_stale_if_match_is_412(api, systems):
    customer = api("erp", "POST", "/customers", json=erp_customer("Acme"))
    etag = customer.headers["etag"]
    customer_id = customer.json()["id"]
    renamed = api("erp", "PATCH", f"/customers/{customer_id}", json={"name": "Acme B"}, headers={"If-Match": etag})
    assert renamed.status_code == 200

    stale = api("erp", "PATCH", f"/customers/{customer_id}", json={"name": "Acme C"}, headers={"If-Match": etag})

    assert_problem(stale, 412, "precondition_failed")
    assert systems.erp.customers[customer_id].name == "Acme B"
    assert api("erp", "GET", f"/customers/{customer_id}").headers["etag"] == '"2"'


def test_if_match_star_and_absent_if_match_are_accepted(api, account):
    assert api("crm", "PATCH", f"/accounts/{account['id']}", json={"tax_id": "X"}, headers={"If-Match": "*"}).status_code == 200
    assert api("crm", "PATCH", f"/accounts/{account['id']}", json={"tax_id": "Y"}).status_code == 200


def test_412_is_checked_before_the_body_is_validated(api, account):
    response = api("crm", "PATCH", f"/accounts/{account['id']}", content=b"{", headers={"If-Match": '"9"'})
    assert_problem(response, 412)


def test_crm_patch_of_a_non_updatable_field_is_rejected(api, account):
    response = api("crm", "PATCH", f"/accounts/{account['id']}", json={"currency": "EUR"})
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("currency", "EUR", "is read-only"), ("id", "acc_9", "is read-only"), ("created_at", "2020-01-01", "is read-only"),
    ("nickname", "Ac", "is not an account field")])
def test_crm_patch_of_a_read_only_or_unknown_field_is_422_naming_it(api, systems, account, field, value, reason):
    response = api("crm", "PATCH", f"/accounts/{account['id']}", json={"legal_name": "Renamed", field: value})
    body = assert_problem(response, 422, "validation_error")
    assert body["field"] == field and reason in body["detail"]
    after = systems.crm.accounts[account["id"]]
    assert after.legal_name == account["legal_name"] and after.version == 1 and after.currency == "USD"


def test_crm_patch_validates_like_create(api, account):
    response = api("crm", "PATCH", f"/accounts/{account['id']}", json={"billing_country": "United Kingdom"})
    assert assert_problem(response, 422)["field"] == "billing_country"


@pytest.mark.parametrize(("field", "bad"), [
    ("legal_name", "L" * 256), ("legal_name", ""), ("billing_country", "GBR"), ("tax_id", "T" * 41),
    ("tax_jurisdiction", "J" * 21), ("tax_id", 42), ("billing_address", {"line1": "x", "city": "y", "postal_code": "z"}),
    ("billing_address", "1 Main St")])
def test_crm_patch_rejects_exactly_what_create_rejects(api, systems, account, field, bad):
    created = api("crm", "POST", "/accounts", json=crm_account(**{field: bad}))
    patched = api("crm", "PATCH", f"/accounts/{account['id']}", json={field: bad})
    assert assert_problem(patched, 422)["field"] == assert_problem(created, 422)["field"]
    assert assert_problem(patched, 422)["detail"] == assert_problem(created, 422)["detail"]
    assert systems.crm.accounts[account["id"]].version == 1


def test_crm_patch_accepts_what_create_accepts(api, account):
    patched = api("crm", "PATCH", f"/accounts/{account['id']}", json={"billing_country": "GB", "tax_id": "T" * 40})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["billing_country"], patched.json()["version"]) == ("GB", 2)


def test_crm_backend_update_rejects_non_updatable_fields(systems, account):
    with pytest.raises(ValidationFailed):
        systems.crm.update_account(account["id"], {"currency": "EUR"})
    assert systems.crm.accounts[account["id"]].version == 1


# -- never a 500 ----------------------------------------------------------------

def test_contract_version_that_is_not_a_number_is_404_not_500(api):
    contract = create(api, "clm", "/contracts", {
        "account_id": "acc_1", "legal_entity": "US01", "currency": "USD", "billing_type": "time_and_materials",
        "title": "SOW", "start_date": "2026-01-01", "end_date": "2026-12-31",
        "rate_card": [{"role": "dev", "rate": 10_000, "effective_from": "2026-01-01"}]})
    assert_problem(api("clm", "GET", f"/contracts/{contract['id']}/versions/abc"), 404)
    assert_problem(api("clm", "GET", f"/contracts/{contract['id']}/versions/\u00b2"), 404)
    for raw in ("\u0661", "-1", "1.0", "+1"):  # an Arabic-Indic one, a sign, a decimal point
        assert_problem(api("clm", "GET", f"/contracts/{contract['id']}/versions/{raw}"), 404)
    assert api("clm", "GET", f"/contracts/{contract['id']}/versions/1").status_code == 200


def test_erp_not_found_names_the_kind_correctly(api, systems):
    customer = create(api, "erp", "/customers", erp_customer())
    response = api("erp", "POST", "/billing-projects", json={
        "customer_id": customer["id"], "legal_entity": "XX99", "contract_ref": "c", "currency": "USD", "name": "n"})
    assert assert_problem(response, 404)["detail"] == "legal entity XX99 does not exist"


@pytest.mark.parametrize(("system", "path", "kind"), [
    ("erp", "/customers/x1", "customer"), ("erp", "/billing-projects/x1", "billing project"),
    ("erp", "/charges/x1", "charge"), ("erp", "/invoices/x1", "invoice"),
    ("psa", "/projects/x1", "project"), ("psa", "/resources/x1", "resource"), ("psa", "/timesheets/x1", "timesheet"),
    ("psa", "/expenses/x1", "expense"), ("psa", "/milestones/x1", "milestone")])
def test_not_found_names_every_kind_in_the_singular(api, system, path, kind):
    assert assert_problem(api(system, "GET", path), 404)["detail"] == f"{kind} x1 does not exist"


def test_problem_content_type_is_only_on_errors(api, account):
    assert api("crm", "GET", f"/accounts/{account['id']}").headers["content-type"] == "application/json"
    assert api("crm", "GET", "/nope").headers["content-type"] == PROBLEM_JSON


# -- a bug in a mock, or a body built to break the parser, still answers as a problem ------------------------------


def test_an_unexpected_exception_is_a_500_problem_naming_its_type(api, systems):
    def broken(request):
        return {}["missing"]
    systems.services["crm"].routes.add("GET", "/broken", broken)

    response = api("crm", "GET", "/broken")

    body = assert_problem(response, 500, "internal_error")
    assert "KeyError" in body["detail"] and "/broken" in body["detail"]
    assert body["exception"] == "KeyError"


def test_an_idempotent_post_that_fails_unexpectedly_stores_nothing(api, systems, monkeypatch):
    """The 500 is not replayed: once the bug is gone, a retry with the same key creates the customer."""
    real = systems.erp.create_customer

    def broken(**fields):
        raise ArithmeticError("boom")
    monkeypatch.setattr(systems.erp, "create_customer", broken)
    headers = {"idempotency-key": "cus-1"}

    assert_problem(api("erp", "POST", "/customers", json=erp_customer(), headers=headers), 500, "internal_error")
    monkeypatch.setattr(systems.erp, "create_customer", real)
    retried = api("erp", "POST", "/customers", json=erp_customer(), headers=headers)

    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers
    assert len(systems.erp.customers) == 1


@pytest.mark.parametrize("depth", [65, 5_000, 200_000], ids=["just-too-deep", "deep", "past-the-recursion-limit"])
@pytest.mark.parametrize("brackets", ["[]", "{}"], ids=["arrays", "objects"])
def test_deeply_nested_json_body_is_400_naming_the_body(api, systems, depth, brackets):
    if brackets == "[]":
        content = "[" * depth + "]" * depth
    else:
        content = '{"a":' * depth + "1" + "}" * depth
    for system, path in (("crm", "/accounts"), ("erp", "/charges")):
        response = api(system, "POST", path, content=content.encode(), headers={"content-type": "application/json"})
        body = assert_problem(response, 400, "bad_request")
        assert "request body" in body["detail"] and "nested too deeply" in body["detail"], body
    assert systems.erp.charges == {} and systems.crm.accounts == {}


def test_nesting_within_the_limit_is_read(api):
    lineage = {"source": "test"}
    for _ in range(60):
        lineage = {"inner": lineage}
    customer = create(api, "erp", "/customers", erp_customer())
    project = create(api, "erp", "/billing-projects", {"customer_id": customer["id"], "legal_entity": "US01",
                                                       "contract_ref": "ctr_1", "currency": "USD", "name": "p"})
    charge = create(api, "erp", "/charges", {
        "billing_project_id": project["id"], "charge_date": "2026-01-15", "description": "work", "quantity": "1",
        "unit_price": 100, "amount": 100, "currency": "USD", "lineage": lineage})
    assert charge["lineage"] == lineage
