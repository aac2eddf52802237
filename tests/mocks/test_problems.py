"""RFC 9457 errors, field-precise validation and optimistic concurrency (DESIGN §3)."""

from __future__ import annotations

import pytest

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


@pytest.mark.xfail(strict=True, reason="BUG: 405 responses have no Allow header, which RFC 9110 §15.5.6 requires "
                                       "(mocks/core/routing.py:125, problem_response has no headers)")
def test_405_carries_allow_header(api):
    response = api("crm", "DELETE", "/accounts/acc_000001")
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"GET", "PATCH"}


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


@pytest.mark.xfail(strict=True, reason="BUG: PATCH /customers applies fields as it validates them, so a 422 on a later "
                                       "field leaves earlier ones changed with no version bump or event "
                                       "(mocks/erp/responses.py update_customer:53-59)")
def test_rejected_erp_customer_patch_changes_nothing(api):
    customer = create(api, "erp", "/customers", erp_customer("Before"))
    response = api("erp", "PATCH", f"/customers/{customer['id']}", json={"name": "After", "tax_id": "T" * 41})
    assert assert_problem(response, 422)["field"] == "tax_id"
    assert api("erp", "GET", f"/customers/{customer['id']}").json()["name"] == "Before"


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


@pytest.mark.xfail(strict=True, reason="BUG: PATCH /accounts silently ignores fields it cannot update (currency) and "
                                       "answers 200 with a new version (mocks/crm/responses.py:51-53); DESIGN §3 "
                                       "forbids a silent accept")
def test_crm_patch_of_a_non_updatable_field_is_rejected(api, account):
    response = api("crm", "PATCH", f"/accounts/{account['id']}", json={"currency": "EUR"})
    assert response.status_code == 422, response.text


@pytest.mark.xfail(strict=True, reason="BUG: PATCH /accounts validates every string with max_len=255, so it accepts a "
                                       "billing_country that POST rejects (mocks/crm/responses.py:53)")
def test_crm_patch_validates_like_create(api, account):
    response = api("crm", "PATCH", f"/accounts/{account['id']}", json={"billing_country": "United Kingdom"})
    assert assert_problem(response, 422)["field"] == "billing_country"


# -- never a 500 ----------------------------------------------------------------

@pytest.mark.xfail(strict=True, reason="BUG: '²'.isdigit() is True but int('²') raises ValueError, an unhandled 500 "
                                       "(mocks/clm/responses.py:31); use isdecimal() or try/except")
def test_contract_version_that_is_not_a_number_is_404_not_500(api):
    contract = create(api, "clm", "/contracts", {
        "account_id": "acc_1", "legal_entity": "US01", "currency": "USD", "billing_type": "time_and_materials",
        "title": "SOW", "start_date": "2026-01-01", "end_date": "2026-12-31",
        "rate_card": [{"role": "dev", "rate": 10_000, "effective_from": "2026-01-01"}]})
    assert_problem(api("clm", "GET", f"/contracts/{contract['id']}/versions/abc"), 404)
    assert_problem(api("clm", "GET", f"/contracts/{contract['id']}/versions/\u00b2"), 404)


@pytest.mark.xfail(strict=True, reason="BUG: 'legal_entities'.rstrip('s') gives 'legal entitie' in the 404 detail "
                                       "(mocks/erp/models.py:162)")
def test_erp_not_found_names_the_kind_correctly(api, systems):
    customer = create(api, "erp", "/customers", erp_customer())
    response = api("erp", "POST", "/billing-projects", json={
        "customer_id": customer["id"], "legal_entity": "XX99", "contract_ref": "c", "currency": "USD", "name": "n"})
    assert assert_problem(response, 404)["detail"] == "legal entity XX99 does not exist"


def test_problem_content_type_is_only_on_errors(api, account):
    assert api("crm", "GET", f"/accounts/{account['id']}").headers["content-type"] == "application/json"
    assert api("crm", "GET", "/nope").headers["content-type"] == PROBLEM_JSON
